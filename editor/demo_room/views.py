"""The one page action: make a demo room and open it."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from editor.core.errors import FlintError
from editor.core.web import flint_page
from editor.demo_room.services import demo_room_create


@flint_page
@require_POST
def demo_room_new(request: HttpRequest) -> HttpResponse:
    try:
        room = demo_room_create(actor=request.user)
    except FlintError as exc:
        messages.error(request, f"The demo room could not be made: {exc.message}")
        return redirect("rooms:list")
    messages.success(request, f"{room.name} is ready: the panel at the top lists things to try.")
    return redirect("rooms:detail", room_id=room.pk)

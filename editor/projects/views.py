"""Browser downloads: the project export and one file's bytes (session-authenticated)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from editor.core.web import flint_page
from editor.projects.responses import export_response, raw_file_response
from editor.projects.selectors import file_get
from editor.rooms.selectors import room_get


@flint_page
@require_GET
def project_export_download(request: HttpRequest, room_id: int) -> HttpResponse:
    return export_response(request, room=room_get(room_id=room_id), actor=request.user)


@flint_page
@require_GET
def file_raw_download(request: HttpRequest, room_id: int, file_id: int) -> HttpResponse:
    room = room_get(room_id=room_id)
    return raw_file_response(request, file_get(room=room, actor=request.user, file_id=file_id))

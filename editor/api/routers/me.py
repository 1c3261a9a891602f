"""The caller's own account: who am I, and my profile (display name, cursor colour)."""

from __future__ import annotations

from django.http import HttpRequest
from django.middleware.csrf import get_token
from ninja import Router

from editor.accounts.services import profile_update
from editor.api.presenters import me_out
from editor.api.routers.common import errors
from editor.api.schemas import MeOut, MePatch

router = Router(tags=["me"])


@router.get("/me", response={200: MeOut, **errors()})
def me_get(request: HttpRequest):
    """Who you are. For a browser session it also sets the csrftoken cookie writes need."""
    if "Authorization" not in request.headers:
        get_token(request)  # scripts with a token need no cookie
    return me_out(request.auth)


@router.patch("/me", response={200: MeOut, **errors()})
def me_update(request: HttpRequest, payload: MePatch):
    profile = profile_update(
        user=request.auth,
        display_name=payload.display_name,
        cursor_color=payload.cursor_color,
    )
    return me_out(request.auth, profile=profile)

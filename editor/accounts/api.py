"""The caller's own account (who am I, my profile) and personal access tokens.

Mounted by editor/api/api.py at the API root.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import get_token
from ninja import Router, Status

from editor.accounts.presenters import me_out, token_out
from editor.accounts.schemas import MeOut, MePatch, TokenCreatedOut, TokenIn, TokenOut
from editor.accounts.services import profile_update
from editor.accounts.tokens import token_create, token_get, token_revoke, tokens_for_user
from editor.core.api import errors

me_router = Router(tags=["me"])


@me_router.get("/me", response={200: MeOut, **errors()})
def me_get(request: HttpRequest):
    """Who you are. For a browser session it also sets the csrftoken cookie writes need."""
    if "Authorization" not in request.headers:
        get_token(request)  # scripts with a token need no cookie
    return me_out(request.auth)


@me_router.patch("/me", response={200: MeOut, **errors()})
def me_update(request: HttpRequest, payload: MePatch):
    profile = profile_update(
        user=request.auth,
        display_name=payload.display_name,
        cursor_color=payload.cursor_color,
    )
    return me_out(request.auth, profile=profile)


# --- personal access tokens: list, create (the secret is shown once), revoke ----------

tokens_router = Router(tags=["tokens"])


@tokens_router.get("/tokens", response={200: list[TokenOut], **errors()})
def tokens_list(request: HttpRequest):
    """Your tokens, newest first; secrets are never listed (only a recognisable prefix)."""
    return [token_out(token) for token in tokens_for_user(user=request.auth)]


@tokens_router.post("/tokens", response={201: TokenCreatedOut, **errors()})
def tokens_create(request: HttpRequest, payload: TokenIn):
    days = payload.days if payload.days is not None else settings.FLINT_TOKEN_TTL_DAYS
    token, secret = token_create(user=request.auth, name=payload.name, ttl_days=days)
    return Status(201, token_out(token, secret=secret))


@tokens_router.delete("/tokens/{token_id}", response={204: None, **errors(404)})
def tokens_revoke(request: HttpRequest, token_id: int):
    """Revoke a token at once; it stays listed, with revoked_at, so you can see it went."""
    token = token_get(user=request.auth, token_id=token_id)  # 404 for anyone else's
    token_revoke(token=token, actor=request.auth)
    return Status(204, None)

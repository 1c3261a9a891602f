"""Personal access tokens of the caller: list, create (the secret is shown once), revoke."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Status

from editor.api.presenters import token_out
from editor.api.routers.common import errors
from editor.api.schemas import TokenCreatedOut, TokenIn, TokenOut
from editor.api.tokens import token_create, token_get, token_revoke, tokens_for_user

router = Router(tags=["tokens"])


@router.get("/tokens", response={200: list[TokenOut], **errors()})
def tokens_list(request: HttpRequest):
    """Your tokens, newest first; secrets are never listed (only a recognisable prefix)."""
    return [token_out(token) for token in tokens_for_user(user=request.auth)]


@router.post("/tokens", response={201: TokenCreatedOut, **errors()})
def tokens_create(request: HttpRequest, payload: TokenIn):
    days = payload.days if payload.days is not None else settings.FLINT_TOKEN_TTL_DAYS
    token, secret = token_create(user=request.auth, name=payload.name, ttl_days=days)
    return Status(201, token_out(token, secret=secret))


@router.delete("/tokens/{token_id}", response={204: None, **errors(404)})
def tokens_revoke(request: HttpRequest, token_id: int):
    """Revoke a token at once; it stays listed, with revoked_at, so you can see it went."""
    token = token_get(user=request.auth, token_id=token_id)  # 404 for anyone else's
    token_revoke(token=token, actor=request.auth)
    return Status(204, None)

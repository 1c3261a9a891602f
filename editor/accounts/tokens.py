"""Personal access tokens: create, revoke, authenticate."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from editor.accounts import sockets
from editor.accounts.models import AccessToken
from editor.core.errors import Forbidden, Invalid, NotAuthenticated, NotFound

TOKEN_PREFIX = "flint_"  # noqa: S105 (a public marker, not a secret)
# Writing last_used_at on every request would turn reads into writes; once a minute is
# enough to tell a user which tokens are alive.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(
    *, user: AbstractBaseUser, name: str, ttl_days: int | None = None
) -> tuple[AccessToken, str]:
    """Return the token row and the secret, which is shown once and never stored."""
    name = " ".join(name.split())
    if not name:
        raise Invalid("Give the token a name, such as the script that will use it.")
    if len(name) > 80:
        raise Invalid("A token name has at most 80 characters.")
    if any(ord(ch) < 32 for ch in name):
        raise Invalid("A token name cannot contain control characters.")
    if ttl_days is not None and not 1 <= ttl_days <= 3650:
        raise Invalid("A token lasts between 1 and 3650 days (or leave it without expiry).")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        user=user,
        name=name,
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        token_hash=_hash(raw),
        expires_at=timezone.now() + timedelta(days=ttl_days) if ttl_days else None,
    )
    return token, raw


def tokens_for_user(*, user: AbstractBaseUser) -> QuerySet[AccessToken]:
    """All of a user's tokens, newest first, revoked and expired ones included."""
    return AccessToken.objects.filter(user=user).order_by("-created_at")


def token_get(*, user: AbstractBaseUser, token_id: int) -> AccessToken:
    """One of the user's own tokens; someone else's is as unknown as a missing one."""
    token = AccessToken.objects.filter(pk=token_id, user=user).first()
    if token is None:
        raise NotFound("No such access token.")
    return token


def token_revoke(*, token: AccessToken, actor: AbstractBaseUser) -> AccessToken:
    if token.user_id != actor.pk:
        raise Forbidden("You can only revoke your own tokens.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        # Sockets opened with this token re-check their credential and close.
        sockets.access_changed([token.user_id])
    return token


def token_authenticate(raw: str) -> AbstractBaseUser:
    """The active user behind a token, or NotAuthenticated saying what is wrong with it."""
    return token_authenticate_row(raw).user


def token_authenticate_row(raw: str) -> AccessToken:
    """The valid token row (its user loaded); sockets keep its id to re-check it later."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        raise NotAuthenticated("That is not a Flint access token.")
    token = AccessToken.objects.select_related("user").filter(token_hash=_hash(raw)).first()
    if token is None:
        raise NotAuthenticated("Unknown access token.")
    _check(token)
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def token_still_valid(*, token_id: int, user_id: int) -> None:
    """Raise NotAuthenticated unless the token (of this user) still authenticates.

    An open socket calls this when its user's access changed: a revoked or expired token,
    or a disabled account, ends it.
    """
    token = AccessToken.objects.select_related("user").filter(pk=token_id, user_id=user_id).first()
    if token is None:
        raise NotAuthenticated("This access token no longer exists.")
    _check(token)


def _check(token: AccessToken) -> None:
    if token.revoked_at is not None:
        raise NotAuthenticated("This access token was revoked.")
    if token.expires_at is not None and token.expires_at <= timezone.now():
        raise NotAuthenticated("This access token has expired.")
    if not token.user.is_active:
        raise NotAuthenticated("This account is disabled.")

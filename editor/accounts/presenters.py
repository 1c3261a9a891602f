"""Account rows to the dicts the schemas describe; no queries beyond what rows carry."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist

from editor.accounts.models import AccessToken, Profile
from editor.accounts.services import default_cursor_color


def user_out(user: AbstractBaseUser, *, profile: Profile | None = None) -> dict[str, Any]:
    username = user.get_username()
    if profile is None:
        try:
            profile = user.profile
        except ObjectDoesNotExist:
            # Accounts made outside sign-up (createsuperuser) have no profile until
            # they edit it; reading must not write one.
            profile = None
    return {
        "id": user.pk,
        "username": username,
        "display_name": profile.name if profile else username,
        "cursor_color": profile.cursor_color if profile else default_cursor_color(username),
    }


def me_out(user: AbstractBaseUser, *, profile: Profile | None = None) -> dict[str, Any]:
    return {
        **user_out(user, profile=profile),
        "is_staff": user.is_staff,
        "date_joined": user.date_joined,
    }


def token_out(token: AccessToken, *, secret: str | None = None) -> dict[str, Any]:
    out = {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
        "active": token.is_active,
    }
    if secret is not None:
        out["token"] = secret
    return out

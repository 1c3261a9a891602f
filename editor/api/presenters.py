"""Model rows to the dicts the schemas describe; no queries beyond what rows carry."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist

from editor.accounts.models import Profile
from editor.accounts.services import default_cursor_color
from editor.api.models import AccessToken
from editor.rooms.models import Room, RoomMembership, Team, TeamInvite, TeamMembership


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


def team_out(team: Team, *, role: str | None) -> dict[str, Any]:
    return {"id": team.pk, "name": team.name, "created_at": team.created_at, "role": role}


def team_member_out(membership: TeamMembership) -> dict[str, Any]:
    return {
        "user": user_out(membership.user),
        "role": membership.role,
        "joined_at": membership.joined_at,
    }


def invite_out(
    invite: TeamInvite, *, secret: str | None = None, link: str | None = None
) -> dict[str, Any]:
    out = {
        "id": invite.pk,
        "created_at": invite.created_at,
        "expires_at": invite.expires_at,
        "revoked_at": invite.revoked_at,
        "max_uses": invite.max_uses,
        "uses": invite.uses,
        "created_by": invite.created_by.get_username() if invite.created_by else None,
    }
    if secret is not None:
        out["token"] = secret
        out["link"] = link
    return out


def room_out(room: Room, *, role: str | None) -> dict[str, Any]:
    return {
        "id": room.pk,
        "name": room.name,
        "team": {"id": room.team.pk, "name": room.team.name},
        "created_at": room.created_at,
        "role": role,
    }


def room_member_out(membership: RoomMembership) -> dict[str, Any]:
    return {
        "user": user_out(membership.user),
        "role": membership.role,
        "added_at": membership.added_at,
    }

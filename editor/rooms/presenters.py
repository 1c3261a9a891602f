"""Team and room rows to the dicts the schemas describe; no queries beyond what rows carry."""

from __future__ import annotations

from typing import Any

from editor.accounts.presenters import user_out
from editor.rooms.models import Room, RoomMembership, Team, TeamInvite, TeamMembership


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

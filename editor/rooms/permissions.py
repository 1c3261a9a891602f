"""The one place that answers "may user X do Y here?".

Every view, API endpoint, WebSocket consumer and Celery task asks `can()` or
`require()`; nothing else compares roles. The rules:

- A team has owners and members. Owners administer the team and all its rooms.
- A room belongs to one team. Team members take part in a room through a room
  membership: editors write (files, models, tasks), viewers only read.
- Someone outside the team has no access to its rooms, whatever rows remain.
"""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from editor.core.errors import Forbidden, NotAuthenticated
from editor.rooms.models import Room, RoomMembership, RoomRole, Team, TeamMembership, TeamRole


class Action(StrEnum):
    TEAM_VIEW = "team.view"  # see the team, its members and its rooms list
    TEAM_MANAGE = "team.manage"  # rename, delete, invite, remove, change roles
    TEAM_LEAVE = "team.leave"
    ROOM_CREATE = "room.create"  # on a team
    ROOM_VIEW = "room.view"  # open the room, read files, watch streams
    ROOM_EDIT = "room.edit"  # write files, ask models, start tasks
    ROOM_MANAGE = "room.manage"  # rename, delete, set members and roles


class EffectiveRoomRole(StrEnum):
    """What a person may do in a room; team owners administer every room of the team."""

    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"


_TEAM_ACTIONS = {Action.TEAM_VIEW, Action.TEAM_MANAGE, Action.TEAM_LEAVE, Action.ROOM_CREATE}
_ROOM_ACTIONS = {Action.ROOM_VIEW, Action.ROOM_EDIT, Action.ROOM_MANAGE}

_TEAM_RULES: dict[Action, set[str]] = {
    Action.TEAM_VIEW: {TeamRole.OWNER, TeamRole.MEMBER},
    Action.TEAM_LEAVE: {TeamRole.OWNER, TeamRole.MEMBER},
    Action.ROOM_CREATE: {TeamRole.OWNER, TeamRole.MEMBER},
    Action.TEAM_MANAGE: {TeamRole.OWNER},
}
_ROOM_RULES: dict[Action, set[EffectiveRoomRole]] = {
    Action.ROOM_VIEW: {EffectiveRoomRole.ADMIN, EffectiveRoomRole.EDITOR, EffectiveRoomRole.VIEWER},
    Action.ROOM_EDIT: {EffectiveRoomRole.ADMIN, EffectiveRoomRole.EDITOR},
    Action.ROOM_MANAGE: {EffectiveRoomRole.ADMIN},
}


def _is_active(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def team_role(user: AbstractBaseUser | AnonymousUser | None, team: Team | int) -> TeamRole | None:
    if not _is_active(user):
        return None
    team_id = team.pk if isinstance(team, Team) else team
    role = (
        TeamMembership.objects.filter(team_id=team_id, user_id=user.pk)
        .values_list("role", flat=True)
        .first()
    )
    return TeamRole(role) if role else None


def room_role(
    user: AbstractBaseUser | AnonymousUser | None, room: Room
) -> EffectiveRoomRole | None:
    role_in_team = team_role(user, room.team_id)
    if role_in_team is None:
        return None
    if role_in_team == TeamRole.OWNER:
        return EffectiveRoomRole.ADMIN
    role = (
        RoomMembership.objects.filter(room_id=room.pk, user_id=user.pk)
        .values_list("role", flat=True)
        .first()
    )
    if role == RoomRole.EDITOR:
        return EffectiveRoomRole.EDITOR
    if role == RoomRole.VIEWER:
        return EffectiveRoomRole.VIEWER
    return None


def can(user: AbstractBaseUser | AnonymousUser | None, action: Action, obj: Team | Room) -> bool:
    if action in _TEAM_ACTIONS:
        if not isinstance(obj, Team):
            raise TypeError(f"{action} applies to a team, not {type(obj).__name__}")
        role = team_role(user, obj)
        return role is not None and role in _TEAM_RULES[action]
    if action in _ROOM_ACTIONS:
        if not isinstance(obj, Room):
            raise TypeError(f"{action} applies to a room, not {type(obj).__name__}")
        effective = room_role(user, obj)
        return effective is not None and effective in _ROOM_RULES[action]
    raise ValueError(f"unknown action {action!r}")


_REFUSALS = {
    Action.TEAM_VIEW: "You are not a member of this team.",
    Action.TEAM_MANAGE: "Only a team owner can do that.",
    Action.TEAM_LEAVE: "You are not a member of this team.",
    Action.ROOM_CREATE: "Only members of this team can create rooms in it.",
    Action.ROOM_VIEW: "You are not a member of this room.",
    Action.ROOM_EDIT: "You can only view this room: ask a team owner to make you an editor.",
    Action.ROOM_MANAGE: "Only a team owner can manage this room.",
}


def require(
    user: AbstractBaseUser | AnonymousUser | None, action: Action, obj: Team | Room
) -> None:
    """Raise NotAuthenticated or Forbidden with a message the user can act on."""
    if not _is_active(user):
        raise NotAuthenticated("Log in first.")
    if not can(user, action, obj):
        raise Forbidden(_REFUSALS[action])


def usage_team_scope(user: AbstractBaseUser | AnonymousUser | None) -> tuple[int, ...] | None:
    """Whose model usage a person may see: None for staff (every team), else the ids of
    the teams they own (empty: none, so the dashboard refuses them)."""
    if not _is_active(user):
        return ()
    if user.is_staff:
        return None
    owned = TeamMembership.objects.filter(user_id=user.pk, role=TeamRole.OWNER)
    return tuple(owned.order_by("team__name").values_list("team_id", flat=True))

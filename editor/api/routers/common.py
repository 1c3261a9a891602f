"""What every endpoint may answer besides success, for the OpenAPI description."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from editor.api.schemas import ErrorOut
from editor.rooms.models import Room, Team
from editor.rooms.permissions import Action, require
from editor.rooms.selectors import room_get, team_get


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The error answers of an endpoint; 400 and 401 apply to all of them."""
    return {status: ErrorOut for status in (400, 401, *statuses)}


def team_for(user: AbstractBaseUser, team_id: int) -> Team:
    """The team, once the caller is known to belong to it.

    Every /teams/{id}/… endpoint starts here, so an outsider always gets the same 403
    ("You are not a member of this team.") whatever the sub-resource, and 404 only
    ever means the id does not exist. The role check for the action itself follows in
    the service (through permissions.require).
    """
    team = team_get(team_id=team_id)
    require(user, Action.TEAM_VIEW, team)
    return team


def room_for(user: AbstractBaseUser, room_id: int) -> Room:
    """The room, once the caller may see it (same rule as team_for)."""
    room = room_get(room_id=room_id)
    require(user, Action.ROOM_VIEW, room)
    return room

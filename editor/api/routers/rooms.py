"""Rooms and their members. Outsiders get 403 on every /rooms/{id}/… path (see room_for)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from editor.api.presenters import room_member_out, room_out
from editor.api.routers.common import errors, room_for, team_for
from editor.api.schemas import RoomIn, RoomMemberIn, RoomMemberOut, RoomOut
from editor.api.selectors import room_member_role
from editor.rooms.permissions import room_role
from editor.rooms.selectors import room_members, rooms_for_user, team_member_user
from editor.rooms.services import (
    room_create,
    room_delete,
    room_member_remove,
    room_member_set,
    room_rename,
)

router = Router(tags=["rooms"])


@router.get("/rooms", response={200: list[RoomOut], **errors()})
def rooms_list(request: HttpRequest):
    """The rooms you can open, across your teams, with what you may do in each."""
    # room_role asks permissions.py, the one place that knows team owners administer.
    return [
        room_out(room, role=room_role(request.auth, room))
        for room in rooms_for_user(user=request.auth)
    ]


@router.post("/teams/{team_id}/rooms", response={201: RoomOut, **errors(403, 404, 409)})
def rooms_create(request: HttpRequest, team_id: int, payload: RoomIn):
    """Open a room in a team you belong to; you join it as its first editor."""
    room = room_create(team=team_for(request.auth, team_id), actor=request.auth, name=payload.name)
    return Status(201, room_out(room, role=room_role(request.auth, room)))


@router.get("/rooms/{room_id}", response={200: RoomOut, **errors(403, 404)})
def rooms_get(request: HttpRequest, room_id: int):
    room = room_for(request.auth, room_id)
    return room_out(room, role=room_role(request.auth, room))


@router.patch("/rooms/{room_id}", response={200: RoomOut, **errors(403, 404, 409)})
def rooms_rename(request: HttpRequest, room_id: int, payload: RoomIn):
    """Rename a room (team owners); people in it see the new name at once."""
    room = room_rename(room=room_for(request.auth, room_id), actor=request.auth, name=payload.name)
    return room_out(room, role=room_role(request.auth, room))


@router.delete("/rooms/{room_id}", response={204: None, **errors(403, 404)})
def rooms_delete(request: HttpRequest, room_id: int):
    """Delete a room (team owners); its open sockets close."""
    room_delete(room=room_for(request.auth, room_id), actor=request.auth)
    return Status(204, None)


@router.get("/rooms/{room_id}/members", response={200: list[RoomMemberOut], **errors(403, 404)})
def room_members_list(request: HttpRequest, room_id: int):
    """People added to the room; team owners administer it without being listed."""
    room = room_for(request.auth, room_id)
    return [room_member_out(m) for m in room_members(room=room)]


@router.put(
    "/rooms/{room_id}/members/{user_id}",
    response={200: RoomMemberOut, 201: RoomMemberOut, **errors(403, 404)},
)
def room_members_set(request: HttpRequest, room_id: int, user_id: int, payload: RoomMemberIn):
    """Add a team member to the room (201) or change their role there (200); owners only."""
    room = room_for(request.auth, room_id)
    # Only people in the room's team can be in the room: anyone else is 404 here.
    user = team_member_user(team=room.team, user_id=user_id)
    existed = room_member_role(room_id=room.pk, user_id=user.pk) is not None
    membership = room_member_set(room=room, actor=request.auth, user=user, role=payload.role)
    return Status(200 if existed else 201, room_member_out(membership))


@router.delete("/rooms/{room_id}/members/{user_id}", response={204: None, **errors(403, 404)})
def room_members_remove(request: HttpRequest, room_id: int, user_id: int):
    """Take someone out of the room (owners); their open sockets close."""
    room = room_for(request.auth, room_id)
    user = team_member_user(team=room.team, user_id=user_id)
    room_member_remove(room=room, actor=request.auth, user=user)
    return Status(204, None)

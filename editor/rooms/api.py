"""Teams, invite links and rooms, with their members. Mounted by editor/api/api.py.

Outsiders get 403 on every /teams/{id}/… and /rooms/{id}/… path (rooms.selectors
team_for / room_for), whatever the sub-resource; 404 only means the id does not exist.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from ninja import Router, Status

from editor.core.api import errors
from editor.rooms.models import TeamRole
from editor.rooms.permissions import Action, require, room_role, team_role
from editor.rooms.presenters import invite_out, room_member_out, room_out, team_member_out, team_out
from editor.rooms.schemas import (
    InviteCreatedOut,
    InviteIn,
    InviteOut,
    RoomIn,
    RoomMemberIn,
    RoomMemberOut,
    RoomOut,
    TeamIn,
    TeamMemberIn,
    TeamMemberOut,
    TeamOut,
    TeamRoleIn,
)
from editor.rooms.selectors import (
    room_for,
    room_member_role,
    room_members,
    rooms_for_user,
    team_for,
    team_invite_get,
    team_invites_active,
    team_member_user,
    team_members,
    teams_with_role_for_user,
)
from editor.rooms.services import (
    room_create,
    room_delete,
    room_member_remove,
    room_member_set,
    room_rename,
    team_create,
    team_delete,
    team_invite_accept,
    team_invite_create,
    team_invite_revoke,
    team_member_add,
    team_member_remove,
    team_member_set_role,
    team_rename,
)

# --- teams and their members ---------------------------------------------------------

teams_router = Router(tags=["teams"])


@teams_router.get("/teams", response={200: list[TeamOut], **errors()})
def teams_list(request: HttpRequest):
    """The teams you belong to, with your role in each."""
    return [
        team_out(team, role=team.my_role) for team in teams_with_role_for_user(user=request.auth)
    ]


@teams_router.post("/teams", response={201: TeamOut, **errors(409)})
def teams_create(request: HttpRequest, payload: TeamIn):
    """Create a team; you become its owner. Team names are unique (ignoring case)."""
    team = team_create(name=payload.name, owner=request.auth)
    return Status(201, team_out(team, role=TeamRole.OWNER))


@teams_router.get("/teams/{team_id}", response={200: TeamOut, **errors(403, 404)})
def teams_get(request: HttpRequest, team_id: int):
    team = team_for(request.auth, team_id)
    return team_out(team, role=team_role(request.auth, team))


@teams_router.patch("/teams/{team_id}", response={200: TeamOut, **errors(403, 404, 409)})
def teams_rename(request: HttpRequest, team_id: int, payload: TeamIn):
    """Rename a team (owners)."""
    team = team_rename(team=team_for(request.auth, team_id), actor=request.auth, name=payload.name)
    return team_out(team, role=team_role(request.auth, team))


@teams_router.delete("/teams/{team_id}", response={204: None, **errors(403, 404)})
def teams_delete(request: HttpRequest, team_id: int):
    """Delete a team with all its rooms (owners); open sockets of its members close."""
    team_delete(team=team_for(request.auth, team_id), actor=request.auth)
    return Status(204, None)


@teams_router.get(
    "/teams/{team_id}/members", response={200: list[TeamMemberOut], **errors(403, 404)}
)
def team_members_list(request: HttpRequest, team_id: int):
    team = team_for(request.auth, team_id)
    return [team_member_out(m) for m in team_members(team=team)]


@teams_router.post(
    "/teams/{team_id}/members", response={201: TeamMemberOut, **errors(403, 404, 409)}
)
def team_members_add(request: HttpRequest, team_id: int, payload: TeamMemberIn):
    """Add someone by username (owners); they are a member at once."""
    membership = team_member_add(
        team=team_for(request.auth, team_id),
        actor=request.auth,
        username=payload.username,
        role=payload.role,
    )
    return Status(201, team_member_out(membership))


@teams_router.patch(
    "/teams/{team_id}/members/{user_id}",
    response={200: TeamMemberOut, **errors(403, 404, 409)},
)
def team_members_set_role(request: HttpRequest, team_id: int, user_id: int, payload: TeamRoleIn):
    """Make someone owner or member (owners). A team always keeps one owner (409)."""
    team = team_for(request.auth, team_id)
    membership = team_member_set_role(
        team=team,
        actor=request.auth,
        user=team_member_user(team=team, user_id=user_id),
        role=payload.role,
    )
    return team_member_out(membership)


@teams_router.delete(
    "/teams/{team_id}/members/{user_id}", response={204: None, **errors(403, 404, 409)}
)
def team_members_remove(request: HttpRequest, team_id: int, user_id: int):
    """Remove someone (owners), or leave the team when user_id is your own id.

    Their room memberships in the team go too. The last owner cannot leave (409).
    """
    team = team_for(request.auth, team_id)
    user = team_member_user(team=team, user_id=user_id)
    team_member_remove(team=team, actor=request.auth, user=user)
    return Status(204, None)


# --- invite links: owners make and revoke them, anyone logged in accepts one ---------

invites_router = Router(tags=["invites"])


def _invite_link(request: HttpRequest, secret: str) -> str:
    """The web page a person opens to join (the rooms app's invite view)."""
    return request.build_absolute_uri(reverse("rooms:invite", kwargs={"token": secret}))


@invites_router.post(
    "/teams/{team_id}/invites", response={201: InviteCreatedOut, **errors(403, 404)}
)
def invites_create(request: HttpRequest, team_id: int, payload: InviteIn):
    """Make an invite link (owners). The link and its secret are shown in this answer only."""
    invite, secret = team_invite_create(
        team=team_for(request.auth, team_id),
        actor=request.auth,
        ttl_hours=payload.ttl_hours,
        max_uses=payload.max_uses,
    )
    return Status(201, invite_out(invite, secret=secret, link=_invite_link(request, secret)))


@invites_router.get("/teams/{team_id}/invites", response={200: list[InviteOut], **errors(403, 404)})
def invites_list(request: HttpRequest, team_id: int):
    """The team's invite links that still work (owners); never their secrets."""
    team = team_for(request.auth, team_id)
    require(request.auth, Action.TEAM_MANAGE, team)
    return [invite_out(invite) for invite in team_invites_active(team=team)]


@invites_router.delete(
    "/teams/{team_id}/invites/{invite_id}", response={204: None, **errors(403, 404)}
)
def invites_revoke(request: HttpRequest, team_id: int, invite_id: int):
    """Revoke an invite (owners); using its link then answers 410."""
    team = team_for(request.auth, team_id)
    require(request.auth, Action.TEAM_MANAGE, team)
    team_invite_revoke(invite=team_invite_get(team=team, invite_id=invite_id), actor=request.auth)
    return Status(204, None)


@invites_router.post(
    "/invites/{token}/accept",
    response={201: TeamOut, **errors(404, 409, 410)},
)
def invites_accept(request: HttpRequest, token: str):
    """Join the team behind an invite link: 404 unknown, 410 expired/revoked/used up."""
    team = team_invite_accept(raw_token=token, user=request.auth)
    return Status(201, team_out(team, role=TeamRole.MEMBER))


# --- rooms and their members ---------------------------------------------------------

rooms_router = Router(tags=["rooms"])


@rooms_router.get("/rooms", response={200: list[RoomOut], **errors()})
def rooms_list(request: HttpRequest):
    """The rooms you can open, across your teams, with what you may do in each."""
    # room_role asks permissions.py, the one place that knows team owners administer.
    return [
        room_out(room, role=room_role(request.auth, room))
        for room in rooms_for_user(user=request.auth)
    ]


@rooms_router.post("/teams/{team_id}/rooms", response={201: RoomOut, **errors(403, 404, 409)})
def rooms_create(request: HttpRequest, team_id: int, payload: RoomIn):
    """Open a room in a team you belong to; you join it as its first editor."""
    room = room_create(team=team_for(request.auth, team_id), actor=request.auth, name=payload.name)
    return Status(201, room_out(room, role=room_role(request.auth, room)))


@rooms_router.get("/rooms/{room_id}", response={200: RoomOut, **errors(403, 404)})
def rooms_get(request: HttpRequest, room_id: int):
    room = room_for(request.auth, room_id)
    return room_out(room, role=room_role(request.auth, room))


@rooms_router.patch("/rooms/{room_id}", response={200: RoomOut, **errors(403, 404, 409)})
def rooms_rename(request: HttpRequest, room_id: int, payload: RoomIn):
    """Rename a room (team owners); people in it see the new name at once."""
    room = room_rename(room=room_for(request.auth, room_id), actor=request.auth, name=payload.name)
    return room_out(room, role=room_role(request.auth, room))


@rooms_router.delete("/rooms/{room_id}", response={204: None, **errors(403, 404)})
def rooms_delete(request: HttpRequest, room_id: int):
    """Delete a room (team owners); its open sockets close."""
    room_delete(room=room_for(request.auth, room_id), actor=request.auth)
    return Status(204, None)


@rooms_router.get(
    "/rooms/{room_id}/members", response={200: list[RoomMemberOut], **errors(403, 404)}
)
def room_members_list(request: HttpRequest, room_id: int):
    """People added to the room; team owners administer it without being listed."""
    room = room_for(request.auth, room_id)
    return [room_member_out(m) for m in room_members(room=room)]


@rooms_router.put(
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


@rooms_router.delete("/rooms/{room_id}/members/{user_id}", response={204: None, **errors(403, 404)})
def room_members_remove(request: HttpRequest, room_id: int, user_id: int):
    """Take someone out of the room (owners); their open sockets close."""
    room = room_for(request.auth, room_id)
    user = team_member_user(team=room.team, user_id=user_id)
    room_member_remove(room=room, actor=request.auth, user=user)
    return Status(204, None)

"""Teams and their members. Outsiders get 403 on every /teams/{id}/… path (see team_for)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from editor.api.presenters import team_member_out, team_out
from editor.api.routers.common import errors, team_for
from editor.api.schemas import TeamIn, TeamMemberIn, TeamMemberOut, TeamOut, TeamRoleIn
from editor.api.selectors import teams_with_role_for_user
from editor.rooms.models import TeamRole
from editor.rooms.permissions import team_role
from editor.rooms.selectors import team_member_user, team_members
from editor.rooms.services import (
    team_create,
    team_delete,
    team_member_add,
    team_member_remove,
    team_member_set_role,
    team_rename,
)

router = Router(tags=["teams"])


@router.get("/teams", response={200: list[TeamOut], **errors()})
def teams_list(request: HttpRequest):
    """The teams you belong to, with your role in each."""
    return [
        team_out(team, role=team.my_role) for team in teams_with_role_for_user(user=request.auth)
    ]


@router.post("/teams", response={201: TeamOut, **errors(409)})
def teams_create(request: HttpRequest, payload: TeamIn):
    """Create a team; you become its owner. Team names are unique (ignoring case)."""
    team = team_create(name=payload.name, owner=request.auth)
    return Status(201, team_out(team, role=TeamRole.OWNER))


@router.get("/teams/{team_id}", response={200: TeamOut, **errors(403, 404)})
def teams_get(request: HttpRequest, team_id: int):
    team = team_for(request.auth, team_id)
    return team_out(team, role=team_role(request.auth, team))


@router.patch("/teams/{team_id}", response={200: TeamOut, **errors(403, 404, 409)})
def teams_rename(request: HttpRequest, team_id: int, payload: TeamIn):
    """Rename a team (owners)."""
    team = team_rename(team=team_for(request.auth, team_id), actor=request.auth, name=payload.name)
    return team_out(team, role=team_role(request.auth, team))


@router.delete("/teams/{team_id}", response={204: None, **errors(403, 404)})
def teams_delete(request: HttpRequest, team_id: int):
    """Delete a team with all its rooms (owners); open sockets of its members close."""
    team_delete(team=team_for(request.auth, team_id), actor=request.auth)
    return Status(204, None)


@router.get("/teams/{team_id}/members", response={200: list[TeamMemberOut], **errors(403, 404)})
def team_members_list(request: HttpRequest, team_id: int):
    team = team_for(request.auth, team_id)
    return [team_member_out(m) for m in team_members(team=team)]


@router.post("/teams/{team_id}/members", response={201: TeamMemberOut, **errors(403, 404, 409)})
def team_members_add(request: HttpRequest, team_id: int, payload: TeamMemberIn):
    """Add someone by username (owners); they are a member at once."""
    membership = team_member_add(
        team=team_for(request.auth, team_id),
        actor=request.auth,
        username=payload.username,
        role=payload.role,
    )
    return Status(201, team_member_out(membership))


@router.patch(
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


@router.delete("/teams/{team_id}/members/{user_id}", response={204: None, **errors(403, 404, 409)})
def team_members_remove(request: HttpRequest, team_id: int, user_id: int):
    """Remove someone (owners), or leave the team when user_id is your own id.

    Their room memberships in the team go too. The last owner cannot leave (409).
    """
    team = team_for(request.auth, team_id)
    user = team_member_user(team=team, user_id=user_id)
    team_member_remove(team=team, actor=request.auth, user=user)
    return Status(204, None)

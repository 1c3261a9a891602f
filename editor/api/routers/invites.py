"""Invite links: owners make and revoke them, anyone logged in accepts one."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from ninja import Router, Status

from editor.api.presenters import invite_out, team_out
from editor.api.routers.common import errors, team_for
from editor.api.schemas import InviteCreatedOut, InviteIn, InviteOut, TeamOut
from editor.rooms.models import TeamRole
from editor.rooms.permissions import Action, require
from editor.rooms.selectors import team_invite_get, team_invites_active
from editor.rooms.services import team_invite_accept, team_invite_create, team_invite_revoke

router = Router(tags=["invites"])


def _invite_link(request: HttpRequest, secret: str) -> str:
    """The web page a person opens to join (the rooms app's invite view)."""
    return request.build_absolute_uri(reverse("rooms:invite", kwargs={"token": secret}))


@router.post("/teams/{team_id}/invites", response={201: InviteCreatedOut, **errors(403, 404)})
def invites_create(request: HttpRequest, team_id: int, payload: InviteIn):
    """Make an invite link (owners). The link and its secret are shown in this answer only."""
    invite, secret = team_invite_create(
        team=team_for(request.auth, team_id),
        actor=request.auth,
        ttl_hours=payload.ttl_hours,
        max_uses=payload.max_uses,
    )
    return Status(201, invite_out(invite, secret=secret, link=_invite_link(request, secret)))


@router.get("/teams/{team_id}/invites", response={200: list[InviteOut], **errors(403, 404)})
def invites_list(request: HttpRequest, team_id: int):
    """The team's invite links that still work (owners); never their secrets."""
    team = team_for(request.auth, team_id)
    require(request.auth, Action.TEAM_MANAGE, team)
    return [invite_out(invite) for invite in team_invites_active(team=team)]


@router.delete("/teams/{team_id}/invites/{invite_id}", response={204: None, **errors(403, 404)})
def invites_revoke(request: HttpRequest, team_id: int, invite_id: int):
    """Revoke an invite (owners); using its link then answers 410."""
    team = team_for(request.auth, team_id)
    require(request.auth, Action.TEAM_MANAGE, team)
    team_invite_revoke(invite=team_invite_get(team=team, invite_id=invite_id), actor=request.auth)
    return Status(204, None)


@router.post(
    "/invites/{token}/accept",
    response={201: TeamOut, **errors(404, 409, 410)},
)
def invites_accept(request: HttpRequest, token: str):
    """Join the team behind an invite link: 404 unknown, 410 expired/revoked/used up."""
    team = team_invite_accept(raw_token=token, user=request.auth)
    return Status(201, team_out(team, role=TeamRole.MEMBER))

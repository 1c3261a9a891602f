"""Invite links: owners make and revoke them, anyone logged in accepts one."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from ninja import Router, Status

from editor.api.presenters import invite_out, team_out
from editor.api.routers.common import errors, team_for
from editor.api.schemas import InviteCreatedOut, InviteIn, InviteOut, TeamOut
from editor.api.selectors import team_invite_get, team_invites
from editor.rooms.models import TeamRole
from editor.rooms.permissions import Action, require
from editor.rooms.services import team_invite_accept, team_invite_create, team_invite_revoke

router = Router(tags=["invites"])

# The web page a person opens to join (built by the rooms app's views).
INVITE_PAGE = "rooms:invite_accept"


def _invite_link(request: HttpRequest, secret: str) -> str:
    try:
        path = reverse(INVITE_PAGE, kwargs={"token": secret})
    except NoReverseMatch:
        # Without the web page (API-only deployments, or before it exists) the link
        # points at the API's own accept endpoint, which a logged-in client can POST.
        path = reverse("api-1:invites_accept", kwargs={"token": secret})
    return request.build_absolute_uri(path)


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
    """The team's invites and their state (owners); never their secrets."""
    team = team_for(request.auth, team_id)
    require(request.auth, Action.TEAM_MANAGE, team)
    return [invite_out(invite) for invite in team_invites(team=team)]


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
    url_name="invites_accept",
)
def invites_accept(request: HttpRequest, token: str):
    """Join the team behind an invite link: 404 unknown, 410 expired/revoked/used up."""
    team = team_invite_accept(raw_token=token, user=request.auth)
    return Status(201, team_out(team, role=TeamRole.MEMBER))

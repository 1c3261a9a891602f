"""Reads the API needs that no app's selectors offer yet (tokens, invites, users by id)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from editor.api.models import AccessToken
from editor.core.errors import NotFound
from editor.rooms.models import RoomMembership, Team, TeamInvite, TeamMembership


def user_get(*, user_id: int) -> AbstractBaseUser:
    user = get_user_model().objects.select_related("profile").filter(pk=user_id).first()
    if user is None:
        raise NotFound("No such user.")
    return user


def tokens_for_user(*, user: AbstractBaseUser) -> QuerySet[AccessToken]:
    return AccessToken.objects.filter(user=user).order_by("-created_at", "-id")


def token_get(*, token_id: int) -> AccessToken:
    token = AccessToken.objects.filter(pk=token_id).first()
    if token is None:
        raise NotFound("No such token.")
    return token


def teams_with_role_for_user(*, user: AbstractBaseUser) -> QuerySet[Team]:
    """The user's teams, each annotated with `my_role` so a list costs one query."""
    role = TeamMembership.objects.filter(team=OuterRef("pk"), user=user).values("role")[:1]
    return (
        Team.objects.filter(memberships__user=user)
        .annotate(my_role=Subquery(role))
        .order_by("name")
    )


def team_invites(*, team: Team) -> QuerySet[TeamInvite]:
    return team.invites.select_related("created_by").order_by("-created_at", "-id")


def team_invite_get(*, team: Team, invite_id: int) -> TeamInvite:
    invite = TeamInvite.objects.select_related("team").filter(pk=invite_id, team=team).first()
    if invite is None:
        raise NotFound("No such invite in this team.")
    return invite


def team_invite_state(invite: TeamInvite) -> str:
    """The same order of checks as rooms.services.team_invite_lookup."""
    if invite.revoked_at is not None:
        return "revoked"
    if invite.expires_at <= timezone.now():
        return "expired"
    if invite.max_uses and invite.uses >= invite.max_uses:
        return "used_up"
    return "active"


def room_member_role(*, room_id: int, user_id: int) -> str | None:
    return (
        RoomMembership.objects.filter(room_id=room_id, user_id=user_id)
        .values_list("role", flat=True)
        .first()
    )

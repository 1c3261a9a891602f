"""Reads of teams and rooms, already filtered to what the user may see."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from editor.core.errors import NotFound
from editor.rooms.models import Room, RoomMembership, Team, TeamInvite, TeamMembership, TeamRole
from editor.rooms.permissions import Action, require


def teams_for_user(*, user: AbstractBaseUser) -> QuerySet[Team]:
    return Team.objects.filter(memberships__user=user).distinct()


def rooms_for_user(*, user: AbstractBaseUser) -> QuerySet[Room]:
    """Rooms of teams the user owns, plus rooms they were added to in teams they belong to."""
    owned = TeamMembership.objects.filter(user=user, role=TeamRole.OWNER).values("team_id")
    member_of = TeamMembership.objects.filter(user=user).values("team_id")
    added = RoomMembership.objects.filter(user=user).values("room_id")
    return (
        Room.objects.filter(Q(team_id__in=owned) | (Q(id__in=added) & Q(team_id__in=member_of)))
        .select_related("team")
        .order_by("team__name", "name")
    )


def team_get(*, team_id: int) -> Team:
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise NotFound("No such team.")
    return team


def room_get(*, room_id: int) -> Room:
    room = Room.objects.select_related("team").filter(pk=room_id).first()
    if room is None:
        raise NotFound("No such room.")
    return room


def team_members(*, team: Team) -> QuerySet[TeamMembership]:
    return team.memberships.select_related("user", "user__profile").order_by(
        "role", "user__username"
    )


def room_members(*, room: Room) -> QuerySet[RoomMembership]:
    """The room's members; `is_team_owner` marks those who administer it whatever their
    row says (the room page calls them admin, and so must the settings page)."""
    owners = TeamMembership.objects.filter(
        team_id=room.team_id, user_id=OuterRef("user_id"), role=TeamRole.OWNER
    )
    return (
        room.memberships.select_related("user", "user__profile")
        .annotate(is_team_owner=Exists(owners))
        .order_by("role", "user__username")
    )


def team_invites_active(*, team: Team) -> QuerySet[TeamInvite]:
    """Invite links that still work: not revoked, not expired, not used up."""
    return (
        team.invites.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
        .filter(Q(max_uses=0) | Q(uses__lt=F("max_uses")))
        .select_related("created_by")
        .order_by("-created_at")
    )


def team_invite_get(*, team: Team, invite_id: int) -> TeamInvite:
    invite = team.invites.select_related("team").filter(pk=invite_id).first()
    if invite is None:
        raise NotFound("No such invite link in this team.")
    return invite


def team_member_user(*, team: Team, user_id: int) -> AbstractBaseUser:
    """A member of the team by id; the user is looked up only among the team's members."""
    membership = team.memberships.select_related("user").filter(user_id=user_id).first()
    if membership is None:
        raise NotFound("That person is not a member of this team.")
    return membership.user


def team_memberships_for_user(*, user: AbstractBaseUser) -> QuerySet[TeamMembership]:
    """The user's teams with their role and how many members and rooms each has."""
    return (
        TeamMembership.objects.filter(user=user)
        .select_related("team")
        .annotate(
            member_count=Count("team__memberships", distinct=True),
            room_count=Count("team__rooms", distinct=True),
        )
        .order_by("team__name")
    )


def room_member_candidates(*, room: Room) -> QuerySet[AbstractBaseUser]:
    """Team members who are not yet in the room: the people a room admin can add."""
    return (
        get_user_model()
        .objects.filter(team_memberships__team_id=room.team_id, is_active=True)
        .exclude(room_memberships__room=room)
        .order_by("username")
    )


def teams_with_role_for_user(*, user: AbstractBaseUser) -> QuerySet[Team]:
    """The user's teams, each annotated with `my_role`, so a list costs one query."""
    role = TeamMembership.objects.filter(team=OuterRef("pk"), user=user).values("role")[:1]
    return (
        Team.objects.filter(memberships__user=user)
        .annotate(my_role=Subquery(role))
        .order_by("name")
    )


def room_member_role(*, room_id: int, user_id: int) -> str | None:
    """The user's own row in the room (not their effective role), or None."""
    return (
        RoomMembership.objects.filter(room_id=room_id, user_id=user_id)
        .values_list("role", flat=True)
        .first()
    )


# --- what an endpoint reads before it does anything ---------------------------------


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

"""Reads of teams and rooms, already filtered to what the user may see."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from editor.core.errors import NotFound
from editor.rooms.models import Room, RoomMembership, Team, TeamMembership, TeamRole


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
    return team.memberships.select_related("user", "user__profile").order_by("role", "user__username")


def room_members(*, room: Room) -> QuerySet[RoomMembership]:
    return room.memberships.select_related("user", "user__profile").order_by("role", "user__username")

"""Reads only the API needs (the shared ones live in the apps' selectors)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, QuerySet, Subquery

from editor.rooms.models import RoomMembership, Team, TeamMembership


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

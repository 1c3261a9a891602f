"""Writes: make a demo room (a team of one if need be, the room, the sample project)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from editor.demo_room.models import DemoRoom
from editor.demo_room.project import sample_files
from editor.projects.services import file_create
from editor.rooms.models import Room, Team, TeamRole
from editor.rooms.services import room_create, team_create

ROOM_NAME = "Demo: corner shop"


def _team_for(actor: AbstractBaseUser) -> Team:
    """A team the user owns, else a new one of their own (team names are unique)."""
    owned = Team.objects.filter(memberships__user=actor, memberships__role=TeamRole.OWNER)
    team = owned.order_by("pk").first()
    if team is not None:
        return team
    base = f"{actor.get_username()}'s demo team"
    name, n = base, 1
    while Team.objects.filter(name__iexact=name).exists():
        n += 1
        name = f"{base} {n}"
    return team_create(name=name, owner=actor)


@transaction.atomic
def demo_room_create(*, actor: AbstractBaseUser) -> Room:
    """A new room holding the sample project, in a team the user owns."""
    team = _team_for(actor)
    taken = set(Room.objects.filter(team=team).values_list("name", flat=True))
    name, n = ROOM_NAME, 1
    while name in taken:
        n += 1
        name = f"{ROOM_NAME} {n}"
    room = room_create(team=team, actor=actor, name=name)
    for path, text in sample_files().items():
        file_create(room=room, actor=actor, path=path, text=text)
    DemoRoom.objects.create(room=room)
    return room

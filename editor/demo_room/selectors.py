"""Reads: whether a room is a demo room, the user's newest demo room."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from editor.demo_room.models import DemoRoom
from editor.rooms.models import Room
from editor.rooms.selectors import rooms_for_user

def room_is_demo(*, room: Room) -> bool:
    return DemoRoom.objects.filter(room=room).exists()


def demo_room_for_user(*, user: AbstractBaseUser) -> Room | None:
    """The newest demo room this user can open, if any."""
    return (
        rooms_for_user(user=user).filter(demo__isnull=False).order_by("-demo__created_at").first()
    )

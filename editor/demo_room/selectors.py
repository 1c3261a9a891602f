"""Reads: whether a room is a demo room (its page shows the "things to try" panel)."""

from __future__ import annotations

from editor.demo_room.models import DemoRoom
from editor.rooms.models import Room


def room_is_demo(*, room: Room) -> bool:
    return DemoRoom.objects.filter(room=room).exists()

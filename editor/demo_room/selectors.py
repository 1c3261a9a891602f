"""Reads: the sample project's files, whether a room is a demo room, whether to offer one."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser

from editor.demo_room.models import DemoRoom
from editor.rooms.models import Room
from editor.rooms.selectors import rooms_for_user

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"


def sample_files() -> dict[str, str]:
    """The sample project, path -> text, in path order."""
    return {
        path.relative_to(SAMPLE_DIR).as_posix(): path.read_text()
        for path in sorted(SAMPLE_DIR.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def room_is_demo(*, room: Room) -> bool:
    return DemoRoom.objects.filter(room=room).exists()


def demo_room_for_user(*, user: AbstractBaseUser) -> Room | None:
    """The newest demo room this user can open, if any."""
    return (
        rooms_for_user(user=user).filter(demo__isnull=False).order_by("-demo__created_at").first()
    )

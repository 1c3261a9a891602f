"""People and rooms active now, from the rooms' presence (editor/rooms/presence.py)."""

from __future__ import annotations

from typing import Any

from editor.rooms.models import Room
from editor.rooms.presence import people_present_by_room


def activity_now(*, scope: tuple[int, ...] | None, team_id: int | None = None) -> dict[str, Any]:
    """{"people": distinct people present, "rooms": rooms with someone present}."""
    allowed: set[int] | None = None
    teams = [team_id] if team_id is not None else scope
    if teams is not None:
        allowed = set(Room.objects.filter(team_id__in=teams).values_list("pk", flat=True))
    present = people_present_by_room(room_ids=allowed)
    people = set().union(*present.values())
    return {"people": len(people), "rooms": len(present)}

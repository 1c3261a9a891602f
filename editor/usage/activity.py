"""People and rooms active now, read from the rooms' presence hashes in Redis.

editor/rooms/presence.py keeps one hash per room (`<prefix>:presence:room:<id>`, one
field per connection, JSON with `who` and `seen`); an entry not refreshed for
STALE_AFTER_S belongs to a dead process and is not counted. Only read here, never written.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis
from django.conf import settings

from editor.rooms.models import Room
from editor.rooms.presence import STALE_AFTER_S


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)


def activity_now(*, scope: tuple[int, ...] | None, team_id: int | None = None) -> dict[str, Any]:
    """{"people": distinct people present, "rooms": rooms with someone present}."""
    allowed: set[int] | None = None
    teams = [team_id] if team_id is not None else scope
    if teams is not None:
        allowed = set(Room.objects.filter(team_id__in=teams).values_list("pk", flat=True))
    prefix = f"{settings.FLINT_CHANNEL_PREFIX}:presence:room:"
    client = redis_client()
    people: set[Any] = set()
    rooms = 0
    now = time.time()
    try:
        for key in client.scan_iter(match=prefix + "*", count=500):
            room_id = key.decode().removeprefix(prefix)
            if not room_id.isdigit() or (allowed is not None and int(room_id) not in allowed):
                continue
            here = set()
            for value in client.hvals(key):
                try:
                    entry = json.loads(value)
                    if now - float(entry["seen"]) <= STALE_AFTER_S:
                        here.add(entry["who"]["id"])
                except (ValueError, KeyError, TypeError):
                    continue  # a malformed entry is not a person
            if here:
                rooms += 1
                people |= here
    finally:
        client.close()
    return {"people": len(people), "rooms": rooms}

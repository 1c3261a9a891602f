"""What reaches every socket of a room: ready-made JSON frames on one Redis channel per room.

Presence moves, AI stream frames shared with the room and room events (files changed,
task progress, uploads) go to `<FLINT_CHANNEL_PREFIX>:room:<room id>`, which each process
with a socket of that room subscribes to through its room hub (editor/rooms/hub.py; one
subscription per process, batched per tick: editor/core/relay.py). An item is the
frame's JSON text, built once by the sender, and the connection it must skip (a
socket's own `presence.join`): {"text": "...", "skip": "<conn>" | None}.

Services and Celery tasks publish here with the synchronous client, after their
transaction commits (editor/rooms/events.py).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from editor.core import relay as core_relay
from editor.core.redis_clients import sync_client


def room_channel(room_id: int | str) -> str:
    return f"{settings.FLINT_CHANNEL_PREFIX}:room:{room_id}"


def room_item(frame: dict[str, Any], *, skip: str | None = None) -> dict[str, Any]:
    """A frame as the relay carries it: its JSON text (what the room consumer's
    send_json would send), built once for every socket of every process."""
    return {"text": json.dumps(frame), "skip": skip}


def room_publish_sync(room_id: int, frames: list[dict[str, Any]], *, origin: str = "service"):
    """Publish frames to every socket of a room, from synchronous code (views, workers)."""
    items = [room_item(frame) for frame in frames]
    sync_client().publish(room_channel(room_id), core_relay.encode(origin, items))

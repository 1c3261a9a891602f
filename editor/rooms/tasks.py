"""Celery tasks of the rooms app."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from editor.rooms.events import room_event_frame
from editor.rooms.relay import room_publish_sync


@shared_task(name="rooms.room_event", soft_time_limit=10, time_limit=20)
def room_event_task(room_id: int, event: str, payload: dict[str, Any]) -> None:
    """Deliver an event to a room from a worker: the path deep tasks report progress by."""
    room_publish_sync(room_id, [room_event_frame(event, payload)])

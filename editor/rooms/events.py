"""Events pushed to browsers through the channel layer.

Group names live here so that consumers, services and Celery tasks agree on them.
Sends happen after the surrounding transaction commits, so a browser never hears of
a change it cannot yet read.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def room_group(room_id: int) -> str:
    return f"room.{room_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def group_send_now(group: str, message: dict[str, Any]) -> None:
    """Send from sync code (services, Celery tasks); `message["type"]` names the handler."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, message)


def room_event_send(room_id: int, event: str, payload: dict[str, Any]) -> None:
    """Tell everyone in a room; the room consumer forwards it as {"type": event, ...}."""
    message = {"type": "room.event", "event": event, "payload": payload}
    # robust: the change is committed already; Redis being down must not turn it into a 500.
    transaction.on_commit(lambda: group_send_now(room_group(room_id), message), robust=True)


def access_changed(user_ids: list[int]) -> None:
    """Ask every open socket of these users to re-check its access (and close if gone)."""
    for user_id in user_ids:
        message = {"type": "access.changed"}
        transaction.on_commit(
            lambda uid=user_id, m=message: group_send_now(user_group(uid), m), robust=True
        )

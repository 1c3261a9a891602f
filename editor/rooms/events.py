"""Events pushed to a room's browsers through the channel layer.

The room's group name lives here so that consumers, services and Celery tasks agree on
it. Sends happen after the surrounding transaction commits, so a browser never hears of
a change it cannot yet read. (A user's own sockets: editor/accounts/sockets.py.)
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from editor.core.groups import group_send_now


def room_group(room_id: int) -> str:
    return f"room.{room_id}"


def room_event_send(room_id: int, event: str, payload: dict[str, Any]) -> None:
    """Tell everyone in a room; the room consumer forwards it as {"type": event, ...}."""
    message = {"type": "room.event", "event": event, "payload": payload}
    # robust: the change is committed already; Redis being down must not turn it into a 500.
    transaction.on_commit(lambda: group_send_now(room_group(room_id), message), robust=True)

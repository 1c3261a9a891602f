"""Events pushed to a room's browsers: {"type": <event>, ...payload} on every room socket.

Sent through the room relay (editor/rooms/relay.py), which every process with a socket
of the room hears. Sends happen after the surrounding transaction commits, so a browser
never hears of a change it cannot yet read. (A user's own sockets:
editor/accounts/sockets.py.)
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from editor.rooms.relay import room_publish_sync


def room_event_frame(event: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": event, **payload}


def room_event_send(room_id: int, event: str, payload: dict[str, Any]) -> None:
    """Tell everyone in a room, once the surrounding transaction has committed."""
    frame = room_event_frame(event, payload)
    # robust: the change is committed already; Redis being down must not turn it into a 500.
    transaction.on_commit(lambda: room_publish_sync(room_id, [frame]), robust=True)

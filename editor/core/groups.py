"""Sending to a channel-layer group from sync code (services, Celery tasks).

The group names belong to the apps that own them (`accounts.sockets.user_group`,
`rooms.events.room_group`); this is only the send.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def group_send_now(group: str, message: dict[str, Any]) -> None:
    """Send from sync code (services, Celery tasks); `message["type"]` names the handler."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, message)

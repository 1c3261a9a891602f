"""Channels' consumer dispatch, minus its trip to the sync thread before every message.

Channels 4.2+ awaits `aclose_old_connections()` before every handler: a trip to
asgiref's one shared sync thread, queued behind whatever else the process runs there
(authorization of other joins, compactions, views' sync calls), then back. py-spy put it
at 13 % of daphne's busy time with 50 typing clients, and in a 1,000-socket reconnect
burst every join waited behind the others' database reads for it. Flint's sockets make
every database call through `database_sync_to_async`, which closes stale connections
itself, in that thread; and they have no channel layer (editor/core/relay.py carries
what crosses processes), so the only messages are the socket's own connect, receive and
disconnect. For them the hop bought nothing.
"""

from __future__ import annotations

from typing import Any

from channels.consumer import get_handler_name


class DirectDispatch:
    """Put first in a consumer's bases: handlers run without the sync-thread hop."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

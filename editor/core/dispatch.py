"""Channels' consumer loop and dispatch, minus what a socket without a channel layer
does not need: the sync-thread trip before every message, and a task per message.

Channels 4.2+ awaits `aclose_old_connections()` before every handler: a trip to
asgiref's one shared sync thread, queued behind whatever else the process runs there
(authorization of other joins, compactions, views' sync calls), then back. py-spy put it
at 13 % of daphne's busy time with 50 typing clients, and in a 1,000-socket reconnect
burst every join waited behind the others' database reads for it. Flint's sockets make
every database call through `database_sync_to_async`, which closes stale connections
itself, in that thread; and they have no channel layer (editor/core/relay.py carries
what crosses processes), so the only messages are the socket's own connect, receive and
disconnect. For them the hop bought nothing.

Channels also reads those messages through `await_many_dispatch`, made to wait on the
client and the channel layer at once: for every message a new task and an
`asyncio.wait` over it. With no channel layer it waits on one thing, and each y-websocket
awareness renewal brings every client's echo of every other's (N x (N - 1) frames every
15 s, dropped on arrival but each carried through that machinery first). Here the loop is
`dispatch(await receive())`, in order, one message at a time, as Channels' is.
"""

from __future__ import annotations

from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer


class DirectDispatch:
    """Put first in a consumer's bases: handlers run without the sync-thread hop, and
    messages are read without a task each."""

    async def __call__(self, scope, receive, send) -> None:
        # What AsyncConsumer.__call__ sets up, for a consumer with no channel layer.
        assert get_channel_layer(self.channel_layer_alias) is None, "Flint runs without one"
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

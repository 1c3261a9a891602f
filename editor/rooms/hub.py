"""A process's room sockets, and the one relay that carries every room's frames here.

One RoomHub per process (per event loop). It knows which room sockets of each room are
open here, and holds one Redis pub/sub subscription (editor/core/relay.py) on which it
subscribes to the channel of every room that has a socket here. A frame for a room
(editor/rooms/relay.py) is encoded once: written to this process's sockets of the room
at once, as one prepared WebSocket frame (editor/core/fanout.py), and queued for the
other processes, which do the same with it when it arrives (one PUBLISH per room per
tick).

Before, each presence move, shared AI frame and room event was a channel-layer group
message per socket: channels_redis queues each process's messages in one Redis list of
at most 1,000 and daphne drains it with one receive loop; 300 sockets moving about with
AI streams running overflowed it and whole frames were dropped ("over capacity").
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, Protocol

from editor.core import fanout
from editor.core import relay as core_relay
from editor.core.loops import PerLoop, Tasks
from editor.core.redis_clients import async_client
from editor.rooms.relay import room_channel, room_item

log = logging.getLogger(__name__)


class RoomPeer(Protocol):
    """A room socket, as the hub sees it (the RoomConsumer)."""

    conn: str  # the id presence frames name it by
    wire: Any  # its daphne socket (fanout.wire_of), or None: then send() is used
    listening: bool  # False once its access is cut off: nothing more is sent to it

    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None: ...


class RoomHub:
    def __init__(self) -> None:
        self.id = uuid.uuid4().hex
        self.rooms: dict[int, set[RoomPeer]] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self.tasks = Tasks()
        self.spawn = self.tasks.spawn
        self.relay = core_relay.Relay(
            name="room relay",
            log=log,
            origin=self.id,
            channel_of=room_channel,
            key_of=lambda channel: channel.rsplit(":", 1)[1],
            deliver=self._relayed,
            spawn=self.spawn,
            connect=lambda: async_client(),
        )

    async def join(self, room_id: int, peer: RoomPeer) -> None:
        """From now on `peer` hears every frame of the room, from any process.

        The first socket of a room here waits for Redis to confirm the subscription, so a
        read the caller makes afterwards (the presence snapshot) misses nothing later.
        """
        async with self._locks.setdefault(room_id, asyncio.Lock()):
            peers = self.rooms.setdefault(room_id, set())
            first = not peers
            peers.add(peer)
            if first:
                await self.relay.subscribe(str(room_id))

    async def leave(self, room_id: int, peer: RoomPeer) -> None:
        async with self._locks.setdefault(room_id, asyncio.Lock()):
            peers = self.rooms.get(room_id)
            if peers is None or peer not in peers:
                return
            peers.discard(peer)
            if not peers:
                del self.rooms[room_id]
                await self.relay.unsubscribe(str(room_id))
                if not self.rooms:
                    await self.relay.idle()  # no room here: no connection held for none

    async def broadcast(self, room_id: int, frame: dict[str, Any], *, skip: str | None = None):
        """`frame` to every socket of the room (but the connection `skip`), here at once and
        in the other processes with this tick's batch."""
        item = room_item(frame, skip=skip)
        slow = self._write_all(room_id, item["text"], skip)
        self.relay.publish(str(room_id), item)
        await _send_each(slow, item["text"])

    def _relayed(self, key: str, item: Any) -> None:
        """A frame another process (or a service) sent to a room with sockets here."""
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            return
        text, skip = item["text"], item.get("skip")
        slow = self._write_all(int(key), text, skip if isinstance(skip, str) else None)
        if slow:
            self.spawn(_send_each(slow, text))

    def _write_all(self, room_id: int, text: str, skip: str | None) -> list[RoomPeer]:
        """Write to every listening socket of the room with a wire; those without one."""
        prepared = None
        slow = []
        for peer in list(self.rooms.get(room_id, ())):
            if not peer.listening or peer.conn == skip:
                continue
            if peer.wire is None:
                slow.append(peer)
                continue
            if prepared is None:
                prepared = fanout.frame(text.encode(), binary=False)
            try:
                fanout.write(peer.wire, prepared)
            except Exception:  # a closing socket must not stop the others
                log.debug("write to a closing room socket failed", exc_info=True)
        return slow

    async def close(self) -> None:
        """Stop the relay and background work (a test's loop ends; daphne's never does)."""
        await self.relay.close()
        self.tasks.cancel_all()
        _hubs.forget(self)


async def _send_each(peers: list[RoomPeer], text: str) -> None:
    for peer in peers:
        try:
            await peer.send(text_data=text)
        except Exception:  # a closing socket must not stop the others
            log.debug("send to a closing room socket failed", exc_info=True)


_hubs: PerLoop[RoomHub] = PerLoop(RoomHub)  # one per event loop (editor/core/loops.py)


def room_hub() -> RoomHub:
    return _hubs.current()

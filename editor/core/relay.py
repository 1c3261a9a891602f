"""Messages between processes on Redis pub/sub: one subscription per process, batched per tick.

The documents' relay (editor/collab/relay.py) and the rooms' (editor/rooms/hub.py) are
each one `Relay`: ONE pub/sub subscription per process, on which it subscribes to the
channel of every key (a document, a room) that has a socket here. What a process sends
is queued and published once per event-loop tick: one PUBLISH per key per tick (all of
that tick's items in one message), all keys in one pipelined round trip. Sending
therefore costs a list append, and a share of one PUBLISH.

Before issue 11 both went through a channel-layer group message per event per socket:
a few hundred idle stock clients emptied the Redis pool with their heartbeats, and 300
room sockets overflowed channels_redis' per-process inbox (capacity 1,000), which drops
whole messages.

A failed publish (Redis restarting, say) is logged and retried with what came since, up
to MAX_QUEUED items per key; local sockets have been served already, so a hiccup never
closes one. Messages are msgpack: {"origin": relay id, "items": [...]}; a process skips
its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import msgpack

MAX_QUEUED = 2000  # per key, while Redis does not take publishes
_RETRY_S = 0.5
_SUBSCRIBE_WAIT_S = 5.0


def encode(origin: str, items: list[Any]) -> bytes:
    return msgpack.packb({"origin": origin, "items": items}, use_bin_type=True)


Deliver = Callable[[str, Any], None]


class Relay:
    """A process's one subscription for one kind of key, and its per-tick publisher.

    `channel_of(key)` names a key's Redis channel and `key_of(channel)` reads it back;
    `deliver(key, item)` gets each item another process (or a service) published;
    `connect()` makes the asyncio Redis client; `name` starts its log lines ("collab
    relay: ...") on the owner's `log`.
    """

    def __init__(
        self,
        *,
        name: str,
        log: logging.Logger,
        origin: str,
        channel_of: Callable[[str], str],
        key_of: Callable[[str], str],
        deliver: Deliver,
        spawn,
        connect,
    ) -> None:
        self.name = name
        self.log = log
        self.origin = origin
        self._channel_of = channel_of
        self._key_of = key_of
        self._deliver = deliver
        self._spawn = spawn
        self._connect = connect
        self._client = None
        self._pubsub = None
        self._reader: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._outbox: dict[str, list[Any]] = {}
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        # redis-py's PubSub takes its connection on the first command: two keys
        # subscribing at once would each take one, and one of them would never be read.
        self._commands = asyncio.Lock()
        self._warned_at = 0.0
        self.published = 0  # PUBLISH commands sent (one per key per tick)
        self.dropped = 0  # items dropped while Redis did not take publishes

    def _redis(self):
        if self._client is None:
            self._client = self._connect()
        return self._client

    # --- subscriptions ------------------------------------------------------------------

    async def subscribe(self, key: str) -> None:
        """Subscribe to a key's channel and wait until Redis has confirmed it.

        The caller reads the key's state (a document from the database, a room's
        presence) after this: anything another process publishes later reaches us, and
        what it stored before is in that read.
        """
        channel = self._channel_of(key)
        confirmed = asyncio.get_running_loop().create_future()
        self._confirmations[channel] = confirmed
        try:
            async with self._commands:
                if self._pubsub is None:
                    self._pubsub = self._redis().pubsub()
                await self._pubsub.subscribe(channel)
                if self._reader is None or self._reader.done():
                    self._reader = self._spawn(self._read())
            await asyncio.wait_for(asyncio.shield(confirmed), _SUBSCRIBE_WAIT_S)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            # A very busy loop, or Redis slow: the subscription is on its way; go on.
            self.log.warning("%s: no confirmation of the subscription to %s yet", self.name, key)
        except Exception:
            # Degrade: this process serves its own sockets; redis-py subscribes again
            # when its connection comes back.
            self._warn("%s: subscribing to %s failed", self.name, key)
        finally:
            self._confirmations.pop(channel, None)

    async def unsubscribe(self, key: str) -> None:
        if self._pubsub is None:
            return
        try:
            async with self._commands:
                await self._pubsub.unsubscribe(self._channel_of(key))
        except Exception:
            self._warn("%s: unsubscribing from %s failed", self.name, key)

    async def _read(self) -> None:
        assert self._pubsub is not None
        while True:
            try:
                message = await self._pubsub.get_message(timeout=None)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._warn("%s: reading from Redis failed; retrying", self.name)
                await asyncio.sleep(_RETRY_S)
                continue
            if message is None:
                continue
            kind, channel = message.get("type"), _text(message.get("channel"))
            if kind == "subscribe":
                confirmed = self._confirmations.get(channel)
                if confirmed is not None and not confirmed.done():
                    confirmed.set_result(None)
            elif kind == "message":
                self._received(channel, message.get("data"))

    def _received(self, channel: str, data: Any) -> None:
        try:
            body = msgpack.unpackb(data, raw=False)
            if body.get("origin") == self.origin:
                return  # our own, back from Redis
            key = self._key_of(channel)
            items = body["items"]
        except Exception:
            self.log.warning("%s: dropped an unreadable message on %s", self.name, channel)
            return
        for item in items:
            try:
                self._deliver(key, item)
            except Exception:  # one bad item must not stop the reader
                self.log.exception("%s: delivering an item on %s failed", self.name, channel)

    # --- publishing ---------------------------------------------------------------------

    def publish(self, key: str, item: Any) -> None:
        """Queue `item` for the other processes; it leaves with this tick's batch."""
        queue = self._outbox.setdefault(key, [])
        queue.append(item)
        if len(queue) > MAX_QUEUED:
            del queue[: len(queue) - MAX_QUEUED]
            self.dropped += 1
        if self._flusher is None or self._flusher.done():
            self._flusher = self._spawn(self._flush())

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the rest of this tick join the batch
        while self._outbox:
            batch, self._outbox = self._outbox, {}
            try:
                if len(batch) == 1:  # the usual tick: one PUBLISH, without a pipeline's setup
                    [(key, items)] = batch.items()
                    await self._redis().publish(self._channel_of(key), encode(self.origin, items))
                else:
                    async with self._redis().pipeline(transaction=False) as pipe:
                        for key, items in batch.items():
                            pipe.publish(self._channel_of(key), encode(self.origin, items))
                        await pipe.execute()
                self.published += len(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._warn("%s: publishing to Redis failed; will retry", self.name)
                for key, items in batch.items():
                    queue = items + self._outbox.get(key, [])
                    if len(queue) > MAX_QUEUED:
                        self.dropped += len(queue) - MAX_QUEUED
                        queue = queue[-MAX_QUEUED:]
                    self._outbox[key] = queue
                await asyncio.sleep(_RETRY_S)

    async def idle(self) -> None:
        """Nothing is subscribed any more: let go of the subscription's connection (a
        later subscribe() opens a new one)."""
        async with self._commands:
            reader, pubsub = self._reader, self._pubsub
            self._reader = self._pubsub = None
            if reader is not None and not reader.done():
                reader.cancel()
                with contextlib.suppress(BaseException):
                    await reader
            if pubsub is not None:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def close(self) -> None:
        """Send what is queued (briefly), then let go of the subscription."""
        if self._flusher is not None and not self._flusher.done():
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(self._flusher), 2)
        for task in (self._reader, self._flusher):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = None

    def _warn(self, message: str, *args: Any) -> None:
        """Log a relay failure with its traceback at most once a second (a Redis outage
        would otherwise write one per message)."""
        now = time.monotonic()
        if now - self._warned_at >= 1.0:
            self._warned_at = now
            self.log.warning(message, *args, exc_info=True)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")

"""Documents' updates and awareness between processes: Redis pub/sub, one path per process.

Each hub (one per process) holds ONE pub/sub subscription, on which it subscribes to the
channel `<prefix>:collab:<doc hex>` of every document open here. What a process sends is
queued and published once per event-loop tick: one PUBLISH per document per tick (all of
that tick's updates and awareness states in one message), all documents in one pipelined
round trip. A heartbeat therefore costs a list append here, and a share of one PUBLISH.

Before issue 11 this went through a channel-layer group message per update per socket,
and a few hundred idle stock clients emptied the Redis pool with their heartbeats.

A failed publish (Redis restarting, say) is logged and retried with what came since, up
to MAX_QUEUED items per document; local peers have been served already, so a hiccup
never closes a socket. Messages are msgpack: {"origin": hub id, "items": [{"type",
"data", ...}]}; a process skips its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import msgpack
from django.conf import settings

from editor.core.redis_clients import async_client, sync_client

log = logging.getLogger(__name__)

MAX_QUEUED = 2000  # per document, while Redis does not take publishes
_RETRY_S = 0.5
_SUBSCRIBE_WAIT_S = 5.0


def relay_channel(doc_id: UUID | str) -> str:
    doc_hex = doc_id.hex if isinstance(doc_id, UUID) else doc_id
    return f"{settings.FLINT_CHANNEL_PREFIX}:collab:{doc_hex}"


def encode(origin: str, items: list[dict[str, Any]]) -> bytes:
    return msgpack.packb({"origin": origin, "items": items}, use_bin_type=True)


def publish_sync(doc_id: UUID, *, origin: str, items: list[dict[str, Any]]) -> None:
    """Publish from synchronous code (services run in views and Celery workers)."""
    sync_client().publish(relay_channel(doc_id), encode(origin, items))


Deliver = Callable[[UUID, dict[str, Any]], None]


class Relay:
    """A process's one subscription and its per-tick publisher."""

    def __init__(self, *, origin: str, deliver: Deliver, spawn) -> None:
        self.origin = origin
        self._deliver = deliver
        self._spawn = spawn
        self._client = None
        self._pubsub = None
        self._reader: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._outbox: dict[str, list[dict[str, Any]]] = {}
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        # redis-py's PubSub takes its connection on the first command: two documents
        # subscribing at once would each take one, and one of them would never be read.
        self._commands = asyncio.Lock()
        self._warned_at = 0.0
        self.published = 0  # PUBLISH commands sent (one per document per tick)
        self.dropped = 0  # items dropped while Redis did not take publishes

    def _redis(self):
        if self._client is None:
            self._client = async_client()
        return self._client

    # --- subscriptions ------------------------------------------------------------------

    async def subscribe(self, doc_id: UUID) -> None:
        """Subscribe to a document's channel and wait until Redis has confirmed it.

        The caller loads the document from the database after this: anything another
        process publishes later reaches us, and what it stored before is in that read.
        """
        channel = relay_channel(doc_id)
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
            log.warning("collab relay: no confirmation of the subscription to %s yet", doc_id)
        except Exception:
            # Degrade: this process serves its own clients; redis-py subscribes again
            # when its connection comes back.
            self._warn("collab relay: subscribing to %s failed", doc_id)
        finally:
            self._confirmations.pop(channel, None)

    async def unsubscribe(self, doc_id: UUID) -> None:
        if self._pubsub is None:
            return
        try:
            async with self._commands:
                await self._pubsub.unsubscribe(relay_channel(doc_id))
        except Exception:
            self._warn("collab relay: unsubscribing from %s failed", doc_id)

    async def _read(self) -> None:
        assert self._pubsub is not None
        while True:
            try:
                message = await self._pubsub.get_message(timeout=None)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._warn("collab relay: reading from Redis failed; retrying")
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
            doc_id = UUID(hex=channel.rsplit(":", 1)[1])
            items = body["items"]
        except Exception:
            log.warning("collab relay: dropped an unreadable message on %s", channel)
            return
        for item in items:
            if isinstance(item, dict):
                self._deliver(doc_id, item)

    # --- publishing ---------------------------------------------------------------------

    def publish(self, doc_id: UUID, item: dict[str, Any]) -> None:
        """Queue `item` for the other processes; it leaves with this tick's batch."""
        queue = self._outbox.setdefault(doc_id.hex, [])
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
                async with self._redis().pipeline(transaction=False) as pipe:
                    for doc_hex, items in batch.items():
                        pipe.publish(relay_channel(doc_hex), encode(self.origin, items))
                    await pipe.execute()
                self.published += len(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._warn("collab relay: publishing to Redis failed; will retry")
                for doc_hex, items in batch.items():
                    queue = items + self._outbox.get(doc_hex, [])
                    if len(queue) > MAX_QUEUED:
                        self.dropped += len(queue) - MAX_QUEUED
                        queue = queue[-MAX_QUEUED:]
                    self._outbox[doc_hex] = queue
                await asyncio.sleep(_RETRY_S)

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
            log.warning(message, *args, exc_info=True)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")

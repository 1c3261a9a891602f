"""One live document per open doc per process, kept in step with other processes.

Each process (each event loop) has one Hub. It owns a registry of SharedDocs and one
Redis pub/sub relay (editor/collab/relay.py) subscribed to the channel of every document
open here; an update applied in one process is published there (batched per tick) and
applied by the others, which skip their own messages by hub id.

Order of an editor's update: decode-check, append to the log, apply, send to the other
local clients, publish to other processes. Nobody sees an update that is not stored yet.

Writes from outside a socket (editor/collab/services.py: API writes, uploads, tasks) are
stored by their writer and published to the same channel; a "collab.close" message on it
closes every socket of a document that was deleted; a "collab.agent" message shows a
writer's named presence for a few seconds (editor/collab/agents.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from typing import Any, Protocol
from uuid import UUID

from channels.db import database_sync_to_async
from pycrdt import Awareness, Doc, Text, YSyncMessageType

from editor.collab import conf, store
from editor.collab.awareness import MAX_FRAME_BYTES, MAX_STATE_BYTES, Owners
from editor.collab.documents import (
    TEXT_NAME,
    document_facts_mirror,
    document_text_mirror,
    text_of,
)
from editor.collab.protocol import (
    ProtocolError,
    awareness_message,
    decode_awareness,
    encode_awareness,
    sync_message,
)
from editor.collab.relay import Relay
from editor.collab.writer import UpdateWriter
from editor.core import fanout
from editor.core.loops import PerLoop, Tasks

log = logging.getLogger(__name__)
# After this long without an edit, the file row (size, updated by/at) catches up with the
# live text and the room hears of it: the tree's sizes follow typing, a pause behind.
MIRROR_AFTER_IDLE_S = 2.0


class Peer(Protocol):
    """A connected client, as the hub sees it (the DocConsumer)."""

    user_id: int
    awareness_user: dict[str, Any]  # the `user` field the server puts in its states
    awareness_ids: set[int]  # the awareness client ids it speaks for (awareness.Owners)
    awareness_texts: dict[bytes, bytes]  # its states' relayed JSON (awareness.Owners)
    # Its daphne socket, written to directly by the fan-out (fanout.py); None elsewhere.
    wire: Any

    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None: ...

    async def close_document(self, code: int, reason: str) -> None:
        """The document is gone (its file was deleted): close with `code`."""
        ...


class SharedDoc:
    """The server's copy of one document, shared by every local client of it."""

    def __init__(self, doc_id: UUID, hub: Hub) -> None:
        self.doc_id = doc_id
        self.hub = hub
        # pycrdt documents are not meant for concurrent use; readers on other threads
        # (doc_text_current from a sync view) take this lock like the event loop does.
        self.lock = threading.Lock()
        self.ydoc = Doc()
        self.ydoc.get(TEXT_NAME, type=Text)
        self.awareness = Awareness(self.ydoc)
        self.awareness.set_local_state(None)  # the server itself has no cursor
        self.owners = Owners()
        self.dropped_awareness = 0
        self.peers: set[Peer] = set()
        self.ready = False  # set once the stored updates are in: readers wait for that
        self.closed = False  # the file was deleted: drop whatever still arrives
        # The file behind it (documents.DocumentInfo), kept by the first socket's join so
        # that later joins skip the lookup; a deleted file's document is shut, not reused.
        self.info: Any = None
        self.appended_since_compaction = 0
        self._inflight: set[asyncio.Future[None]] = set()
        self._compactor: asyncio.Task[None] | None = None
        self._evict_timer: asyncio.TimerHandle | None = None
        self._mirror_timer: asyncio.TimerHandle | None = None
        self.last_editor_id: int | None = None  # whose edit this process stored last

    # --- reads --------------------------------------------------------------------------

    def text(self) -> str:
        with self.lock:
            return text_of(self.ydoc)

    def sync_step1(self) -> bytes:
        with self.lock:
            state = self.ydoc.get_state()
        return sync_message(YSyncMessageType.SYNC_STEP1, state)

    def sync_step2(self, state_vector: bytes) -> bytes:
        try:
            with self.lock:
                update = self.ydoc.get_update(state_vector)
        except ValueError as exc:
            raise ProtocolError("bad state vector") from exc
        return sync_message(YSyncMessageType.SYNC_STEP2, update)

    def awareness_snapshot(self) -> bytes | None:
        client_ids = list(self.awareness.states)
        if not client_ids:
            return None
        return awareness_message(self.awareness.encode_awareness_update(client_ids))

    # --- writes -------------------------------------------------------------------------

    def apply(self, update: bytes) -> None:
        with self.lock:
            self.ydoc.apply_update(update)

    async def client_update(self, update: bytes, origin: Peer) -> None:
        """An editor's update: check, store, apply, relay to everyone else."""
        if update in (b"", b"\x00\x00") or self.closed:
            # Empty (a client with nothing to add answering step 1), or the file is gone.
            return
        try:
            # Decoding it in a scratch document costs the update's size, not the doc's,
            # and keeps a malformed update out of both the log and the live document.
            Doc().apply_update(update)
        except ValueError as exc:
            raise ProtocolError("malformed update") from exc
        await self._persist(update)
        self.apply(update)
        await self.fanout(sync_message(YSyncMessageType.SYNC_UPDATE, update), exclude=origin)
        self.hub.publish(self.doc_id, "collab.update", update)
        self.appended_since_compaction += 1
        self.last_editor_id = origin.user_id
        if self.appended_since_compaction >= conf.compact_every():
            self.compact_soon()
        else:
            self.mirror_soon()

    def mirror_soon(self) -> None:
        if self._mirror_timer is not None:
            self._mirror_timer.cancel()
        self._mirror_timer = asyncio.get_running_loop().call_later(
            MIRROR_AFTER_IDLE_S, lambda: self.hub.spawn(self._mirror())
        )

    async def _mirror(self) -> None:
        self._mirror_timer = None
        if self.closed:
            return
        await self.flush()  # the row must not be newer than the stored log
        try:
            await database_sync_to_async(document_facts_mirror)(
                doc_id=self.doc_id, text=self.text(), updated_by_id=self.last_editor_id
            )
        except Exception:
            log.exception("could not refresh the file row of %s", self.doc_id)

    def remote_update(self, update: bytes) -> None:
        """An update another process has stored and applied."""
        try:
            self.apply(update)
        except ValueError:
            log.warning("dropped an undecodable relayed update for %s", self.doc_id)
            return
        self.fanout_soon(sync_message(YSyncMessageType.SYNC_UPDATE, update))

    async def client_awareness(self, payload: bytes, origin: Peer) -> None:
        """A client's awareness update: only its own ids, with the server's `user` in it."""
        if len(payload) > MAX_FRAME_BYTES:
            self.dropped_awareness += 1
            return
        meta = self.awareness.meta
        owners = self.owners

        def echo(client: int, clock: int) -> bool:
            known = meta.get(client)
            return owners.echo(client, clock, origin, known["clock"] if known else None)

        entries = decode_awareness(payload, max_state_bytes=MAX_STATE_BYTES, skip=echo)
        if not entries:
            return  # only echoes of states everyone has already
        kept = self.owners.admit(entries, origin)
        self.dropped_awareness += len(entries) - len(kept)
        if not kept:
            return
        update = encode_awareness(kept)
        try:
            self.awareness.apply_awareness_update(update, origin)
        except (ValueError, IndexError, RuntimeError, TypeError) as exc:
            raise ProtocolError("malformed awareness update") from exc
        await self.fanout(awareness_message(update), exclude=origin)
        owners = self.owners.owners_of(kept)
        self.hub.publish(self.doc_id, "collab.awareness", update, owners=owners)

    def remote_awareness(self, payload: bytes, owners: dict[str, int]) -> None:
        """States another process admitted (and whose owners it names)."""
        try:
            entries = self.owners.relayed(decode_awareness(payload), owners)
        except ProtocolError:
            return
        if not entries:
            return
        update = encode_awareness([(e.client, e.clock, e.state) for e in entries])
        try:
            self.awareness.apply_awareness_update(update, "remote")
        except (ValueError, IndexError, RuntimeError, TypeError):
            return
        self.fanout_soon(awareness_message(update))

    def agent_awareness(self, client: int, state: dict[str, Any] | None, hold_s: float) -> None:
        """The server's own state for a writer (editor/collab/agents.py): set now, removed
        after `hold_s`. Runs on the hub's loop; each process keeps its own timer."""
        if self.closed:
            return
        self.owners.server_claim(client)
        if state is None and client not in self.awareness.states:
            return
        clock = self.awareness.meta.get(client, {}).get("clock", 0) + 1
        update = encode_awareness([(client, clock, state)])
        try:
            self.awareness.apply_awareness_update(update, "server")
        except (ValueError, IndexError, RuntimeError, TypeError):
            log.warning("could not show a writer's presence in %s", self.doc_id)
            return
        self.hub.spawn(self.fanout(awareness_message(update)))
        if state is not None:
            self.hub.loop.call_later(hold_s, self.agent_awareness, client, None, 0.0)

    async def agent_awareness_async(
        self, client: int, state: dict[str, Any] | None, hold_s: float
    ) -> None:
        self.agent_awareness(client, state, hold_s)

    async def fanout(self, message: bytes, exclude: Peer | None = None) -> None:
        """Send `message` to every local peer but `exclude`: framed once, written to each
        daphne socket directly (fanout.py); peers without one get consumer.send()."""
        await _send_each(self._write_all(message, exclude), message)

    def fanout_soon(self, message: bytes) -> None:
        """fanout() from synchronous code (the relay's callbacks): no task unless a peer
        needs consumer.send()."""
        slow = self._write_all(message, None)
        if slow:
            self.hub.spawn(_send_each(slow, message))

    def _write_all(self, message: bytes, exclude: Peer | None) -> list[Peer]:
        """Write to every peer with a wire; the peers that need consumer.send()."""
        prepared = None
        slow = []
        for peer in self.peers:
            if peer is exclude:
                continue
            wire = peer.wire
            if wire is None:
                slow.append(peer)
                continue
            if prepared is None:
                prepared = fanout.frame(message)
            try:
                fanout.write(wire, prepared)
            except Exception:  # a closing socket must not stop the others
                log.debug("write to a closing peer failed", exc_info=True)
        return slow

    # --- persistence --------------------------------------------------------------------

    async def _persist(self, update: bytes) -> None:
        """Append to the log through the process's writer (group commit, writer.py)."""
        task = asyncio.ensure_future(self.hub.writer.append(doc_id=self.doc_id, updates=[update]))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        # shield: a cancelled socket task must not leave flush() unaware of the write.
        await asyncio.shield(task)

    async def flush(self) -> None:
        """Wait for the appends of this document that are still being committed."""
        if self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    def compact_soon(self) -> None:
        if self._compactor is not None and not self._compactor.done():
            return
        self.appended_since_compaction = 0
        self._compactor = self.hub.spawn(self._compact())

    async def _compact(self) -> None:
        if self.closed:
            return
        try:
            await database_sync_to_async(_compact_and_mirror)(
                doc_id=self.doc_id, updated_by_id=self.last_editor_id
            )
        except Exception:
            log.exception("compaction of %s failed; the log is intact", self.doc_id)


async def _send_each(peers: list[Peer], message: bytes) -> None:
    for peer in peers:
        try:
            await peer.send(bytes_data=message)
        except Exception:  # a closing socket must not stop the others
            log.debug("send to a closing peer failed", exc_info=True)


def _compact_and_mirror(*, doc_id: UUID, updated_by_id: int | None = None) -> None:
    """Compact, then refresh the file row's copy of the text (sizes in the file list)."""
    result = store.document_compact(doc_id=doc_id)
    if result.text is not None:
        document_text_mirror(doc_id=doc_id, text=result.text, updated_by_id=updated_by_id)


class Hub:
    """The registry of this process's open documents and its relay to other processes."""

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex
        self.loop = asyncio.get_running_loop()
        self.docs: dict[UUID, SharedDoc] = {}
        self._open_locks: dict[UUID, asyncio.Lock] = {}
        self.tasks = Tasks()
        self.spawn = self.tasks.spawn
        self.relay = Relay(origin=self.id, deliver=self._relayed, spawn=self.spawn)
        self.writer = UpdateWriter(name=f"collab-writer-{self.id[:8]}")

    def info_of(self, doc_id: UUID) -> Any:
        """The DocumentInfo of a document loaded here (None if not open or not loaded)."""
        shared = self.docs.get(doc_id)
        if shared is None or not shared.ready or shared.closed:
            return None
        return shared.info

    async def open(self, doc_id: UUID, *, text: str, peer: Peer) -> SharedDoc:
        """The live document, loaded on first use; `peer` is attached to it."""
        lock = self._open_locks.setdefault(doc_id, asyncio.Lock())
        async with lock:
            shared = self.docs.get(doc_id)
            if shared is None:
                shared = await self._load(doc_id, text)
            if shared._evict_timer is not None:
                shared._evict_timer.cancel()
                shared._evict_timer = None
            shared.peers.add(peer)
            return shared

    async def _load(self, doc_id: UUID, text: str) -> SharedDoc:
        shared = SharedDoc(doc_id, self)
        # Registered and subscribed BEFORE reading the store: an update another process
        # stores after our read reaches us as a relay. A duplicate is harmless, a gap not.
        with _registry_lock:
            self.docs[doc_id] = shared
        try:
            await self._subscribe(doc_id)
            updates = await database_sync_to_async(store.document_load_or_init)(
                doc_id=doc_id, text=text, file_required=True
            )
            for update in updates:
                try:
                    shared.apply(update)
                except ValueError:
                    log.error("skipped an undecodable stored update of %s", doc_id)
            shared.ready = True
        except BaseException:
            with _registry_lock:
                self.docs.pop(doc_id, None)
            await self._unsubscribe(doc_id)
            raise
        return shared

    async def release(self, shared: SharedDoc, peer: Peer) -> None:
        """A client left: drop its cursors; unload the document after the grace period."""
        if peer not in shared.peers:
            return
        shared.peers.discard(peer)
        ids = [i for i in shared.owners.release(peer) if i in shared.awareness.meta]
        if ids:
            # Cursors of a leaving client are removed for everyone (as y-websocket's does).
            shared.awareness.remove_awareness_states(ids, "leave")
            payload = shared.awareness.encode_awareness_update(ids)
            await shared.fanout(awareness_message(payload))
            self.publish(shared.doc_id, "collab.awareness", payload)
        if not shared.peers:
            loop = asyncio.get_running_loop()
            shared._evict_timer = loop.call_later(
                conf.idle_grace_seconds(), lambda: self.spawn(self._evict(shared.doc_id))
            )

    async def _evict(self, doc_id: UUID) -> None:
        lock = self._open_locks.setdefault(doc_id, asyncio.Lock())
        async with lock:
            shared = self.docs.get(doc_id)
            if shared is None or shared.peers:
                return
            with _registry_lock:
                del self.docs[doc_id]
            self._open_locks.pop(doc_id, None)
            await self._unsubscribe(doc_id)
            await shared.flush()
        await shared._compact()

    async def shut(self, doc_id: UUID, *, code: int, reason: str) -> None:
        """The document's file was deleted: close its sockets here and drop it from memory."""
        lock = self._open_locks.setdefault(doc_id, asyncio.Lock())
        async with lock:
            with _registry_lock:
                shared = self.docs.pop(doc_id, None)
            self._open_locks.pop(doc_id, None)
            if shared is None:
                return
            shared.closed = True
            if shared._evict_timer is not None:
                shared._evict_timer.cancel()
            await self._unsubscribe(doc_id)
        peers = list(shared.peers)
        shared.peers.clear()
        for peer in peers:
            try:
                await peer.close_document(code, reason)
            except Exception:
                log.debug("closing a peer of a deleted document failed", exc_info=True)
        await shared.flush()
        # An update a client sent just before the close may have been stored after the
        # delete's commit: forget again, now that nothing here can add to the log.
        await database_sync_to_async(store.document_forget)(doc_id=doc_id)

    def call_soon(self, coro) -> None:
        """Run `coro` on this hub's loop, from any thread (services deliver writes so)."""

        def start() -> None:
            self.spawn(coro)

        try:
            self.loop.call_soon_threadsafe(start)
        except RuntimeError:  # the loop is closed (a test ended): nobody to tell
            coro.close()

    async def close(self) -> None:
        """Stop the relay and background work (a test's loop ends; daphne's never does)."""
        for shared in list(self.docs.values()):
            for timer in (shared._evict_timer, shared._mirror_timer):
                if timer is not None:
                    timer.cancel()
            await shared.flush()
        await self.relay.close()
        tasks = self.tasks.cancel_all()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        await self.writer.astop()
        with _registry_lock:
            self.docs.clear()
        _hubs.forget(self)

    # --- the relay between processes ----------------------------------------------------

    async def _subscribe(self, doc_id: UUID) -> None:
        await self.relay.subscribe(doc_id)

    async def _unsubscribe(self, doc_id: UUID) -> None:
        await self.relay.unsubscribe(doc_id)

    def publish(self, doc_id: UUID, kind: str, payload: bytes, **extra: Any) -> None:
        """Queue for the other processes (never waits on Redis, never raises)."""
        self.relay.publish(doc_id, {"type": kind, "data": payload, **extra})

    def _relayed(self, doc_id: UUID, message: dict[str, Any]) -> None:
        """A message from another process (or a service) about a document."""
        shared = self.docs.get(doc_id)
        if shared is None:
            return
        kind, data = message.get("type"), message.get("data")
        if kind == "collab.update" and isinstance(data, bytes):
            shared.remote_update(data)
        elif kind == "collab.awareness" and isinstance(data, bytes):
            owners = message.get("owners")
            shared.remote_awareness(data, owners if isinstance(owners, dict) else {})
        elif kind == "collab.agent" and isinstance(message.get("client"), int):
            state = message.get("state")
            hold_s = message.get("hold_s")
            if isinstance(state, dict) and isinstance(hold_s, int | float):
                shared.agent_awareness(message["client"], state, min(float(hold_s), 60.0))
        elif kind == "collab.close":
            self.spawn(
                self.shut(
                    shared.doc_id,
                    code=int(message.get("code", 4004)),
                    reason=str(message.get("reason", "")),
                )
            )


# One hub per event loop (editor/core/loops.py); the lock guards each hub's `docs`, which
# loaded() and attached() read from other threads.
_hubs: PerLoop[Hub] = PerLoop(Hub)
_registry_lock = threading.Lock()


def hub() -> Hub:
    return _hubs.current()


def loaded(doc_id: UUID) -> SharedDoc | None:
    """The live document if this process has it open and loaded (callable from any thread)."""
    with _registry_lock:
        for each in _hubs.values():
            shared = each.docs.get(doc_id)
            if shared is not None and shared.ready:
                return shared
    return None


def attached(doc_id: UUID) -> SharedDoc | None:
    """The live document if this process has it open, loaded or still loading."""
    with _registry_lock:
        for each in _hubs.values():
            shared = each.docs.get(doc_id)
            if shared is not None:
                return shared
    return None

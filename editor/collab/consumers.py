"""The document socket, /ws/docs/<doc_id>: the standard y-websocket protocol, binary frames.

Authorization happens in connect(), before any sync message is read (Channels handles a
connection's messages one at a time, so nothing is read until connect() returns). A
refused socket is accepted and closed with a Flint close code and a short reason: a
binary y-websocket client cannot read a JSON error frame, so the code is the message.
"""

from __future__ import annotations

import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from pycrdt import YMessageType, YSyncMessageType

from editor.accounts.access_watch import AccessWatched
from editor.accounts.services import profile_get
from editor.collab import conf, join_cache
from editor.collab.awareness import awareness_user
from editor.collab.documents import DocumentInfo, document_get
from editor.collab.hub import SharedDoc, hub
from editor.collab.protocol import QUERY_AWARENESS, ProtocolError, parse
from editor.core import closecodes, fanout
from editor.core.dispatch import DirectDispatch
from editor.core.errors import NotFound
from editor.core.fanout import wire_of
from editor.core.single_flight import SingleFlight
from editor.rooms.permissions import EffectiveRoomRole, room_role
from editor.rooms.recheck import access_recheck

log = logging.getLogger(__name__)
_WRITERS = {EffectiveRoomRole.ADMIN, EffectiveRoomRole.EDITOR}
# daphne (autobahn) only lets an application close with 1000 or 3000-4999, so not 1011.

_join_reads: SingleFlight[tuple[DocumentInfo | None, Any, dict[str, Any] | None]] = SingleFlight(
    keep_s=join_cache.TTL_S
)


async def _join_lookup(doc_id, user) -> tuple[DocumentInfo | None, Any, dict[str, Any] | None]:
    """(the document, the person's room role, their awareness `user`) for a join.

    A document open here knows its file, and join_cache keeps the person's role and
    profile while they hold a socket here: a warm join reads no database at all.
    """
    info = hub().info_of(doc_id)
    if info is not None:
        found, role = join_cache.role(user.pk, info.room.pk)
        person = join_cache.person(user.pk)
        if found and person is not None:
            return info, role, person
    # A reconnect burst brings the person's sockets of one document together, before the
    # document is open here: they share one read (editor/core/single_flight.py). The key
    # has the person's access generation, which every change of access seen here moves
    # on; an answer that landed is reused only while they hold a socket here (which is
    # watched for every change, as for join_cache).
    key = (doc_id, user.pk, join_cache.generation(user.pk))
    answer, _read_here = await _join_reads.run(
        key, lambda: _join_read(doc_id, user), landed_ok=lambda _a: join_cache.holding(user.pk)
    )
    return answer


@database_sync_to_async
def _join_read(doc_id, user) -> tuple[DocumentInfo | None, Any, dict[str, Any] | None]:
    """The same from the database, in ONE trip to the sync thread."""
    read_at = join_cache.generation(user.pk)
    info = document_get(doc_id=doc_id)
    if info is None:
        return None, None, None
    role = room_role(user, info.room)
    if role is None:
        return info, None, None
    profile = profile_get(user=user)
    person = awareness_user(
        user_id=user.pk, username=user.get_username(), name=profile.name, color=profile.cursor_color
    )
    join_cache.keep(user.pk, info.room.pk, role, person, read_at=read_at)
    return info, role, person


class DocConsumer(DirectDispatch, AccessWatched, AsyncWebsocketConsumer):
    shared: SharedDoc | None = None
    info: DocumentInfo | None = None
    role: EffectiveRoomRole | None = None
    closed = False
    wire = None  # set in connect() (fanout.wire_of)
    holding = False  # counted in join_cache.hold()

    async def connect(self) -> None:
        self.awareness_ids: set[int] = set()
        self.awareness_texts: dict[bytes, bytes] = {}
        self.dropped_updates = 0
        await self.accept()
        # The daphne socket the hub's fan-out writes to (None under a test communicator).
        self.wire = wire_of(self.base_send)
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            code = self.scope.get("auth_close_code", closecodes.NOT_AUTHENTICATED)
            await self.refuse(code, self.scope.get("auth_error") or "")
            return
        doc_id = self.scope["url_route"]["kwargs"]["doc_id"]
        # Watched BEFORE the role is read (kept or not): a change of access committed from
        # here on reaches this socket, whose re-check reads the database (access_watch.py).
        await self.access_watch_start(user.pk)
        self.info, role, person = await _join_lookup(doc_id, user)
        if self.info is None:
            await self.refuse(closecodes.NOT_FOUND, "No such document.")
            return
        if role is None:
            await self.refuse(closecodes.FORBIDDEN, "You are not a member of this room.")
            return
        if not self.info.editable:
            await self.refuse(closecodes.NOT_FOUND, "This file is not a text document.")
            return
        self.role = role
        # Every awareness state this socket relays says who it is from, in the server's words.
        self.user_id = user.pk
        self.awareness_user = person
        join_cache.hold(user.pk)
        self.holding = True
        try:
            self.shared = await hub().open(doc_id, text=self.info.text, peer=self)
        except NotFound as exc:  # deleted between the lookup and the first load
            await self.refuse(closecodes.NOT_FOUND, exc.message)
            return
        if self.shared.info is None:
            self.shared.info = self.info
        await self.send(bytes_data=self.shared.sync_step1())
        awareness = self.shared.awareness_snapshot()
        if awareness is not None:
            await self.send(bytes_data=awareness)

    async def refuse(self, code: int, reason: str) -> None:
        self.closed = True
        await self.close(code=code, reason=(reason or closecodes.REASONS[code])[:120])
        await self._leave()

    async def close_document(self, code: int, reason: str) -> None:
        """Called by the hub when the file was deleted (in any process)."""
        if not self.closed:
            await self.refuse(code, reason)

    async def disconnect(self, code: int) -> None:
        await self._leave()

    async def _leave(self) -> None:
        if self.holding:
            self.holding = False
            join_cache.release(self.user_id)
        shared, self.shared = self.shared, None
        if shared is not None:
            await hub().release(shared, self)
        self.access_watch_stop()

    async def send(self, text_data=None, bytes_data=None, close=False) -> None:
        """A binary frame goes straight to this socket's wire (editor/core/fanout.py), as
        the hub's fan-out does: a join's sync and awareness replies skip Channels' and
        autobahn's per-call chain and Twisted's write registration (~3 per join)."""
        direct = bytes_data is not None and text_data is None and not close and self.wire
        if direct and fanout.write(self.wire, fanout.frame(bytes_data)):
            return
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closed or self.shared is None:
            return
        if bytes_data is None:
            await self.refuse(closecodes.BAD_MESSAGE, "Send binary y-websocket messages.")
            return
        if len(bytes_data) > conf.max_message_bytes():
            await self.refuse(closecodes.MESSAGE_TOO_BIG, "Message over the size limit.")
            return
        try:
            await self._handle(bytes_data)
        except ProtocolError as exc:
            await self.refuse(closecodes.BAD_MESSAGE, f"Bad message: {exc}.")
        except Exception:
            log.exception("document %s: message failed", self.info.doc_id if self.info else "?")
            await self.refuse(closecodes.SERVER_ERROR, "Server error; reconnect.")

    async def _handle(self, data: bytes) -> None:
        message = parse(data)
        shared = self.shared
        assert shared is not None
        if message.kind == YMessageType.SYNC:
            if message.sync_type == YSyncMessageType.SYNC_STEP1:
                await self.send(bytes_data=shared.sync_step2(message.payload))
            elif self.role in _WRITERS:
                await shared.client_update(message.payload, origin=self)
            else:
                # Read-only is enforced here, not in the browser: a viewer's edits never
                # reach the document, the log or anyone else.
                self.dropped_updates += 1
        elif message.kind == YMessageType.AWARENESS:
            await shared.client_awareness(message.payload, origin=self)
        elif message.kind == QUERY_AWARENESS:
            awareness = shared.awareness_snapshot()
            if awareness is not None:
                await self.send(bytes_data=awareness)
        # AUTH messages are server-to-client in y-protocols; a client's is ignored.

    # --- access changes (editor/accounts/access_watch.py) -------------------------------

    async def access_changed(self) -> None:
        if self.info is None or self.closed:
            return
        join_cache.forget(self.user_id)  # before the re-check, so no join uses the old role
        problem, role = await access_recheck(self.info.room, self.scope)
        if problem is not None:
            await self.refuse(closecodes.NOT_AUTHENTICATED, problem)
            return
        if role is None:
            await self.refuse(closecodes.FORBIDDEN, "You no longer have access to this room.")
            return
        self.role = role

"""The room socket, /ws/rooms/<room_id>: presence, room events, later AI streams and tasks.

JSON messages, one object each, with a "type". See docs/PROTOCOL.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from editor.accounts.access_watch import AccessWatched
from editor.accounts.services import profile_get
from editor.core import closecodes
from editor.core.dispatch import DirectDispatch
from editor.core.errors import NotFound
from editor.core.fanout import wire_of
from editor.rooms.extensions import RoomSocketSession, room_socket_extensions
from editor.rooms.hub import room_hub
from editor.rooms.permissions import EffectiveRoomRole, room_role
from editor.rooms.presence import (
    HEARTBEAT_S,
    parse_where,
    presence_enter,
    presence_leave,
    presence_touch,
)
from editor.rooms.recheck import access_recheck
from editor.rooms.selectors import room_get

# Room messages are flat objects; a few levels of nesting cover every type. Deeper input
# would blow Python's recursion limit in json (or later, echoing it) and end the socket.
MAX_JSON_DEPTH = 32


class BadMessage(ValueError):
    """A frame this socket answers with an `error` frame and otherwise ignores."""


def parse_message(text: str) -> Any:
    """The frame's JSON, or BadMessage saying what is wrong with it."""
    try:
        content = json.loads(text)
    except RecursionError:
        raise BadMessage(f"A message may nest at most {MAX_JSON_DEPTH} levels deep.") from None
    except ValueError:
        raise BadMessage('Each message is a JSON object with a "type".') from None
    # Iterative, so that measuring the depth cannot itself recurse too deep.
    stack = [(content, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise BadMessage(f"A message may nest at most {MAX_JSON_DEPTH} levels deep.")
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return content


@database_sync_to_async
def _load_room_and_role(room_id: int, user) -> tuple[Any, EffectiveRoomRole | None]:
    try:
        room = room_get(room_id=room_id)
    except NotFound:
        return None, None
    return room, room_role(user, room)


@database_sync_to_async
def _who(user) -> dict[str, Any]:
    profile = profile_get(user=user)
    return {
        "id": user.pk,
        "username": user.get_username(),
        "name": profile.name,
        "color": profile.cursor_color,
    }


def client_kind(scope: dict[str, Any]) -> str:
    """`?client=terminal` marks a connection of the `flint` command line; the room shows
    that person as "(terminal)" there. Anything else is a browser. It is a label, not a
    credential: it grants nothing."""
    params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return "terminal" if params.get("client", [""])[0] == "terminal" else "browser"


class RoomConsumer(DirectDispatch, AccessWatched, AsyncJsonWebsocketConsumer):
    room = None
    role: EffectiveRoomRole | None = None
    me: dict[str, Any] | None = None
    # Sessions of the apps that extend the socket (assist), by message-type prefix.
    extensions: dict[str, RoomSocketSession]
    heartbeat: asyncio.Task | None = None
    where: dict[str, Any] | None = None  # the file this connection shows, if any
    conn: str = ""  # this connection's id in presence frames (a page may have several)
    in_room = False  # joined the room hub (editor/rooms/hub.py): hears the room's frames
    wire = None  # its daphne socket, for the room hub's fan-out (core/fanout.wire_of)

    @property
    def listening(self) -> bool:
        """Whether room frames still go to this socket (not once it is cut off)."""
        return self.role is not None

    async def connect(self) -> None:
        self.conn = uuid.uuid4().hex
        self.extensions = {}
        self.wire = wire_of(self.base_send)
        user = self.scope.get("user")
        # Accept first so that the refusal reaches the client as a close code it can show,
        # instead of a bare HTTP 403 during the handshake.
        await self.accept()
        if user is None or not user.is_authenticated:
            reason = self.scope.get("auth_error") or "Log in first."
            code = self.scope.get("auth_close_code", closecodes.NOT_AUTHENTICATED)
            await self.refuse(code, reason)
            return
        room_id = int(self.scope["url_route"]["kwargs"]["room_id"])
        # Watched BEFORE the role is read: a change of access committed from here on
        # reaches this socket, whose re-check reads the database (access_watch.py).
        await self.access_watch_start(user.pk)
        self.room, self.role = await _load_room_and_role(room_id, user)
        if self.room is None:
            await self.refuse(closecodes.NOT_FOUND, "No such room.")
            return
        if self.role is None:
            await self.refuse(closecodes.FORBIDDEN, "You are not a member of this room.")
            return
        self.me = {**await _who(user), "client": client_kind(self.scope)}
        self.extensions = {
            prefix: factory(
                room=self.room,
                user=user,
                who=self.me,
                send=self.send_json,
                broadcast=self._broadcast_frame,
            )
            for prefix, factory in room_socket_extensions().items()
        }
        # Room traffic (presence, shared AI frames, room events) comes through this
        # process's room hub, access changes through its access watch.
        await room_hub().join(self.room.pk, self)
        self.in_room = True
        await self.send_json(
            {"type": "hello", "role": self.role, "you": self.me, "room": self.room.pk}
        )
        present = await presence_enter(room_id=self.room.pk, conn=self.conn, who=self.me)
        for entry in present:  # everyone already here, and ourselves
            await self.send_json({"type": "presence.join", **entry})
        await room_hub().broadcast(
            self.room.pk,
            {"type": "presence.join", "who": self.me, "conn": self.conn},
            skip=self.conn,  # it announced itself from the snapshot
        )
        self.heartbeat = asyncio.create_task(self._keep_presence())

    async def _keep_presence(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            await presence_touch(
                room_id=self.room.pk, conn=self.conn, who=self.me, where=self.where
            )

    async def refuse(self, code: int, message: str) -> None:
        await self.send_error(closecodes.REASONS[code], message)
        await self.close(code=code)

    async def _cut_off(self, code: int, message: str) -> None:
        """Access is gone: nothing this socket sends from now on is acted on."""
        self.role = None
        await self._close_extensions()  # their model streams stop too
        await self.refuse(code, message)

    async def disconnect(self, code: int) -> None:
        await self._close_extensions()  # stops this socket's model streams upstream
        if self.heartbeat is not None:
            self.heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.heartbeat
        if self.in_room:
            self.in_room = False
            await room_hub().leave(self.room.pk, self)
        if self.room is not None and self.me is not None:
            await presence_leave(room_id=self.room.pk, conn=self.conn)
            await room_hub().broadcast(
                self.room.pk,
                {"type": "presence.leave", "who": self.me, "conn": self.conn},
            )
        self.access_watch_stop()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.role is None:
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.send_error("bad_message", 'Each message is a JSON object with a "type".')
            return
        if content["type"] == "ping":
            await self.send_json({"type": "pong", "t": content.get("t")})
        elif content["type"] == "presence.where":
            await self._moved(content)
        elif (extension := self._extension_for(content["type"])) is not None:
            # e.g. assist.*: the session authorizes each action itself (with `can`).
            await extension.handle(content)
        else:
            await self.send_error("unknown_type", f"Unknown message type {content['type']!r}.")

    def _extension_for(self, kind: str) -> RoomSocketSession | None:
        prefix, dot, _rest = kind.partition(".")
        return self.extensions.get(prefix) if dot else None

    async def _close_extensions(self) -> None:
        for extension in self.extensions.values():
            await extension.close()

    async def _moved(self, content: dict[str, Any]) -> None:
        """This connection now shows another file (or none): tell the room, remember it."""
        try:
            self.where = parse_where(content)
        except ValueError as exc:
            await self.send_error("bad_message", str(exc))
            return
        await presence_touch(room_id=self.room.pk, conn=self.conn, who=self.me, where=self.where)
        await room_hub().broadcast(
            self.room.pk,
            {
                "type": "presence.where",
                "who": self.me,
                "conn": self.conn,
                "where": self.where,
            },
        )

    async def send_error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})

    async def _broadcast_frame(self, frame: dict[str, Any]) -> None:
        """An extension's frame to every socket of the room (shared AI streams)."""
        # `by`: request ids are the pages' own, so a page tells a stream under its id
        # from another member's that reuses it by this stamp (static/src/room/assist).
        await room_hub().broadcast(self.room.pk, {**frame, "by": self.me["id"]})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kw):
        """Parse with bounds: a bad frame gets an `error` frame and the socket stays open."""
        if self.role is None:
            return
        if text_data is None:
            await self.send_error("bad_message", "Send JSON text frames, not binary ones.")
            return
        try:
            content = parse_message(text_data)
        except BadMessage as exc:
            await self.send_error("bad_message", str(exc))
            return
        await self.receive_json(content)

    # --- access changes (editor/accounts/access_watch.py) -------------------------------

    async def access_changed(self) -> None:
        if self.role is None:
            return  # refused or already cut off
        problem, role = await access_recheck(self.room, self.scope)
        if problem is not None:
            await self._cut_off(closecodes.NOT_AUTHENTICATED, problem)
            return
        if role is None:
            await self._cut_off(closecodes.FORBIDDEN, "You no longer have access to this room.")
            return
        if role != self.role:
            self.role = role
            for extension in self.extensions.values():
                extension.reauthorize()
            await self.send_json({"type": "role.changed", "role": role})

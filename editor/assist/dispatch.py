"""`assist.*` messages from a room socket: checked, parsed once, and handed on.

One AssistSession per room socket. The consumer hands it each `assist.*` message and
returns at once; every model request runs in its own task (the stream relay,
editor/assist/relay.py) so the socket keeps reading (a cancel, a newer completion).
The session also keeps what its requests share: the permission, the room's routes and
the per-user cap on streams in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Coroutine
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from editor.assist import errors, features, protocol, selectors, services
from editor.assist.errors import ModelError
from editor.assist.relay import Send, error_frame, error_kind, relay
from editor.assist.router import route_tier
from editor.assist.tiers import Tier, tier_get
from editor.core.errors import FlintError
from editor.rooms.permissions import Action, can

log = logging.getLogger(__name__)

# Streams per user in this process (a person with two tabs shares one allowance).
_streams_by_user: Counter[int] = Counter()
_ROUTES_TTL_S = 10.0
_RECEIVED_KEPT = 256  # older completions' feedback is checked against their usage rows


class AssistSession:
    def __init__(self, *, room: Any, user: Any, who: dict[str, Any], send: Send, broadcast: Send):
        self.room = room
        self.user = user
        self.who = who
        self.send = send
        self.broadcast = broadcast
        self.allowed: bool | None = None
        self.routes: dict[str, str] = {}
        self.routes_at = 0.0
        self.routes_refresh: asyncio.Task | None = None
        self.tasks: dict[str, asyncio.Task] = {}
        self.slots: set[str] = set()  # requests counted under the per-user cap
        self.completion: tuple[str, asyncio.Task] | None = None
        # Completions this socket sent text of, newest last: feedback on them is theirs.
        self.received: OrderedDict[str, None] = OrderedDict()
        self.closed = False

    # --- entry points from the consumer ----------------------------------------------

    async def handle(self, content: dict[str, Any]) -> None:
        kind = content["type"]
        request_id = (
            content.get("request_id") if isinstance(content.get("request_id"), str) else None
        )
        try:
            if kind == "assist.history":  # reading the room's Q&A is for viewers too
                await self._history(content)
                return
            await self._authorize()
            if kind == "assist.complete":
                self._start_completion(protocol.parse_complete(content))
            elif kind == "assist.edit":
                job = features.edit_job(protocol.parse_edit(content), who=self.who)
                self._spawn(job.request_id, relay(self, job))
            elif kind == "assist.ask":
                job = features.ask_job(
                    protocol.parse_ask(content), who=self.who, room_id=self.room.pk,
                    user_id=self.user.pk,
                )  # fmt: skip
                self._spawn(job.request_id, relay(self, job))
            elif kind == "assist.cancel":
                self._cancel(protocol.request_id_of(content))
            elif kind == "assist.feedback":
                await self._feedback(content)
            else:
                raise ModelError(errors.INVALID, f"Unknown message type {kind!r}.")
        except (ModelError, FlintError) as exc:
            await self.send(error_frame(request_id, error_kind(exc), exc.message))

    def reauthorize(self) -> None:
        """The user's role changed: check again before the next request."""
        self.allowed = None

    async def close(self) -> None:
        self.closed = True
        tasks = list(self.tasks.values())
        if self.routes_refresh is not None:
            tasks.append(self.routes_refresh)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    # --- what the stream relay asks of the socket (relay.Socket) -------------------------

    async def tier_for(self, feature: str, requested: str | None) -> Tier:
        name = route_tier(feature=feature, room_routes=await self._routes(), requested=requested)
        return tier_get(name)

    def text_received(self, request_id: str) -> None:
        self.received[request_id] = None
        self.received.move_to_end(request_id)
        while len(self.received) > _RECEIVED_KEPT:
            self.received.popitem(last=False)

    def stream_stopped(self, request_id: str) -> None:
        """Give back the stream's place under the per-user cap (once)."""
        if request_id in self.slots:
            self.slots.discard(request_id)
            _streams_by_user[self.user.pk] -= 1
            if _streams_by_user[self.user.pk] <= 0:
                del _streams_by_user[self.user.pk]

    # --- requests ----------------------------------------------------------------------

    async def _authorize(self) -> None:
        if self.allowed is None:
            self.allowed = await database_sync_to_async(can)(self.user, Action.ROOM_EDIT, self.room)
        if not self.allowed:
            raise ModelError(
                errors.FORBIDDEN,
                "You can only view this room: ask a team owner to make you an editor.",
            )

    def _spawn(self, request_id: str, work: Coroutine[Any, Any, None]) -> asyncio.Task:
        if request_id in self.tasks:
            work.close()
            raise ModelError(errors.INVALID, "That request_id is already streaming.")
        cap = int(getattr(settings, "FLINT_ASSIST_MAX_STREAMS_PER_USER", 3))
        if _streams_by_user[self.user.pk] >= cap:
            work.close()
            raise ModelError(
                errors.BUSY,
                f"You already have {cap} answers streaming; wait for one or stop it.",
            )
        _streams_by_user[self.user.pk] += 1
        task = asyncio.create_task(work)
        self.tasks[request_id] = task
        self.slots.add(request_id)

        def finished(_: asyncio.Task) -> None:
            self.tasks.pop(request_id, None)
            self.stream_stopped(request_id)

        task.add_done_callback(finished)
        return task

    def _cancel(self, request_id: str) -> None:
        task = self.tasks.get(request_id)
        if task is not None:
            task.cancel()

    def _start_completion(self, request: protocol.CompleteRequest) -> None:
        # A newer completion from this socket makes the older one stale: stop it upstream.
        if self.completion is not None:
            self.completion[1].cancel()
        task = self._spawn(request.request_id, relay(self, features.completion_job(request)))
        self.completion = (request.request_id, task)

    async def _routes(self) -> dict[str, str]:
        """The room's routes: loaded once, then refreshed behind the request when stale.

        A database call on the way to the first token waits for asgiref's one shared
        sync thread, behind whatever else this process writes (usage rows, documents);
        under load that wait was the relay's worst time to first token. A route changed
        by an admin takes effect on a socket's next request after the refresh.
        """
        if self.routes_at == 0.0:
            await self._load_routes()
        elif time.monotonic() - self.routes_at > _ROUTES_TTL_S and (
            self.routes_refresh is None or self.routes_refresh.done()
        ):
            self.routes_refresh = asyncio.create_task(self._load_routes())
        return self.routes

    async def _load_routes(self) -> None:
        try:
            self.routes = await database_sync_to_async(selectors.room_routes_get)(
                room_id=self.room.pk
            )
        except Exception:
            if self.routes_at == 0.0:
                raise
            log.exception("could not refresh the routes of room %s", self.room.pk)
        self.routes_at = time.monotonic()

    # --- small requests ----------------------------------------------------------------

    async def _feedback(self, content: dict[str, Any]) -> None:
        request_id = protocol.request_id_of(content)
        event = content.get("event")
        # A Forbidden here (not this user's completion) is sent as kind "forbidden".
        await database_sync_to_async(services.completion_feedback_record)(
            user_id=self.user.pk, room_id=self.room.pk, request_id=request_id,
            event=event, received=request_id in self.received,
        )  # fmt: skip

    async def _history(self, content: dict[str, Any]) -> None:
        before = content.get("before_id")
        if before is not None and not isinstance(before, int):
            raise ModelError(errors.INVALID, "before_id must be a message id.")
        limit = int(getattr(settings, "FLINT_ASSIST_QA_HISTORY", 100))
        messages = await database_sync_to_async(selectors.qa_history_list)(
            room_id=self.room.pk, limit=limit, before_id=before
        )
        await self.send({"type": "assist.history", "messages": messages})

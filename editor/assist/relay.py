"""The hot path: `assist.*` requests from a room socket, streamed back as coalesced frames.

One AssistSession per room socket. The consumer hands it each `assist.*` message and
returns at once; every request runs in its own task so the socket keeps reading (a
cancel, a newer completion). Text from the model is gathered and sent at most once per
FLINT_ASSIST_FRAME_MS (the first piece at once, for time to first token), never one
frame per token. Completions go to the asking socket only; quick edits and Q&A answers
go to the whole room through the channel layer, with who asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from editor.assist import errors, gateway, protocol, retrieval, selectors, services
from editor.assist.errors import ModelError
from editor.assist.prompts import Prompt, completion_prompt, edit_prompt, qa_prompt
from editor.assist.router import route_tier
from editor.assist.sources import project_texts
from editor.core.errors import FlintError, Forbidden
from editor.rooms.permissions import Action, can
from editor.usage.quotas import Ticket, quota_admit, quota_release
from editor.usage.services import usage_record
from editor.usage.tokens import count_tokens

log = logging.getLogger(__name__)
Send = Callable[[dict[str, Any]], Awaitable[None]]

# Streams per user in this process (a person with two tabs shares one allowance).
_streams_by_user: Counter[int] = Counter()
_ROUTES_TTL_S = 10.0
QA_CONTEXT_FILES = 4
_RECEIVED_KEPT = 256  # older completions' feedback is checked against their usage rows


class FramePacer:
    """Turns the model's text into frames: the first piece at once, then one per interval.

    It runs in the task that reads the model's stream (gateway.PACER): just before that
    task reads the network again, `before_read` sends what has arrived if a frame is due
    and otherwise sleeps until one is, leaving the model's next writes in the kernel to
    be read at once when the frame is due. Text that came in meanwhile would have waited for that
    frame anyway, so no token is later than with a timer; the relay just wakes up once
    per frame instead of once per network write. The stream's last text goes out as soon
    as the stream ends (`flush`), which is what a quick edit waits for.

    The start frame is sent on the first read too: by then the request is on its way to
    the model, so telling the browser costs nothing on the way to the first token.
    """

    def __init__(
        self,
        emit: Callable[[str], Awaitable[None]],
        interval_s: float,
        start: Callable[[], Awaitable[None]],
    ) -> None:
        self.emit = emit
        self.interval = interval_s
        self._start: Callable[[], Awaitable[None]] | None = start
        self.parts: list[str] = []
        self.due = 0.0  # when the next frame may go
        self.error: BaseException | None = None

    def push(self, text: str) -> None:
        self.parts.append(text)

    async def started(self) -> None:
        """Send the start frame if it has not gone yet (before any delta, done or error)."""
        start, self._start = self._start, None
        if start is not None:
            await start()

    async def flush(self) -> None:
        await self.started()
        if self.parts:
            text = "".join(self.parts)
            self.parts.clear()
            self.due = time.monotonic() + self.interval
            await self.emit(text)

    async def before_read(self, *, backlog: bool) -> None:
        try:
            await self.started()
            if not self.parts:
                return  # nothing held back: the first token never waits
            if time.monotonic() >= self.due:
                await self.flush()
        except Exception as exc:
            self.error = exc  # the socket failed, not the model: the relay re-raises this
            raise
        if not backlog:  # a model faster than one read per frame is read flat out
            await asyncio.sleep(max(0.0, self.due - time.monotonic()))


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
                await self._start_completion(protocol.parse_complete(content))
            elif kind == "assist.edit":
                self._spawn(protocol.parse_edit(content).request_id, self._edit(content))
            elif kind == "assist.ask":
                self._spawn(protocol.parse_ask(content).request_id, self._ask(content))
            elif kind == "assist.cancel":
                self._cancel(protocol.request_id_of(content))
            elif kind == "assist.feedback":
                await self._feedback(content)
            else:
                raise ModelError(errors.INVALID, f"Unknown message type {kind!r}.")
        except ModelError as exc:
            await self.send(_error_frame(request_id, exc.kind, exc.message))
        except FlintError as exc:
            await self.send(_error_frame(request_id, errors.INVALID, exc.message))

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

    # --- requests ----------------------------------------------------------------------

    async def _authorize(self) -> None:
        if self.allowed is None:
            self.allowed = await database_sync_to_async(can)(self.user, Action.ROOM_EDIT, self.room)
        if not self.allowed:
            raise ModelError(
                errors.FORBIDDEN,
                "You can only view this room: ask a team owner to make you an editor.",
            )

    def _spawn(self, request_id: str, work: Any) -> asyncio.Task:
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
            self._release(request_id)

        task.add_done_callback(finished)
        return task

    def _release(self, request_id: str) -> None:
        """Give back the stream's place under the per-user cap (once).

        Done as soon as the stream has stopped, before its usage row is written: someone
        who stops an answer and asks again must not be told they have too many running.
        """
        if request_id in self.slots:
            self.slots.discard(request_id)
            _streams_by_user[self.user.pk] -= 1
            if _streams_by_user[self.user.pk] <= 0:
                del _streams_by_user[self.user.pk]

    def _received(self, request_id: str) -> None:
        self.received[request_id] = None
        self.received.move_to_end(request_id)
        while len(self.received) > _RECEIVED_KEPT:
            self.received.popitem(last=False)

    def _cancel(self, request_id: str) -> None:
        task = self.tasks.get(request_id)
        if task is not None:
            task.cancel()

    async def _start_completion(self, request: protocol.CompleteRequest) -> None:
        # A newer completion from this socket makes the older one stale: stop it upstream.
        if self.completion is not None:
            self.completion[1].cancel()
        task = self._spawn(request.request_id, self._complete(request))
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

    async def _tier(self, feature: str, requested: str | None) -> gateway.Tier:
        name = route_tier(feature=feature, room_routes=await self._routes(), requested=requested)
        return gateway.tier_get(name)

    async def _complete(self, request: protocol.CompleteRequest) -> None:
        async def run() -> tuple[gateway.Tier, Prompt]:
            tier = await self._tier("inline_completion", request.tier)
            prompt = completion_prompt(
                tier_name=tier.name,
                context_tokens=tier.context_tokens,
                path=request.path,
                prefix=request.prefix,
                suffix=request.suffix,
                snippets=request.snippets,
            )
            return tier, prompt

        await self._relay("inline_completion", request.request_id, run, self.send, {})

    async def _edit(self, content: dict[str, Any]) -> None:
        request = protocol.parse_edit(content)

        async def run() -> tuple[gateway.Tier, Prompt]:
            tier = await self._tier("quick_edit", request.tier)
            prompt = edit_prompt(
                tier_name=tier.name,
                context_tokens=tier.context_tokens,
                path=request.path,
                selection=request.selection,
                instruction=request.instruction,
                before=request.before,
                after=request.after,
            )
            return tier, prompt

        extra = {
            "who": self.who,
            "path": request.path,
            "instruction": request.instruction,
            "selection": request.selection,
            "anchor": request.anchor,
        }
        await self._relay("quick_edit", request.request_id, run, self.broadcast, extra)

    async def _ask(self, content: dict[str, Any]) -> None:
        request = protocol.parse_ask(content)

        async def run() -> tuple[gateway.Tier, Prompt]:
            tier = await self._tier("qa", request.tier)
            files, history = await database_sync_to_async(self._qa_context)(request)
            prompt = qa_prompt(
                tier_name=tier.name,
                context_tokens=tier.context_tokens,
                question=request.question,
                path=request.path,
                open_text=request.open_text,
                selection=request.selection,
                files=files,
                history=history,
            )
            return tier, prompt

        extra = {"who": self.who, "path": request.path, "question": request.question}

        def persist(text: str, tier: str, model: str, status: str) -> None:
            services.qa_answer_add(
                room_id=self.room.pk,
                author_id=self.user.pk,
                request_id=request.request_id,
                text=text,
                tier=tier,
                model=model,
                status=status,
            )

        await self._relay("qa", request.request_id, run, self.broadcast, extra, persist)

    def _qa_context(
        self, request: protocol.AskRequest
    ) -> tuple[list[tuple[str, str]], list[dict[str, str]]]:
        history = selectors.qa_turns_for_prompt(room_id=self.room.pk)
        services.qa_question_add(
            room_id=self.room.pk,
            author_id=self.user.pk,
            request_id=request.request_id,
            text=request.question,
            path=request.path,
        )
        texts = project_texts(self.room.pk)
        texts.pop(request.path, None)  # the open file is sent as the user sees it
        ranked = retrieval.rank(
            request.question + " " + request.selection, texts, limit=QA_CONTEXT_FILES
        )
        return [(path, texts[path]) for path, _ in ranked], history

    # --- the relay itself ----------------------------------------------------------------

    async def _relay(
        self,
        feature: str,
        request_id: str,
        prepare: Callable[[], Awaitable[tuple[gateway.Tier, Prompt]]],
        out: Send,
        extra: dict[str, Any],
        persist: Callable[[str, str, str, str], None] | None = None,
    ) -> None:
        started = time.perf_counter()
        stream: gateway.ChatStream | None = None
        pacer: FramePacer | None = None
        status = "ok"
        error: ModelError | None = None
        prompt: Prompt | None = None
        ticket = None
        try:
            try:
                tier, prompt = await prepare()
                ticket = await quota_admit(  # limits and budgets: refused = kind "quota"
                    user_id=self.user.pk, team_id=self.room.team_id, room_id=self.room.pk,
                    tier=tier.name, model=tier.model, feature=feature, request_id=request_id,
                    reserve_tokens=prompt.prompt_tokens + prompt.max_tokens,
                )  # fmt: skip
            except ModelError as exc:
                # Nothing was streamed yet: only the person who asked needs to know.
                await self.send(_error_frame(request_id, exc.kind, exc.message, feature=feature))
                return
            start_frame = {
                "type": "assist.start",
                "request_id": request_id,
                "feature": feature,
                **tier.public(),
                "demo": bool(getattr(settings, "FLINT_DEMO_MODE", False)),
                "trimmed": prompt.trimmed,
                "trim_notes": prompt.notes,
                **extra,
            }

            async def emit(text: str) -> None:
                if feature == "inline_completion":
                    self._received(request_id)
                await out({"type": "assist.delta", "request_id": request_id, "text": text})

            interval = int(getattr(settings, "FLINT_ASSIST_FRAME_MS", 15)) / 1000
            pacer = FramePacer(emit, interval, lambda: out(start_frame))
            stream = gateway.chat_stream(
                tier=tier, messages=prompt.messages, max_tokens=prompt.max_tokens
            )
            token = gateway.PACER.set(pacer)  # this task's reads of the model are paced
            try:
                async for text in stream:
                    pacer.push(text)
            except ModelError as exc:
                if pacer.error is not None:
                    raise pacer.error from exc  # our socket broke, not the model
                error, status = exc, "error"
            finally:
                gateway.PACER.reset(token)
            await pacer.flush()
            if error is not None:
                await out(
                    _error_frame(
                        request_id,
                        error.kind,
                        error.message,
                        partial=bool(stream.text),
                        text=stream.text,
                        feature=feature,
                    )
                )
            else:
                await out(self._done_frame(request_id, feature, stream, prompt, extra))
        except asyncio.CancelledError:
            status = "cancelled"
            if not self.closed:
                with contextlib.suppress(Exception):
                    if pacer is not None:
                        await pacer.started()
                    await out(
                        {
                            "type": "assist.done",
                            "request_id": request_id,
                            "status": "cancelled",
                            "text": stream.text if stream is not None else "",
                        }
                    )
            raise
        finally:
            self._release(request_id)
            # One shielded step for both: a disconnect that cancels this task while the
            # budget is being settled must not skip the usage row (it did: the row of an
            # answer whose asker left right after `assist.done` was never written).
            await asyncio.shield(
                self._settle(ticket, feature, request_id, stream, prompt, status, error, persist)
            )
            log.debug(
                "%s %s took %.1f ms", feature, request_id, (time.perf_counter() - started) * 1000
            )

    def _done_frame(
        self,
        request_id: str,
        feature: str,
        stream: gateway.ChatStream,
        prompt: Prompt,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        prompt_tokens, completion_tokens, estimated = _token_counts(stream, prompt)
        frame = {
            "type": "assist.done",
            "request_id": request_id,
            "status": "ok",
            "tier": stream.tier.name,
            "model": stream.model,
            "finish_reason": stream.finish_reason,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "estimated": estimated,
            },
            "ttft_ms": _round(stream.ttft_ms),
            "duration_ms": _round(stream.duration_ms),
        }
        if feature != "inline_completion":
            frame["text"] = stream.text  # late joiners and reconnects reconcile against it
        return frame

    async def _settle(
        self,
        ticket: Ticket | None,
        feature: str,
        request_id: str,
        stream: gateway.ChatStream | None,
        prompt: Prompt | None,
        status: str,
        error: ModelError | None,
        persist: Callable[[str, str, str, str], None] | None,
    ) -> None:
        # The budget is settled before the usage row is written, so whoever sees the
        # row also sees the team's counter charged what the answer really used.
        await quota_release(ticket, used_tokens=_used(stream, prompt))
        if stream is not None and prompt is not None:
            # Recorded even when cancelled: the tokens were spent.
            await self._record(feature, request_id, stream, prompt, status, error, persist)

    async def _record(
        self,
        feature: str,
        request_id: str,
        stream: gateway.ChatStream,
        prompt: Prompt,
        status: str,
        error: ModelError | None,
        persist: Callable[[str, str, str, str], None] | None,
    ) -> None:
        prompt_tokens, completion_tokens, estimated = _token_counts(stream, prompt)
        answer_status = error.kind if error is not None else status

        def write() -> None:
            usage_record(
                user=self.user.pk,
                team_id=self.room.team_id,
                room_id=self.room.pk,
                tier=stream.tier.name,
                model=stream.model or stream.tier.model,
                feature=feature,
                status=status,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                tokens_estimated=estimated,
                ttft_ms=stream.ttft_ms,
                duration_ms=stream.duration_ms,
                request_id=request_id,
                error_kind=error.kind if error else "",
                error_message=error.message if error else "",
            )
            if persist is not None:
                persist(
                    stream.text, stream.tier.name, stream.model or stream.tier.model, answer_status
                )

        try:
            await database_sync_to_async(write)()
        except Exception:
            log.exception("could not record usage of %s %s", feature, request_id)

    # --- small requests ----------------------------------------------------------------

    async def _feedback(self, content: dict[str, Any]) -> None:
        request_id = protocol.request_id_of(content)
        event = content.get("event")
        try:
            await database_sync_to_async(services.completion_feedback_record)(
                user_id=self.user.pk, room_id=self.room.pk, request_id=request_id,
                event=event, received=request_id in self.received,
            )  # fmt: skip
        except Forbidden as exc:
            raise ModelError(errors.FORBIDDEN, exc.message) from None

    async def _history(self, content: dict[str, Any]) -> None:
        before = content.get("before_id")
        if before is not None and not isinstance(before, int):
            raise ModelError(errors.INVALID, "before_id must be a message id.")
        limit = int(getattr(settings, "FLINT_ASSIST_QA_HISTORY", 100))
        messages = await database_sync_to_async(selectors.qa_history_list)(
            room_id=self.room.pk, limit=limit, before_id=before
        )
        await self.send({"type": "assist.history", "messages": messages})


def _token_counts(stream: gateway.ChatStream, prompt: Prompt) -> tuple[int, int, bool]:
    usage = stream.usage
    if usage and "completion_tokens" in usage:
        return int(usage.get("prompt_tokens") or 0), int(usage["completion_tokens"]), False
    return prompt.prompt_tokens, count_tokens(stream.text), True


def _used(stream: gateway.ChatStream | None, prompt: Prompt | None) -> int:
    return sum(_token_counts(stream, prompt)[:2]) if stream and prompt else 0


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _error_frame(request_id: str | None, kind: str, message: str, **fields: Any) -> dict[str, Any]:
    frame = {"type": "assist.error", "request_id": request_id, "kind": kind, "message": message}
    frame.update(fields)
    frame.setdefault("partial", False)
    return frame

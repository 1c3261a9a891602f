"""The stream relay: one job's answer from the model to the room socket, as coalesced frames.

Text is gathered and sent at most once per FLINT_ASSIST_FRAME_MS (the first piece at
once, for time to first token), never one frame per token (transport.FramePacer). The
call itself takes the metered path (editor/assist/metered.py): admitted by the quotas
before anything is sent, settled (quota released, usage row written) however it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings

from editor.assist import errors, gateway
from editor.assist.errors import ModelError
from editor.assist.features import Job
from editor.assist.metered import Meter, MeteredStream
from editor.assist.tiers import Tier
from editor.assist.transport import FramePacer
from editor.core.errors import FlintError

log = logging.getLogger(__name__)
SHOWS_THINKING = {"qa"}
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Socket(Protocol):
    """What the relay needs of the room socket's session (dispatch.AssistSession)."""

    user: Any
    room: Any
    send: Send  # to the asking socket
    broadcast: Send  # to the whole room
    closed: bool

    async def tier_for(self, feature: str, requested: str | None) -> Tier: ...

    def text_received(self, request_id: str) -> None: ...

    def stream_stopped(self, request_id: str) -> None: ...


def error_frame(request_id: str | None, kind: str, message: str, **fields: Any) -> dict[str, Any]:
    frame = {"type": "assist.error", "request_id": request_id, "kind": kind, "message": message}
    frame.update(fields)
    frame.setdefault("partial", False)
    return frame


def error_kind(exc: ModelError | FlintError) -> str:
    """The `kind` of an error frame: a model failure's own, or a Flint error's code when
    the browser knows it (a quota refusal is "quota"), else invalid."""
    if isinstance(exc, ModelError):
        return exc.kind
    return exc.code if exc.code in errors.KINDS else errors.INVALID


async def relay(socket: Socket, job: Job) -> None:
    started = time.perf_counter()
    feature, request_id = job.feature, job.request_id
    out = socket.broadcast if job.to_room else socket.send
    call: MeteredStream | None = None
    pacer: FramePacer | None = None
    status = "ok"
    error: ModelError | None = None
    tier: Tier | None = None
    asked = False  # the prompt is built: a Q&A question is in the history by now
    try:
        try:
            tier = await socket.tier_for(feature, job.requested_tier)
            prompt = await job.prompt(tier)
            asked = True
            meter = Meter(
                feature=feature, user_id=socket.user.pk, team_id=socket.room.team_id,
                room_id=socket.room.pk, request_id=request_id,
            )  # fmt: skip
            request = gateway.ModelRequest(messages=prompt.messages, max_tokens=prompt.max_tokens)
            call = MeteredStream(meter=meter, tier=tier, request=request)
            await call.admit()  # limits and budgets: refused = kind "quota"
        except (ModelError, FlintError) as exc:
            # Nothing was streamed yet: only the person who asked needs to know.
            frame = error_frame(request_id, error_kind(exc), exc.message, feature=feature)
            await socket.send(frame)
            if asked and job.keep is not None:
                # The history shows the refusal the asker saw, not a question left unanswered.
                try:
                    await database_sync_to_async(job.keep)(
                        "", tier.name if tier else "", "", error_kind(exc), exc.message
                    )
                except Exception:
                    log.exception("could not keep the refusal of %s", request_id)
            return
        start_frame = {
            "type": "assist.start",
            "request_id": request_id,
            "feature": feature,
            **tier.public(),
            "demo": bool(getattr(settings, "FLINT_DEMO_MODE", False)),
            "trimmed": prompt.trimmed,
            "trim_notes": prompt.notes,
            **job.extra,
        }

        async def emit(text: str) -> None:
            if feature == "inline_completion":
                socket.text_received(request_id)
            await out({"type": "assist.delta", "request_id": request_id, "text": text})

        interval = int(getattr(settings, "FLINT_ASSIST_FRAME_MS", 15)) / 1000
        pacer = FramePacer(emit, interval, lambda: out(start_frame))
        if feature in SHOWS_THINKING:
            # Reasoning summaries (the Responses wire's) show as a "thinking" line that
            # the answer replaces; never the raw reasoning, never in the editor.
            async def think(text: str) -> None:
                await out({"type": "assist.thinking", "request_id": request_id, "text": text})

            pacer.think = think
            call.stream.on_reasoning = pacer.push_thought
        token = gateway.PACER.set(pacer)  # this task's reads of the model are paced
        try:
            async for text in call:
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
                error_frame(request_id, error.kind, error.message, partial=bool(call.text),
                            text=call.text, feature=feature)
            )  # fmt: skip
        else:
            await out(_done_frame(call, feature, request_id))
    except asyncio.CancelledError:
        status = "cancelled"
        if not socket.closed:
            with contextlib.suppress(Exception):
                if pacer is not None:
                    await pacer.started()
                await out(
                    {
                        "type": "assist.done",
                        "request_id": request_id,
                        "status": "cancelled",
                        "text": call.text if call is not None else "",
                    }
                )
        raise
    finally:
        # The stream's place under the per-user cap goes back before its row is written:
        # someone who stops an answer and asks again must not be told too many run.
        socket.stream_stopped(request_id)
        if call is not None:
            kept = _keeper(job, call, status, error)
            await call.settle(status=status, error=error, alongside=kept)
        log.debug("%s %s took %.1f ms", feature, request_id, (time.perf_counter() - started) * 1000)


def _keeper(
    job: Job, call: MeteredStream, status: str, error: ModelError | None
) -> Callable[[], None] | None:
    """What the job keeps of its answer, saved with the usage row (a Q&A answer)."""
    keep = job.keep
    if keep is None:
        return None
    stream = call.stream
    answer_status = error.kind if error is not None else status
    message = error.message if error is not None else ""

    def run() -> None:
        model = stream.model or stream.tier.model
        keep(stream.text, stream.tier.name, model, answer_status, message)

    return run


def _done_frame(call: MeteredStream, feature: str, request_id: str) -> dict[str, Any]:
    tokens = call.tokens()
    stream = call.stream
    frame = {
        "type": "assist.done",
        "request_id": request_id,
        "status": "ok",
        "tier": stream.tier.name,
        "model": stream.model,
        "finish_reason": stream.finish_reason,
        "usage": {
            "prompt_tokens": tokens.prompt,
            "completion_tokens": tokens.completion,
            "estimated": tokens.estimated,
        },
        "ttft_ms": _round(stream.ttft_ms),
        "duration_ms": _round(stream.duration_ms),
    }
    if feature != "inline_completion":
        frame["text"] = stream.text  # late joiners and reconnects reconcile against it
    return frame


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)

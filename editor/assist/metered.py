"""The metered path: every model call goes through one sequence.

    admit   the usage quotas (editor/usage/quotas.py): the user's rate and concurrent
            streams, the team's monthly budget, a deep task's own budget; a refusal is
            recorded as a "refused" usage row and raised as QuotaExceeded
    call    through the gateway (editor/assist/gateway.py), whatever the tier's wire
    release the reservation becomes what the call used
    record  one usage row (editor/usage/services.py)

The relay's completions, quick edits and answers (`MeteredStream`), the deep runner's
steps and the review tier (`complete_sync`) all take it. Tokens are counted one way:
the server's reported usage when it sends one, else Flint's estimate
(editor/usage/tokens.py) of the request as sent and of the text that came back.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from channels.db import database_sync_to_async

from editor.assist import gateway
from editor.assist.errors import ModelError
from editor.assist.gateway import ChatResult, ChatStream, ModelRequest, Tier
from editor.usage.quotas import (
    QuotaExceeded,
    Ticket,
    quota_admit,
    quota_admit_sync,
    quota_release,
    quota_release_sync,
    quota_task_budget,
)
from editor.usage.services import usage_record
from editor.usage.tokens import count_request_tokens, count_tokens

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Meter:
    """Whom a call is charged to and what it is for: the quotas and the usage row read it.

    `task_budget`: the call counts against task `task_id`'s own budget (a deep task's
    steps); a review of a task's changes carries the task id on its row only.
    """

    feature: str
    user_id: int | None
    team_id: int | None
    room_id: int | None = None
    task_id: int | None = None
    request_id: str = ""
    task_budget: bool = True


@dataclass(frozen=True)
class Tokens:
    prompt: int
    completion: int
    estimated: bool
    cached: int = 0  # of `prompt`: read from the server's prompt cache
    reasoning: int = 0  # of `completion`: the model's hidden reasoning

    @property
    def total(self) -> int:
        return self.prompt + self.completion


NOTHING = Tokens(0, 0, False)  # a whole answer that failed: nothing came back to count


def request_tokens(request: ModelRequest) -> int:
    """The estimate of what a request costs to read (its reservation's first part)."""
    return count_request_tokens(request.messages, request.tools)


def tokens_used(usage: dict[str, Any] | None, *, prompt_estimate: int, text: str) -> Tokens:
    """The server's counts when it reported them, else the estimates."""
    if usage and "completion_tokens" in usage:
        return Tokens(
            int(usage.get("prompt_tokens") or 0),
            int(usage["completion_tokens"]),
            False,
            cached=int(usage.get("cached_tokens") or 0),
            reasoning=int(usage.get("reasoning_tokens") or 0),
        )
    return Tokens(prompt_estimate, count_tokens(text), True)


def _admission(meter: Meter, tier: Tier, reserve: int) -> dict[str, Any]:
    return {
        "user_id": meter.user_id,
        "team_id": meter.team_id,
        "room_id": meter.room_id,
        "task_id": meter.task_id if meter.task_budget else None,
        "tier": tier.name,
        "model": tier.model,
        "feature": meter.feature,
        "request_id": meter.request_id,
        "reserve_tokens": reserve,
    }


def _row(
    meter: Meter,
    tier: Tier,
    *,
    model: str,
    tokens: Tokens,
    status: str,
    error: ModelError | None,
    duration_ms: float,
    ttft_ms: float | None = None,
) -> None:
    usage_record(
        user=meter.user_id,
        team_id=meter.team_id,
        room_id=meter.room_id,
        task_id=meter.task_id,
        tier=tier.name,
        model=model or tier.model,
        feature=meter.feature,
        status=status,
        prompt_tokens=tokens.prompt,
        completion_tokens=tokens.completion,
        cached_tokens=tokens.cached,
        reasoning_tokens=tokens.reasoning,
        tokens_estimated=tokens.estimated,
        ttft_ms=ttft_ms,
        duration_ms=duration_ms,
        request_id=meter.request_id,
        error_kind=error.kind if error else "",
        error_message=error.message if error else "",
    )


# --- whole answers, on a worker: the deep runner's steps, the review tier ----------------


@dataclass
class Metered:
    result: ChatResult
    tokens: Tokens


def _admit_sync(
    meter: Meter, tier: Tier, request: ModelRequest, prompt_estimate: int
) -> tuple[ModelRequest, Ticket]:
    if meter.task_id is not None and meter.task_budget and request.max_tokens is not None:
        # A task's output is capped to what its budget has left.
        try:
            remaining = quota_task_budget(task_id=meter.task_id, team_id=meter.team_id).remaining
        except QuotaExceeded:
            remaining = 0  # spent: the admission below refuses it and records the refusal
        if remaining is not None:
            most = max(1, min(request.max_tokens, remaining - prompt_estimate))
            request = dataclasses.replace(request, max_tokens=most)
    reserve = prompt_estimate + (request.max_tokens or 0)
    return request, quota_admit_sync(**_admission(meter, tier, reserve))


def _interrupted(error: ModelError) -> bool:
    """The call was cut short by the worker itself: a deep task's monitor interrupts an
    in-flight call on a stop with the pool's soft-time-limit signal, which the gateway
    then wraps like any failure."""
    cause, seen = error.__cause__, set()
    while cause is not None and id(cause) not in seen:  # a context chain can loop
        if isinstance(cause, SoftTimeLimitExceeded):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def complete_sync(
    *,
    meter: Meter | None,
    tier: Tier,
    request: ModelRequest,
    around: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
) -> Metered:
    """One whole answer on the metered path; raises QuotaExceeded or ModelError.

    `meter` None: nobody to charge (the agent loop run alone, in tests); the call is
    made and counted but neither admitted nor recorded. `around` wraps the call itself
    (the runner's monitor, which may interrupt it).
    """
    prompt_estimate = request_tokens(request)
    ticket: Ticket | None = None
    if meter is not None:
        request, ticket = _admit_sync(meter, tier, request, prompt_estimate)
    started = time.perf_counter()
    try:
        with around():
            result = gateway.complete_sync(tier, request)
    except ModelError as error:
        quota_release_sync(ticket, used_tokens=0)
        if meter is not None:
            ms = (time.perf_counter() - started) * 1000
            if _interrupted(error):  # a stop (or the worker's time limit), not the model
                _row(meter, tier, model=tier.model, tokens=NOTHING, status="cancelled",
                     error=None, duration_ms=ms)  # fmt: skip
            else:
                _row(meter, tier, model=tier.model, tokens=NOTHING, status="error", error=error,
                     duration_ms=ms)  # fmt: skip
        raise
    except BaseException:  # interrupted outside the gateway: free the reservation
        quota_release_sync(ticket, used_tokens=0)
        raise
    tokens = tokens_used(result.usage, prompt_estimate=prompt_estimate, text=result.text)
    # Settled before the row is written: whoever sees the row sees the counters charged.
    quota_release_sync(ticket, used_tokens=tokens.total)
    if meter is not None:
        _row(meter, tier, model=result.model, tokens=tokens, status="ok", error=None,
             duration_ms=result.duration_ms)  # fmt: skip
    return Metered(result, tokens)


class CallCancelled(Exception):
    """A streamed call on a worker was ended because its task was stopped."""


def stream_sync(
    *,
    meter: Meter | None,
    tier: Tier,
    request: ModelRequest,
    runner: asyncio.Runner,
    on_text: Callable[[str], None],
    cancelled: Callable[[], bool] = lambda: False,
) -> Metered:
    """`complete_sync`, streamed, for a worker that shows the answer as it arrives.

    Runs the gateway's stream on `runner`'s event loop (one per deep task, so the SDK's
    connection pool is reused between steps); `on_text` gets each piece. A stop
    (`cancelled()`, polled every 0.1 s) cancels the stream at once: CallCancelled. Tokens
    are counted like a relay stream (the server's usage, else the estimate of what came).
    """
    prompt_estimate = request_tokens(request)
    ticket: Ticket | None = None
    if meter is not None:
        request, ticket = _admit_sync(meter, tier, request, prompt_estimate)
    stream = gateway.open_stream(tier, request)

    async def consume() -> None:
        consumer = asyncio.current_task()

        async def watch() -> None:
            while not cancelled():
                await asyncio.sleep(0.1)
            consumer.cancel()

        watcher = asyncio.create_task(watch())
        try:
            async for text in stream:
                on_text(text)
        finally:
            watcher.cancel()

    def spent() -> Tokens:
        return tokens_used(stream.usage, prompt_estimate=prompt_estimate, text=stream.text)

    def record(status: str, error: ModelError | None) -> None:
        tokens = spent()
        quota_release_sync(ticket, used_tokens=tokens.total)
        if meter is not None:
            _row(meter, tier, model=stream.model, tokens=tokens, status=status, error=error,
                 duration_ms=stream.duration_ms, ttft_ms=stream.ttft_ms)  # fmt: skip

    try:
        runner.run(consume())
    except ModelError as error:
        record("error", error)
        raise
    except asyncio.CancelledError:
        record("cancelled", None)
        raise CallCancelled from None
    except BaseException:  # interrupted (the soft time limit): free the reservation
        quota_release_sync(ticket, used_tokens=spent().total)
        raise
    record("ok", None)
    # The wire's own items (Responses output, encrypted reasoning) ride along, as on the
    # whole-answer path, so the next turn can send them back (or only the new ones).
    message: dict[str, Any] = {
        **stream.message, "role": "assistant", "content": stream.text or None
    }  # fmt: skip
    if stream.tool_calls:
        message["tool_calls"] = stream.tool_calls
    result = ChatResult(
        tier=tier.name,
        model=stream.model,
        text=stream.text,
        tool_calls=stream.tool_calls,
        finish_reason=stream.finish_reason,
        usage=stream.usage,
        duration_ms=stream.duration_ms,
        attempts=stream.attempts,
        message=message,
        reasoning=stream.reasoning,
    )
    return Metered(result, spent())


# --- streams, on the event loop: the relay ----------------------------------------------


class MeteredStream:
    """One streamed answer on the metered path: `admit`, iterate for text, `settle`.

    Settling releases the quota and writes the usage row even when the stream failed
    or was cancelled (the tokens were spent); it is shielded, so a disconnect that
    cancels the caller meanwhile cannot skip the row.
    """

    def __init__(self, *, meter: Meter, tier: Tier, request: ModelRequest) -> None:
        self.meter = meter
        self.tier = tier
        self.request = request
        self.prompt_estimate = request_tokens(request)
        self.stream: ChatStream = gateway.open_stream(tier, request)
        self.ticket: Ticket | None = None

    async def admit(self) -> None:
        reserve = self.prompt_estimate + (self.request.max_tokens or 0)
        self.ticket = await quota_admit(**_admission(self.meter, self.tier, reserve))

    def __aiter__(self):
        return self.stream.__aiter__()

    @property
    def text(self) -> str:
        return self.stream.text

    def tokens(self) -> Tokens:
        stream = self.stream
        return tokens_used(stream.usage, prompt_estimate=self.prompt_estimate, text=stream.text)

    async def settle(
        self,
        *,
        status: str,
        error: ModelError | None = None,
        alongside: Callable[[], None] | None = None,
    ) -> None:
        """Release, then record; `alongside` runs in the row's database call (a Q&A
        answer saved with its usage). Nothing to settle if it was never admitted."""
        if self.ticket is not None:
            await asyncio.shield(self._settle(status, error, alongside))

    async def _settle(
        self, status: str, error: ModelError | None, alongside: Callable[[], None] | None
    ) -> None:
        tokens = self.tokens()
        await quota_release(self.ticket, used_tokens=tokens.total)
        stream = self.stream

        def write() -> None:
            _row(self.meter, self.tier, model=stream.model, tokens=tokens, status=status,
                 error=error, duration_ms=stream.duration_ms, ttft_ms=stream.ttft_ms)  # fmt: skip
            if alongside is not None:
                alongside()

        try:
            await database_sync_to_async(write)()
        except Exception:
            log.exception("could not record usage of %s %s", self.meter.feature,
                          self.meter.request_id)  # fmt: skip

"""The model gateway: every call from Flint to a model goes through here.

Callers name a tier (editor/assist/tiers.py) and a `ModelRequest`; the gateway picks the
tier's wire (editor/assist/wire.py: Chat Completions or the Responses API) and owns what every wire
shares: retries, timing, the text a user has seen. Usage and quotas are not here: the
metered path (editor/assist/metered.py) wraps these calls for every feature.

Retries (429, 5xx, connection errors, a stream that breaks before saying anything)
happen only before the first output: once a user has seen part of an answer, a retry
would show them a different one. The SDK's own retries are off so that this rule holds.
Cancelling the task that reads a stream closes the upstream response at once, so a
stopped answer stops costing tokens. API keys live only in settings and in the clients
(editor/assist/transport.py); nothing here is sent to a browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from editor.assist import errors
from editor.assist.errors import ModelError, classify, tier_label
from editor.assist.tiers import TIERS, Tier, tier_get
from editor.assist.transport import PACER, Pacer
from editor.assist.wire import ModelRequest, Reply, Wire
from editor.assist.wire_chat import ChatWire
from editor.assist.wire_responses import ResponsesWire

__all__ = [
    "PACER", "TIERS", "WIRES", "ChatResult", "ChatStream", "ModelRequest", "Pacer", "Tier",
    "chat", "chat_stream", "chat_sync", "complete", "complete_sync", "open_stream", "tier_get",
]  # fmt: skip

# The wires a tier may name (FLINT_MODEL_TIERS[tier]["wire"]).
WIRES: dict[str, Wire] = {"chat": ChatWire(), "responses": ResponsesWire()}


def wire_for(tier: Tier) -> Wire:
    wire = WIRES.get(tier.wire)
    if wire is None:
        raise ModelError(
            errors.MODEL_DOWN,
            f"The {tier_label(tier.name)} is set to use the {tier.wire!r} wire, which this "
            "server does not have; ask an administrator.",
        )
    return wire


class _Retries:
    """The one retry decision of every call, streamed or whole, async or sync."""

    def __init__(self, tier: Tier) -> None:
        self.tier = tier
        self.attempts = 0
        self.limit = int(getattr(settings, "FLINT_MODEL_RETRIES", 2))

    def begin(self) -> int:
        self.attempts += 1
        return self.attempts

    def wait_after(self, exc: Exception, *, partial: bool = False) -> float:
        """Seconds to wait before the next attempt, or raise the ModelError `exc` means."""
        error = classify(exc, tier=self.tier, partial=partial)
        wait = _backoff(self.attempts - 1, error) if error.retryable and not partial else None
        if wait is None or self.attempts > self.limit:
            error.retryable = False
            raise error from exc
        return wait


def _backoff(attempt: int, error: ModelError) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None when waiting is not worth it."""
    cap = float(getattr(settings, "FLINT_MODEL_RETRY_AFTER_MAX_S", 2.0))
    if error.retry_after is not None:
        return error.retry_after if error.retry_after <= cap else None
    return min(cap, 0.1 * (2**attempt)) * (0.5 + random.random() / 2)  # noqa: S311


# --- streaming -------------------------------------------------------------------------


@dataclass
class ChatStream:
    """One streamed answer: iterate for text; the rest is filled in as it goes.

    `async for text in stream` yields text as it arrives (several tokens per item when
    the network delivered several at once). Errors surface as ModelError, with `partial`
    telling whether any output came before.
    """

    tier: Tier
    request: ModelRequest
    text_parts: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    model: str = ""
    started: float = 0.0
    first_token_at: float | None = None
    ended: float | None = None
    attempts: int = 0
    reasoning: str = ""
    # Told each piece of the reasoning summary as it arrives (the Q&A "thinking" line).
    on_reasoning: Callable[[str], None] | None = None
    # The wire's own state for the next turn (e.g. the Responses output items).
    message: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    @property
    def ttft_ms(self) -> float | None:
        if self.first_token_at is None:
            return None
        return (self.first_token_at - self.started) * 1000

    @property
    def duration_ms(self) -> float:
        end = self.ended if self.ended is not None else time.perf_counter()
        return (end - self.started) * 1000

    async def __aiter__(self) -> AsyncIterator[str]:
        self.model = self.tier.model
        self.started = time.perf_counter()
        retries = _Retries(self.tier)
        try:
            while True:
                self.attempts = retries.begin()
                reply = Reply(on_reasoning=self.on_reasoning)
                said = False
                try:
                    pieces = wire_for(self.tier).stream(self.tier, self.request, reply)
                    async with contextlib.aclosing(pieces):
                        async for text in pieces:
                            if self.first_token_at is None:
                                self.first_token_at = time.perf_counter()
                            said = True
                            self.text_parts.append(text)
                            yield text
                    self._finish(reply)
                    return
                except Exception as exc:
                    partial = said or bool(reply.tool_calls)
                    await asyncio.sleep(retries.wait_after(exc, partial=partial))
        finally:
            self.ended = time.perf_counter()

    def _finish(self, reply: Reply) -> None:
        self.usage = reply.usage
        self.finish_reason = reply.finish_reason
        self.tool_calls = reply.tool_calls
        self.model = reply.model or self.tier.model
        self.reasoning = reply.reasoning
        self.message = reply.message


def open_stream(tier: Tier, request: ModelRequest) -> ChatStream:
    """A stream of `request`'s answer; nothing is sent until it is iterated."""
    return ChatStream(tier=tier, request=request)


# --- whole answers (tool-calling agents, review) ---------------------------------------


@dataclass
class ChatResult:
    tier: str
    model: str
    text: str
    tool_calls: list[dict[str, Any]]
    finish_reason: str | None
    usage: dict[str, Any] | None
    duration_ms: float
    attempts: int
    message: dict[str, Any]
    reasoning: str = ""


def _result(tier: Tier, reply: Reply, started: float, attempts: int) -> ChatResult:
    return ChatResult(
        tier=tier.name,
        model=reply.model or tier.model,
        text=reply.text,
        tool_calls=reply.tool_calls,
        finish_reason=reply.finish_reason,
        usage=reply.usage,
        duration_ms=(time.perf_counter() - started) * 1000,
        attempts=attempts,
        message=reply.message,
        reasoning=reply.reasoning,
    )


async def complete(tier: Tier, request: ModelRequest) -> ChatResult:
    """One non-streamed answer (tool calls included), retried as a whole."""
    started, retries = time.perf_counter(), _Retries(tier)
    while True:
        attempt = retries.begin()
        try:
            return _result(tier, await wire_for(tier).complete(tier, request), started, attempt)
        except Exception as exc:
            await asyncio.sleep(retries.wait_after(exc))


def complete_sync(tier: Tier, request: ModelRequest) -> ChatResult:
    """`complete` for Celery workers (no event loop)."""
    started, retries = time.perf_counter(), _Retries(tier)
    while True:
        attempt = retries.begin()
        try:
            return _result(tier, wire_for(tier).complete_sync(tier, request), started, attempt)
        except Exception as exc:
            time.sleep(retries.wait_after(exc))


# --- keyword forms of the same calls ----------------------------------------------------


def chat_stream(*, tier: Tier, messages: list[dict[str, Any]], **options: Any) -> ChatStream:
    """open_stream(tier, ModelRequest(messages, max_tokens=…, tools=…, temperature=…))."""
    return open_stream(tier, ModelRequest(messages=messages, **options))


async def chat(*, tier: Tier, messages: list[dict[str, Any]], **options: Any) -> ChatResult:
    return await complete(tier, ModelRequest(messages=messages, **options))


def chat_sync(*, tier: Tier, messages: list[dict[str, Any]], **options: Any) -> ChatResult:
    return complete_sync(tier, ModelRequest(messages=messages, **options))

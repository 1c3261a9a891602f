"""The model gateway: every call from Flint to a model goes through here.

One OpenAI-compatible endpoint per tier (fast / deep / review) from settings. The web
process streams with `AsyncOpenAI`; Celery workers call `chat_sync` with `OpenAI`.
The hot path reads raw SSE through `with_streaming_response` and parses it with jiter
(editor/assist/sse.py). Retries (429, 5xx, connection errors, a stream that breaks
before saying anything) happen only before the first token: once a user has seen part
of an answer, a retry would show them a different one. The SDK's own retries are off so
that this rule holds. Cancelling the task that reads a stream closes the upstream HTTP
response at once (the `async with` below), so a stopped answer stops costing tokens.
API keys live only in settings and in these clients; nothing here is sent to a browser.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import ssl
import time
import weakref
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpcore2
import httpx2
import jiter
import openai
from django.conf import settings
from httpcore2._backends.auto import AutoBackend  # the pool's own default, wrapped below

from editor.assist import errors
from editor.assist.errors import ModelError, tier_label
from editor.assist.sse import MalformedChunk, SSEParser, StreamErrorEvent

TIERS = ("fast", "deep", "review")
_DEFAULT_CONTEXT_TOKENS = {"fast": 128_000, "deep": 400_000, "review": 128_000}


@dataclass(frozen=True)
class Tier:
    name: str
    base_url: str | None
    api_key: str | None
    model: str
    timeout: float
    context_tokens: int

    def public(self) -> dict[str, str]:
        """What a browser may know: never the key, never the URL."""
        return {"tier": self.name, "model": self.model}


def tier_get(name: str, *, model: str | None = None) -> Tier:
    if name not in TIERS:
        raise ModelError(errors.INVALID, f"There is no {name!r} model tier.")
    config = settings.FLINT_MODEL_TIERS[name]
    contexts = getattr(settings, "FLINT_MODEL_CONTEXT_TOKENS", {})
    return Tier(
        name=name,
        base_url=config.get("base_url"),
        api_key=config.get("api_key"),
        model=model or str(config["model"]),
        timeout=float(config.get("timeout") or 60.0),
        context_tokens=int(contexts.get(name, _DEFAULT_CONTEXT_TOKENS[name])),
    )


def _require_configured(tier: Tier) -> None:
    if not tier.api_key:
        raise ModelError(
            errors.MODEL_DOWN,
            f"The {tier_label(tier.name)} is not configured on this server; "
            "ask an administrator to set its API key.",
        )


def _timeout(tier: Tier) -> httpx2.Timeout:
    # `read` bounds the silence between bytes, so it also catches a server that hangs
    # before the first token; connecting is quick or not at all.
    return httpx2.Timeout(tier.timeout, connect=min(5.0, tier.timeout))


# --- paced reads ------------------------------------------------------------------------


class Pacer(Protocol):
    async def before_read(self, *, backlog: bool) -> None:
        """Called in the reading task when every byte received so far has been handled
        and the next step is to read the network; `backlog` says the last read filled
        its buffer (more is waiting: the model is faster than we read)."""


# Set by a reader (the relay) in its own task: the HTTP connection's reads consult it.
PACER: contextvars.ContextVar[Pacer | None] = contextvars.ContextVar("flint_pacer", default=None)


class _PacedStream(httpcore2.AsyncNetworkStream):
    """A network stream that lets the reading task's pacer run before each read.

    A model server writes a few tokens every couple of milliseconds. Reading each write
    as it comes costs a loop wake-up, a recv and httpcore's per-read bookkeeping, which
    is most of what relaying a stream costs daphne. The relay sends at most one frame
    per interval anyway, so after sending one it can leave the bytes in the kernel until
    the next is due and pick them all up in one read: same frames, a fraction of the CPU.
    This is the one place that knows "all received text has been handled" exactly.
    """

    def __init__(self, inner: httpcore2.AsyncNetworkStream) -> None:
        self.inner = inner
        self.backlog = False

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        pacer = PACER.get()
        if pacer is not None:
            await pacer.before_read(backlog=self.backlog)
        data = await self.inner.read(max_bytes, timeout)
        self.backlog = len(data) >= max_bytes
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self.inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        return _PacedStream(await self.inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _PacedBackend(httpcore2.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.inner = AutoBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        stream = await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _PacedStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.AsyncNetworkStream:
        return _PacedStream(await self.inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class _PacedTransport(httpx2.AsyncHTTPTransport):
    """httpx's own transport (keep-alive pool, the SDK's limits) on the paced backend."""

    def __init__(self) -> None:
        limits = openai.DEFAULT_CONNECTION_LIMITS
        super().__init__(limits=limits)
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=self._pool._ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PacedBackend(),
        )


# AsyncOpenAI's connection pool belongs to the event loop that opened it; daphne has
# one loop, but tests and scripts make several, so clients are kept per loop.
_async_clients: weakref.WeakKeyDictionary[Any, dict[tuple, openai.AsyncOpenAI]] = (
    weakref.WeakKeyDictionary()
)
_sync_clients: dict[tuple, openai.OpenAI] = {}


def async_client(tier: Tier) -> openai.AsyncOpenAI:
    _require_configured(tier)
    per_loop = _async_clients.setdefault(asyncio.get_running_loop(), {})
    key = (tier.base_url, tier.api_key, tier.timeout)
    client = per_loop.get(key)
    if client is None:
        # One client (one keep-alive pool) per tier and loop: requests reuse warm
        # connections instead of paying a TCP (and TLS) handshake before each answer.
        client = openai.AsyncOpenAI(
            base_url=tier.base_url,
            api_key=tier.api_key,
            timeout=_timeout(tier),
            max_retries=0,
            http_client=openai.DefaultAsyncHttpxClient(
                transport=_PacedTransport(), timeout=_timeout(tier)
            ),
        )
        per_loop[key] = client
    return client


def sync_client(tier: Tier) -> openai.OpenAI:
    _require_configured(tier)
    key = (tier.base_url, tier.api_key, tier.timeout)
    client = _sync_clients.get(key)
    if client is None:
        client = openai.OpenAI(
            base_url=tier.base_url, api_key=tier.api_key, timeout=_timeout(tier), max_retries=0
        )
        _sync_clients[key] = client
    return client


# --- turning failures into ModelError --------------------------------------------------


def _retry_after(response: Any) -> float | None:
    try:
        value = response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, ValueError):
        return None


def classify(exc: BaseException, *, tier: Tier, partial: bool) -> ModelError:
    """Map an SDK, transport or parsing failure to what the user is told."""
    label = tier_label(tier.name)
    kept = " What arrived is kept." if partial else ""
    if isinstance(exc, ModelError):
        return exc
    if isinstance(exc, openai.RateLimitError):
        return ModelError(
            errors.RATE_LIMITED,
            f"The {label} is rate-limited right now; try again in a few seconds.{kept}",
            retryable=True,
            retry_after=_retry_after(exc.response),
            status=429,
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status >= 500:
            return ModelError(
                errors.MODEL_DOWN,
                f"The {label} failed (HTTP {status}); try again shortly.{kept}",
                retryable=True,
                status=status,
            )
        body = str(getattr(exc, "body", "") or exc.message or "").lower()
        if status in (400, 413) and ("context" in body or "too long" in body or status == 413):
            return ModelError(
                errors.TOO_LARGE,
                f"The request is too large for the {label}'s context; select less.",
                status=status,
            )
        if status in (401, 403):
            return ModelError(
                errors.MODEL_DOWN,
                f"The {label} refused this server's credentials; ask an administrator.",
                status=status,
            )
        return ModelError(
            errors.MODEL_DOWN, f"The {label} rejected the request (HTTP {status}).", status=status
        )
    if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
        return ModelError(
            errors.TIMEOUT, f"The {label} did not answer within {tier.timeout:g} s.{kept}"
        )
    if isinstance(exc, MalformedChunk | StreamErrorEvent | ValueError):
        if partial:
            return ModelError(errors.CUT_OFF, f"The {label} sent a broken reply and stopped.{kept}")
        return ModelError(
            errors.MODEL_DOWN, f"The {label} sent a broken reply; try again.", retryable=True
        )
    if isinstance(exc, openai.APIConnectionError | httpx2.TransportError):
        if partial:
            return ModelError(errors.CUT_OFF, f"The {label}'s answer was cut off mid-way.{kept}")
        return ModelError(
            errors.MODEL_DOWN, f"Could not reach the {label}; try again shortly.", retryable=True
        )
    return ModelError(errors.MODEL_DOWN, f"The {label} failed unexpectedly.{kept}")


def _backoff(attempt: int, error: ModelError) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None when waiting is not worth it."""
    cap = float(getattr(settings, "FLINT_MODEL_RETRY_AFTER_MAX_S", 2.0))
    if error.retry_after is not None:
        return error.retry_after if error.retry_after <= cap else None
    return min(cap, 0.1 * (2**attempt)) * (0.5 + random.random() / 2)  # noqa: S311


# --- streaming -------------------------------------------------------------------------


@dataclass
class ChatStream:
    """One streamed chat completion: iterate for text; the rest is filled in as it goes.

    `async for text in stream` yields text as it arrives (several tokens per item when
    the network delivered several at once). Errors surface as ModelError, with `partial`
    telling whether any text was yielded before.
    """

    tier: Tier
    messages: list[dict[str, Any]]
    max_tokens: int | None = None
    tools: list[dict[str, Any]] | None = None
    temperature: float | None = None
    extra_headers: dict[str, str] | None = None
    text_parts: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    model: str = ""
    started: float = 0.0
    first_token_at: float | None = None
    ended: float | None = None
    attempts: int = 0

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

    def _request(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.tier.model,
            "messages": self.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.max_tokens is not None:
            body["max_completion_tokens"] = self.max_tokens
        if self.tools:
            body["tools"] = self.tools
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.extra_headers:
            body["extra_headers"] = self.extra_headers
        return body

    async def __aiter__(self) -> AsyncIterator[str]:
        self.model = self.tier.model
        self.started = time.perf_counter()
        retries = int(getattr(settings, "FLINT_MODEL_RETRIES", 2))
        try:
            while True:
                self.attempts += 1
                got_output = False
                try:
                    client = async_client(self.tier)
                    request = client.chat.completions.with_streaming_response.create
                    async with request(**self._request()) as response:
                        parser = SSEParser()
                        async for data in response.iter_bytes():
                            batch = parser.feed(data)
                            if batch.text:
                                if self.first_token_at is None:
                                    self.first_token_at = time.perf_counter()
                                got_output = True
                                self.text_parts.append(batch.text)
                                yield batch.text
                            elif parser.state.tool_calls:
                                got_output = True
                            if batch.done:
                                break
                        self._finish(parser)
                    return
                except Exception as exc:
                    error = classify(exc, tier=self.tier, partial=got_output)
                    wait = _backoff(self.attempts - 1, error) if error.retryable else None
                    if got_output or not error.retryable or self.attempts > retries or wait is None:
                        error.retryable = False
                        raise error from exc
                    await asyncio.sleep(wait)
        finally:
            self.ended = time.perf_counter()

    def _finish(self, parser: SSEParser) -> None:
        state = parser.state
        self.usage = state.usage
        self.finish_reason = state.finish_reason
        self.tool_calls = state.tool_calls
        if state.model:
            self.model = state.model
        if not state.saw_done and state.finish_reason is None:
            # The body ended cleanly but the model never said it was finished.
            raise ModelError(
                errors.CUT_OFF if self.text_parts else errors.MODEL_DOWN,
                f"The {tier_label(self.tier.name)}'s answer was cut off mid-way."
                + (" What arrived is kept." if self.text_parts else ""),
                retryable=not self.text_parts and not state.tool_calls,
            )


def chat_stream(
    *,
    tier: Tier,
    messages: list[dict[str, Any]],
    max_tokens: int | None = None,
    tools: list[dict[str, Any]] | None = None,
    temperature: float | None = None,
    extra_headers: dict[str, str] | None = None,
) -> ChatStream:
    return ChatStream(
        tier=tier,
        messages=messages,
        max_tokens=max_tokens,
        tools=tools,
        temperature=temperature,
        extra_headers=extra_headers,
    )


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


def _result(tier: Tier, payload: Any, started: float, attempts: int) -> ChatResult:
    if not isinstance(payload, dict) or not payload.get("choices"):
        raise MalformedChunk("completion has no choices")
    choice = payload["choices"][0]
    message = choice.get("message") or {}
    return ChatResult(
        tier=tier.name,
        model=payload.get("model") or tier.model,
        text=message.get("content") or "",
        tool_calls=message.get("tool_calls") or [],
        finish_reason=choice.get("finish_reason"),
        usage=payload.get("usage"),
        duration_ms=(time.perf_counter() - started) * 1000,
        attempts=attempts,
        message=message,
    )


def _body(tier: Tier, messages: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    body = {"model": tier.model, "messages": messages}
    body.update({key: value for key, value in options.items() if value is not None})
    return body


def _retry_wait(exc: Exception, *, tier: Tier, attempt: int, retries: int) -> float:
    """Seconds to wait before trying a whole call again, or raise the ModelError it means."""
    error = classify(exc, tier=tier, partial=False)
    wait = _backoff(attempt - 1, error) if error.retryable else None
    if wait is None or attempt > retries:
        error.retryable = False
        raise error from exc
    return wait


async def chat(
    *,
    tier: Tier,
    messages: list[dict[str, Any]],
    max_tokens: int | None = None,
    tools: list[dict[str, Any]] | None = None,
    temperature: float | None = None,
    extra_headers: dict[str, str] | None = None,
) -> ChatResult:
    """One non-streamed completion (tool calls included), retried as a whole."""
    started = time.perf_counter()
    retries = int(getattr(settings, "FLINT_MODEL_RETRIES", 2))
    body = _body(
        tier, messages, max_completion_tokens=max_tokens, tools=tools, temperature=temperature
    )
    attempt = 0
    while True:
        attempt += 1
        try:
            raw = await async_client(tier).chat.completions.with_raw_response.create(
                **body, extra_headers=extra_headers
            )
            return _result(tier, jiter.from_json(raw.content), started, attempt)
        except Exception as exc:
            await asyncio.sleep(_retry_wait(exc, tier=tier, attempt=attempt, retries=retries))


def chat_sync(
    *,
    tier: Tier,
    messages: list[dict[str, Any]],
    max_tokens: int | None = None,
    tools: list[dict[str, Any]] | None = None,
    temperature: float | None = None,
    extra_headers: dict[str, str] | None = None,
) -> ChatResult:
    """The same as `chat`, for Celery workers (no event loop)."""
    started = time.perf_counter()
    retries = int(getattr(settings, "FLINT_MODEL_RETRIES", 2))
    body = _body(
        tier, messages, max_completion_tokens=max_tokens, tools=tools, temperature=temperature
    )
    attempt = 0
    while True:
        attempt += 1
        try:
            raw = sync_client(tier).chat.completions.with_raw_response.create(
                **body, extra_headers=extra_headers
            )
            return _result(tier, jiter.from_json(raw.content), started, attempt)
        except Exception as exc:
            time.sleep(_retry_wait(exc, tier=tier, attempt=attempt, retries=retries))

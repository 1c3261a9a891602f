"""How bytes reach a model server: the SDK clients per tier, on a transport whose reads a
reader can pace (the relay's FramePacer).

Every wire (editor/assist/wire.py) that speaks HTTP gets its clients here, so pacing,
keep-alive pools and timeouts are the same whichever wire a tier uses. A wire with its
own connection (a WebSocket) paces itself by awaiting `PACER.get().before_read(...)`
before each receive, as `_PacedStream.read` does below.
"""

from __future__ import annotations

import asyncio
import contextvars
import ssl
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

import httpcore2
import httpx2
import openai
from httpcore2._backends.auto import AutoBackend  # the pool's own default, wrapped below

from editor.assist.tiers import Tier, require_configured


class Pacer(Protocol):
    async def before_read(self, *, backlog: bool) -> None:
        """Called in the reading task when every byte received so far has been handled
        and the next step is to read the network; `backlog` says the last read filled
        its buffer (more is waiting: the model is faster than we read)."""


# Set by a reader (the relay) in its own task: the HTTP connection's reads consult it.
PACER: contextvars.ContextVar[Pacer | None] = contextvars.ContextVar("flint_pacer", default=None)


class FramePacer:
    """Turns the model's text into frames: the first piece at once, then one per interval.

    It runs in the task that reads the model's stream (PACER): just before that task
    reads the network again, `before_read` sends what has arrived if a frame is due and
    otherwise sleeps until one is, leaving the model's next writes in the kernel to be
    read at once when the frame is due. Text that came in meanwhile would have waited
    for that frame anyway, so no token is later than with a timer; the relay just wakes
    up once per frame instead of once per network write. The stream's last text goes
    out as soon as the stream ends (`flush`), which is what a quick edit waits for.

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
        self.think: Callable[[str], Awaitable[None]] | None = None  # reasoning summary frames
        self.thoughts: list[str] = []

    def push(self, text: str) -> None:
        self.parts.append(text)

    def push_thought(self, text: str) -> None:
        """A piece of the reasoning summary: it goes out in the next frame, before text."""
        if self.think is not None:
            self.thoughts.append(text)

    async def started(self) -> None:
        """Send the start frame if it has not gone yet (before any delta, done or error)."""
        start, self._start = self._start, None
        if start is not None:
            await start()

    async def flush(self) -> None:
        await self.started()
        if self.thoughts and self.think is not None:
            thought = "".join(self.thoughts)
            self.thoughts.clear()
            self.due = time.monotonic() + self.interval
            await self.think(thought)
        if self.parts:
            text = "".join(self.parts)
            self.parts.clear()
            self.due = time.monotonic() + self.interval
            await self.emit(text)

    async def before_read(self, *, backlog: bool) -> None:
        try:
            await self.started()
            if not self.parts and not self.thoughts:
                return  # nothing held back: the first token never waits
            if time.monotonic() >= self.due:
                await self.flush()
        except Exception as exc:
            self.error = exc  # the socket failed, not the model: the relay re-raises this
            raise
        if not backlog:  # a model faster than one read per frame is read flat out
            await asyncio.sleep(max(0.0, self.due - time.monotonic()))


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


# --- the SDK's clients, one per tier (and per event loop) ---------------------------------


def timeout_of(tier: Tier) -> httpx2.Timeout:
    # `read` bounds the silence between bytes, so it also catches a server that hangs
    # before the first token; connecting is quick or not at all.
    return httpx2.Timeout(tier.timeout, connect=min(5.0, tier.timeout))


# AsyncOpenAI's connection pool belongs to the event loop that opened it; daphne has
# one loop, but tests and scripts make several, so clients are kept per loop.
_async_clients: weakref.WeakKeyDictionary[Any, dict[tuple, openai.AsyncOpenAI]] = (
    weakref.WeakKeyDictionary()
)
_sync_clients: dict[tuple, openai.OpenAI] = {}


def async_client(tier: Tier) -> openai.AsyncOpenAI:
    """The SDK client of this tier on this loop. The SDK's own retries are off: the
    gateway decides retries (before the first token only)."""
    require_configured(tier)
    per_loop = _async_clients.setdefault(asyncio.get_running_loop(), {})
    key = (tier.base_url, tier.api_key, tier.timeout)
    client = per_loop.get(key)
    if client is None:
        # One client (one keep-alive pool) per tier and loop: requests reuse warm
        # connections instead of paying a TCP (and TLS) handshake before each answer.
        client = openai.AsyncOpenAI(
            base_url=tier.base_url,
            api_key=tier.api_key,
            timeout=timeout_of(tier),
            max_retries=0,
            http_client=openai.DefaultAsyncHttpxClient(
                transport=_PacedTransport(), timeout=timeout_of(tier)
            ),
        )
        per_loop[key] = client
    return client


def sync_client(tier: Tier) -> openai.OpenAI:
    """The same for code without an event loop (Celery workers)."""
    require_configured(tier)
    key = (tier.base_url, tier.api_key, tier.timeout)
    client = _sync_clients.get(key)
    if client is None:
        client = openai.OpenAI(
            base_url=tier.base_url, api_key=tier.api_key, timeout=timeout_of(tier), max_retries=0
        )
        _sync_clients[key] = client
    return client

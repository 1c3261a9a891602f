"""WebSocket mode of the Responses API: one kept-open socket per conversation.

A deep task makes dozens of tool-call turns; over HTTP each one sends the whole
transcript again. On a socket the client sends `response.create` events and reads the
same events as the SSE stream, and the server keeps the socket's last response in
memory, so a turn that continues it sends only the new items (`previous_response_id`)
even when nothing is stored. Idle sockets wait in a pool and a turn takes the one
holding its conversation's last response when there is one.

When the server ends a socket (OpenAI caps one at 60 minutes, with an error
`websocket_connection_limit_reached`, or it simply closes an idle one), the turn opens a
new one and sends the whole conversation again, once, before anything was shown: the
task carries on without losing a step. A server that refuses the upgrade is told once,
in the log, and the tier uses HTTP streaming from then on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import weakref
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as connect_async
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection as SyncConnection
from websockets.sync.client import connect as connect_sync

from editor.assist import errors
from editor.assist.errors import ModelError, tier_label
from editor.assist.responses_events import (
    CONNECTION_LIMIT,
    ResponseError,
    ResponseReader,
    failure,
    fill_reply,
    parse_event,
)
from editor.assist.responses_shape import last_response_at, request_body, split_instructions
from editor.assist.tiers import Tier, require_configured, wire_setting
from editor.assist.transport import PACER
from editor.assist.wire import ModelRequest, Reply

log = logging.getLogger(__name__)
_OPENAI = "https://api.openai.com/v1"
_MAX_FRAME = 64 * 1024 * 1024
_IDLE_PER_ENDPOINT = 8
# Servers (keyed by socket URL) that refused the upgrade: their tiers use HTTP streaming.
_refused: set[str] = set()


def socket_url(tier: Tier) -> str:
    base = (tier.base_url or _OPENAI).rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[8:] + "/responses"
    if base.startswith("http://"):
        return "ws://" + base[7:] + "/responses"
    return base + "/responses"


def accepted(tier: Tier) -> bool:
    """False once this tier's server refused WebSocket mode (HTTP streaming instead)."""
    return socket_url(tier) not in _refused


def _headers(tier: Tier) -> dict[str, str]:
    require_configured(tier)
    return {"Authorization": f"Bearer {tier.api_key}"}


def _refusal(tier: Tier, exc: InvalidStatus) -> ModelError | None:
    """None when the server does not speak WebSocket mode (fall back to HTTP), else the
    error a refused upgrade means (credentials, rate limit, a server error)."""
    status = exc.response.status_code
    label = tier_label(tier.name)
    if status in (401, 403):
        return ModelError(errors.MODEL_DOWN,
                          f"The {label} refused this server's credentials; ask an administrator.",
                          status=status)  # fmt: skip
    if status == 429:
        return ModelError(errors.RATE_LIMITED,
                          f"The {label} is rate-limited right now; try again in a few seconds.",
                          retryable=True, status=status)  # fmt: skip
    if status >= 500:
        return ModelError(errors.MODEL_DOWN, f"The {label} failed (HTTP {status}); try again "
                          "shortly.", retryable=True, status=status)  # fmt: skip
    url = socket_url(tier)
    if url not in _refused:
        _refused.add(url)
        log.warning(
            "The %s's server refused WebSocket mode (HTTP %s on %s); using the Responses API "
            "over HTTP streaming instead (set FLINT_%s_MODEL_TRANSPORT=http to say so).",
            label, status, url, tier.name.upper(),
        )  # fmt: skip
    return None


def _timed_out(tier: Tier, said: bool) -> ModelError:
    kept = " What arrived is kept." if said else ""
    label = tier_label(tier.name)
    message = f"The {label} did not answer within {tier.timeout:g} s.{kept}"
    return ModelError(errors.TIMEOUT, message)


def _unsupported(tier: Tier, exc: ResponseError) -> ModelError | None:
    if exc.code != "unsupported_api_for_model":
        return None
    return ModelError(errors.MODEL_DOWN, f"{tier.model} is not served on the Responses API: "
                      f"set {wire_setting(tier.name)}=chat.", status=exc.status)  # fmt: skip


@dataclass
class _Socket:
    """One open socket and the response its server holds for it."""

    ws: Any
    held: str | None = None  # the id of the last response completed on it
    opened: float = 0.0  # monotonic time it was opened (for logs and debugging)


def _create_event(tier: Tier, request: ModelRequest, held: str | None) -> str:
    body = request_body(tier, request, held=held)
    return json.dumps({"type": "response.create", **body})


def _conversation_key(request: ModelRequest) -> str | None:
    _, rest = split_instructions(request.messages)
    return last_response_at(rest)[0]


def _reconnectable(exc: BaseException) -> bool:
    """The server ended the socket (or its 60-minute life), not the model's answer."""
    if isinstance(exc, ConnectionClosed):
        return True
    return isinstance(exc, ResponseError) and exc.code == CONNECTION_LIMIT


# --- on an event loop: the relay's streams and async calls --------------------------------


class _Pool:
    """Idle sockets per endpoint and key; a turn takes the one holding its conversation's
    last response, else any (the turn then sends the whole conversation)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # sync callers share it across threads
        self.idle: dict[tuple[str, str | None], list[_Socket]] = {}

    def take(self, key: tuple[str, str | None], want: str | None) -> _Socket | None:
        with self.lock:
            sockets = self.idle.get(key) or []
            for index, sock in enumerate(sockets):
                if want is not None and sock.held == want:
                    return sockets.pop(index)
            return sockets.pop() if sockets else None

    def give(self, key: tuple[str, str | None], sock: _Socket) -> _Socket | None:
        """Keep `sock` for the next turn; returns a socket too many, for the caller to close."""
        with self.lock:
            sockets = self.idle.setdefault(key, [])
            sockets.append(sock)
            return sockets.pop(0) if len(sockets) > _IDLE_PER_ENDPOINT else None


def _pool_key(tier: Tier) -> tuple[str, str | None]:
    return socket_url(tier), tier.api_key


_async_pools: weakref.WeakKeyDictionary[Any, _Pool] = weakref.WeakKeyDictionary()


async def _open_async(tier: Tier) -> _Socket:
    ws: ClientConnection = await connect_async(
        socket_url(tier), additional_headers=_headers(tier), max_size=_MAX_FRAME,
        open_timeout=min(5.0, tier.timeout), close_timeout=1.0, compression=None,
    )  # fmt: skip
    return _Socket(ws=ws, opened=time.monotonic())


class Refused(Exception):
    """The server does not speak WebSocket mode: the caller uses HTTP streaming."""


def _opening_failed(tier: Tier, exc: InvalidStatus) -> Exception:
    return _refusal(tier, exc) or Refused()


def _ended(tier: Tier, exc: BaseException, said: bool) -> ModelError:
    """What a failed socket turn means to the gateway."""
    if isinstance(exc, ResponseError):
        return _unsupported(tier, exc) or failure(exc, tier.name, said=said)
    if isinstance(exc, ModelError):
        return exc
    label, kept = tier_label(tier.name), " What arrived is kept." if said else ""
    if said:
        return ModelError(errors.CUT_OFF, f"The {label}'s answer was cut off mid-way.{kept}")
    return ModelError(errors.MODEL_DOWN, f"Could not reach the {label}; try again shortly.",
                      retryable=True)  # fmt: skip


async def _turn(tier: Tier, request: ModelRequest, reply: Reply) -> AsyncGenerator[str, None]:
    pool = _async_pools.setdefault(asyncio.get_running_loop(), _Pool())
    url, want = _pool_key(tier), _conversation_key(request)
    sock = pool.take(url, want)
    reader = ResponseReader(on_reasoning=reply.on_reasoning)
    reply.tool_calls = reader.tool_calls
    said = False
    try:
        for attempt in range(2):  # a second socket only when the server ended the first
            if sock is None:
                try:
                    sock = await _open_async(tier)
                except InvalidStatus as exc:
                    raise _opening_failed(tier, exc) from exc
            try:
                await sock.ws.send(_create_event(tier, request, sock.held))
                async for text in _read_async(tier, sock, reader):
                    said = True
                    yield text
                break
            except (ConnectionClosed, ResponseError) as exc:
                if said or reader.tool_calls or attempt or not _reconnectable(exc):
                    raise
                log.info("the %s's socket was ended (%s); reconnecting", tier.name, exc)
                _close_later(sock)
                sock = None
                reader = ResponseReader(on_reasoning=reply.on_reasoning)
                reply.tool_calls = reader.tool_calls
    except TimeoutError:
        raise _timed_out(tier, said) from None
    except (ConnectionClosed, ResponseError, OSError) as exc:
        raise _ended(tier, exc, said) from exc
    finally:
        if sock is not None:
            if reader.done:
                sock.held = reader.response_id
                extra = pool.give(url, sock)
                if extra is not None:
                    _close_later(extra)
            else:  # mid-answer: what the server would still send belongs to nobody
                _close_later(sock)
    fill_reply(tier, reply, reader, said=said)


_closing: set[asyncio.Task] = set()


def _close_later(sock: _Socket) -> None:
    """Close a socket without making the caller wait for the server's goodbye (a hung
    server never sends one): the user hears about the failure at once."""
    task = asyncio.get_running_loop().create_task(sock.ws.close())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


async def _read_async(
    tier: Tier, sock: _Socket, reader: ResponseReader
) -> AsyncGenerator[str, None]:
    backlog = False
    while not reader.done:
        pacer = PACER.get()
        if pacer is not None:
            await pacer.before_read(backlog=backlog)
        frame = await asyncio.wait_for(sock.ws.recv(), tier.timeout)  # TimeoutError: silence
        backlog = _queued(sock.ws)  # frames already in: the model is ahead of the reader
        text = reader.event(parse_event(frame))
        if text:
            yield text


def _queued(ws: Any) -> bool:
    with contextlib.suppress(Exception):
        return len(ws.recv_messages.frames) > 0
    return False


def stream(tier: Tier, request: ModelRequest, reply: Reply) -> AsyncGenerator[str, None]:
    """One streamed turn on a socket; raises Refused (before anything) when the server
    does not speak WebSocket mode."""
    return _turn(tier, request, reply)


# --- without an event loop: the deep task's steps on a Celery worker ----------------------


_sync_pool = _Pool()


def _open_sync(tier: Tier) -> _Socket:
    ws: SyncConnection = connect_sync(
        socket_url(tier), additional_headers=_headers(tier), max_size=_MAX_FRAME,
        open_timeout=min(5.0, tier.timeout), close_timeout=1.0, compression=None,
        legacy=True,  # pooled across calls: not a context manager
    )  # fmt: skip
    return _Socket(ws=ws, opened=time.monotonic())


def _turn_sync(tier: Tier, request: ModelRequest) -> Reply:
    url, want = _pool_key(tier), _conversation_key(request)
    sock = _sync_pool.take(url, want)
    reader = ResponseReader()
    try:
        for attempt in range(2):
            if sock is None:
                try:
                    sock = _open_sync(tier)
                except InvalidStatus as exc:
                    raise _opening_failed(tier, exc) from exc
            try:
                sock.ws.send(_create_event(tier, request, sock.held))
                while not reader.done:
                    try:
                        frame = sock.ws.recv(timeout=tier.timeout)
                    except TimeoutError:
                        raise _timed_out(tier, False) from None
                    reader.event(parse_event(frame))
                break
            except (ConnectionClosed, ResponseError) as exc:
                if reader.tool_calls or attempt or not _reconnectable(exc):
                    raise
                log.info("the %s's socket was ended (%s); reconnecting", tier.name, exc)
                sock.ws.close()
                sock = None
                reader = ResponseReader()
    except (ConnectionClosed, ResponseError, OSError) as exc:
        raise _ended(tier, exc, False) from exc
    finally:
        if sock is not None:
            if reader.done:
                sock.held = reader.response_id
                extra = _sync_pool.give(url, sock)
                if extra is not None:
                    extra.ws.close()
            else:
                with contextlib.suppress(Exception):
                    sock.ws.close()
    reply = Reply()
    fill_reply(tier, reply, reader, said=False)
    return reply


def complete_sync(tier: Tier, request: ModelRequest) -> Reply:
    """One whole turn on a socket (raises Refused like `stream`)."""
    return _turn_sync(tier, request)

"""`/v1/responses` on the simulator: streamed as SSE over HTTP, whole, or in WebSocket
mode (the client sends `response.create` events on one socket; the server streams each
answer's events back and holds the socket's last response, so a turn may continue it by
`previous_response_id` with only its new items, stored or not).

The WebSocket framing is the `websockets` library's sans-I/O protocol on the server's own
connection (no second server, same port, same faults). Faults on a socket are what the
real service does there: 429 and 500 as `error` events (the socket stays open), `limit`
as the 60-minute "connection limit reached" error followed by the end of the socket.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from websockets.frames import Opcode
from websockets.server import ServerProtocol

from editor.assist.simulator import responses as shape
from editor.assist.simulator.script import Answer, decide

if TYPE_CHECKING:
    from editor.assist.simulator.server import _Connection

_LOG = logging.getLogger("flint.simulator.socket")  # not websockets.server's INFO lines
_LOG.setLevel(logging.WARNING)
_LIMIT_MESSAGE = (
    "Responses websocket connection limit reached (60 minutes). Create a new websocket "
    "connection to continue."
)


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _tokens_of(messages: list[dict[str, Any]]) -> int:
    chars = sum(len(str(m.get("content") or "")) for m in messages)
    return chars // 4 + 1 if messages else 0


def prepare(
    conn: _Connection, body: dict[str, Any], held: dict[str, list] | None, x_sim: str | None
) -> tuple[list[dict[str, Any]], Answer, int, int]:
    """The conversation, the scripted answer, prompt and cached tokens; or Refusal."""
    sim = conn.sim
    before: list[dict[str, Any]] = []
    previous = body.get("previous_response_id")
    if previous:
        found = (held or {}).get(previous) or sim.stored.get(previous)
        if found is None:
            raise Refusal(400, "previous_response_not_found",
                          f"Previous response with id '{previous}' not found.")  # fmt: skip
        before = found
    messages = shape.messages_of(body, before)
    answer = decide({"messages": messages}, sim.rules, x_sim)
    prompt_tokens = _tokens_of(messages)
    if prompt_tokens > sim.context_tokens:
        raise Refusal(400, "context_length_exceeded",
                      f"Your input exceeds the context window of this model "
                      f"({prompt_tokens} > {sim.context_tokens} tokens).")  # fmt: skip
    return messages, answer, prompt_tokens, min(prompt_tokens, _tokens_of(before))


def _limit(body: dict[str, Any]) -> int | None:
    value = body.get("max_output_tokens")
    return value if isinstance(value, int) and value > 0 else None


async def send_plan(
    conn: _Connection,
    plan: shape.Plan,
    answer: Answer,
    write: Any,
    *,
    sse: bool,
    closing: tuple[bytes, dict],
) -> bool:
    """Stream `plan`'s events through `write(list of events)`; False if a fault cut it."""
    tps, ttft = conn._speed(answer)
    fault = answer.options.get("_fault")
    wrap = shape.as_sse if sse else (lambda e: e)
    await conn._until_first_token(ttft)
    write([wrap(shape.created(plan))])
    text_seen = False
    for part in plan.parts:
        if isinstance(part, bytes):
            write([wrap(part)])
            continue
        deltas = part.as_sse() if sse else part
        is_text = b"output_text.delta" in part.head
        if is_text and fault in ("malformed", "cut") and not text_seen:
            text_seen = True
            cut_at = int(answer.options.get("after", len(part) // 2))
            deltas.pieces = deltas.pieces[:cut_at]
            await conn._pace(deltas, tps, write=write)
            if fault == "malformed":
                broken = b'{"type": "response.output_text.delta", "delta": '
                write([b"data: " + broken + b"\n\n" if sse else broken])
                return True
            conn.transport.abort() if not sse else conn.transport.close()
            return False
        await conn._pace(deltas, tps, write=write)
    write([wrap(closing[0])])
    return True


# --- HTTP ---------------------------------------------------------------------------------


async def serve_http(conn: _Connection, body: dict[str, Any], headers: dict[str, str]) -> None:
    sim = conn.sim
    try:
        messages, answer, prompt_tokens, cached = prepare(conn, body, None, headers.get("x-sim"))
    except Refusal as refusal:
        conn._write_raw(_json_response(refusal.status, _error(refusal)))
        return
    if await conn._fault_before_answer(answer):
        return
    plan = shape.plan(body, answer, limit_tokens=_limit(body))
    closing = shape.final(plan, input_tokens=prompt_tokens, cached_tokens=cached)
    if body.get("store"):
        sim.stored[plan.response_id] = shape.messages_of({"input": plan.items}, messages)
    if not body.get("stream"):
        tps, ttft = conn._speed(answer)
        await conn._until_first_token(ttft)
        await asyncio.sleep(plan.output_tokens / tps if tps > 0 else 0)
        conn._write_raw(_json_response(200, closing[1]))
        return
    conn._write_raw(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
        b"transfer-encoding: chunked\r\n\r\n"
    )
    sim.open_streams += 1
    sim.streams_started += 1
    finished = False
    try:
        ended = await send_plan(conn, plan, answer, lambda events: conn._chunk(b"".join(events)),
                                sse=True, closing=closing)  # fmt: skip
        if ended:
            conn._write_raw(b"0\r\n\r\n")
            finished = True
    finally:
        sim.open_streams -= 1
        if not finished:
            sim.streams_closed_early += 1


def _error(refusal: Refusal) -> dict[str, Any]:
    return {"error": {"message": refusal.message, "type": "invalid_request_error",
                      "param": None, "code": refusal.code}}  # fmt: skip


def _json_response(status: int, payload: Any) -> bytes:
    from editor.assist.simulator.server import _response

    return _response(status, payload)


# --- WebSocket mode -----------------------------------------------------------------------


class Socket:
    """One upgraded connection: `response.create` events in, each answer's events out."""

    def __init__(self, conn: _Connection, head: bytes) -> None:
        self.conn = conn
        self.protocol = ServerProtocol(max_size=None, logger=_LOG)
        self.creates: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.held: dict[str, list] = {}  # the last response's conversation, by its id
        self.protocol.receive_data(head)
        self.request = self.protocol.events_received()[0]

    def handshake(self) -> None:
        response = self.protocol.accept(self.request)
        self.protocol.send_response(response)
        self._flush()
        self.conn.on_data = self.received

    def received(self, data: bytes) -> None:
        self.protocol.receive_data(data)
        for frame in self.protocol.events_received():
            if frame.opcode is Opcode.TEXT:
                self.creates.put_nowait(frame.data)
        self._flush()
        if self.protocol.close_expected() or self.protocol.state.name == "CLOSED":
            self.creates.put_nowait(None)

    def write(self, events: list[bytes]) -> None:
        for event in events:
            self.protocol.send_text(event)
        self._flush()

    def _flush(self) -> None:
        chunks = self.protocol.data_to_send()
        transport = self.conn.transport
        if transport is None or transport.is_closing():
            return
        data = b"".join(chunks)
        if data:
            transport.write(data)
        if b"" in chunks:  # the protocol's signal that the closing handshake is over
            transport.close()

    def end(self) -> None:
        self.protocol.send_close(1000, "connection limit reached")
        self._flush()
        if self.conn.transport is not None:
            self.conn.transport.close()


async def serve_socket(conn: _Connection, head: bytes, headers: dict[str, str]) -> None:
    sim = conn.sim
    if not sim.websocket_mode:
        conn._write_raw(_json_response(404, {"error": {"message": "Not found.", "code": None}}))
        return
    socket = Socket(conn, head)
    socket.handshake()
    sim.sockets_opened += 1
    try:
        await _serve_creates(conn, socket, headers)
    finally:
        if conn.transport is not None:
            conn.transport.close()


async def _serve_creates(conn: _Connection, socket: Socket, headers: dict[str, str]) -> None:
    sim = conn.sim
    while True:
        raw = await socket.creates.get()
        if raw is None or conn.closed.is_set():
            return
        sim.requests += 1
        sim.request_sizes.append(len(raw))
        await sim.crossing(len(raw))
        conn.arrived = asyncio.get_running_loop().time()
        try:
            event = json.loads(raw)
            assert isinstance(event, dict) and event.get("type") == "response.create"
        except (ValueError, AssertionError):
            socket.write([shape.error_event(400, "invalid_event", "Send response.create events.")])
            continue
        body = {k: v for k, v in event.items() if k != "type"}
        sim.last_request = body
        if not await _socket_turn(conn, socket, body, headers):
            return


async def _socket_turn(
    conn: _Connection, socket: Socket, body: dict[str, Any], headers: dict[str, str]
) -> bool:
    """One response on the socket; False when the socket ended."""
    sim = conn.sim
    try:
        messages, answer, prompt_tokens, cached = prepare(
            conn, body, socket.held, headers.get("x-sim")
        )
    except Refusal as refusal:
        socket.write([shape.error_event(refusal.status, refusal.code, refusal.message)])
        return True
    fault = conn._fault(answer)
    answer.options["_fault"] = fault
    if fault == "limit":
        socket.write([shape.error_event(400, "websocket_connection_limit_reached", _LIMIT_MESSAGE)])
        socket.end()
        return False
    if fault == "429":
        socket.write([shape.error_event(429, "rate_limit_exceeded", "Rate limit reached.")])
        return True
    if fault == "500":
        socket.write([shape.error_event(500, "server_error", "The server had an error.")])
        return True
    if fault == "hang":
        await conn.closed.wait()
        return False
    plan = shape.plan(body, answer, limit_tokens=_limit(body))
    closing = shape.final(plan, input_tokens=prompt_tokens, cached_tokens=cached)
    conversation = shape.messages_of({"input": plan.items}, messages)
    if body.get("store"):
        sim.stored[plan.response_id] = conversation
    sim.open_streams += 1
    sim.streams_started += 1
    try:
        ended = await send_plan(conn, plan, answer, socket.write, sse=False, closing=closing)
    finally:
        sim.open_streams -= 1
    if not ended:
        sim.streams_closed_early += 1
        return False
    socket.held = {plan.response_id: conversation}
    return True

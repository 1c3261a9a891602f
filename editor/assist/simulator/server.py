"""A lean OpenAI-compatible HTTP server on asyncio.Protocol, for tests, benchmarks and demos.

It speaks Chat Completions and the Responses API (streamed, whole, and WebSocket mode:
editor/assist/simulator/responses_server.py) from the same scripts.

No web framework: the benchmark needs one stream at 50,000+ tokens/s and twenty at
1,000 tokens/s from one core, so the server writes each stream's due tokens in one
chunk per tick instead of one write per token, and pre-encodes the fixed parts of each
SSE event. HTTP/1.1 with keep-alive and chunked streaming; no pipelining (OpenAI
clients do not pipeline).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
from collections import Counter
from typing import Any

from editor.assist.simulator import responses, responses_server
from editor.assist.simulator.script import Answer, Rule, decide, tokenize

log = logging.getLogger(__name__)

_REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
    405: "Method Not Allowed", 429: "Too Many Requests", 500: "Internal Server Error",
}  # fmt: skip
_MAX_BODY = 64 * 1024 * 1024


class Simulator:
    """The model server's state: speed, script, counters that tests read."""

    def __init__(
        self,
        *,
        tokens_per_s: float = 1000.0,
        ttft_ms: float = 120.0,
        rules: list[Rule] | None = None,
        api_key: str | None = None,
        context_tokens: int = 128_000,
        tick_ms: float = 2.0,
        demo: bool = False,
        responses_only: bool | set[str] = False,
        websocket_mode: bool = True,
        link_bytes_per_s: float = 0.0,
    ) -> None:
        self.tokens_per_s = tokens_per_s
        self.ttft_ms = ttft_ms
        self.rules = rules or []
        self.api_key = api_key
        self.context_tokens = context_tokens
        # Demo mode: what no rule answers, the demo model does (simulator/demo/); else
        # the deterministic filler text tests and benchmarks measure.
        self.demo = demo
        self.tick = tick_ms / 1000
        self.requests = 0
        self.open_streams = 0
        self.streams_started = 0
        self.streams_closed_early = 0
        self.fault_seen: Counter[str] = Counter()
        self.last_request: dict[str, Any] | None = None
        self.server: asyncio.AbstractServer | None = None
        self.connections: set[_Connection] = set()
        # Models (True: all) that answer Chat Completions with the real service's 404
        # `unsupported_api_for_model`, as OpenAI's codex models do.
        self.responses_only = responses_only
        self.websocket_mode = websocket_mode  # False: the upgrade is refused (404)
        self.stored: dict[str, list[dict[str, Any]]] = {}  # responses kept for store=true
        self.request_sizes: list[int] = []  # bytes of each request body / response.create
        self.sockets_opened = 0
        # A link of this many bytes/s between client and model server (0: none, localhost):
        # a request is only whole at the server after its body has crossed it.
        self.link_bytes_per_s = link_bytes_per_s

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: _Connection(self), host, port, reuse_address=True, backlog=1024
        )
        return self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for connection in list(self.connections):
                if connection.transport is not None:
                    connection.transport.abort()
            await self.server.wait_closed()

    async def crossing(self, size: int) -> None:
        """The time `size` bytes take over the simulated link (benchmarks)."""
        if self.link_bytes_per_s > 0:
            await asyncio.sleep(size / self.link_bytes_per_s)

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "open_streams": self.open_streams,
            "streams_started": self.streams_started,
            "streams_closed_early": self.streams_closed_early,
            "sockets_opened": self.sockets_opened,
            "request_sizes": self.request_sizes[-1000:],
        }


class SimulatorThread:
    """Run a Simulator on its own event loop in a thread (tests, benchmarks)."""

    def __init__(self, simulator: Simulator, host: str = "127.0.0.1") -> None:
        self.simulator = simulator
        self.host = host
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> SimulatorThread:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self.simulator.start(self.host), self._loop)
        self.port = future.result(timeout=10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.simulator.stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


class _Closed(Exception):
    pass


class _Connection(asyncio.Protocol):
    def __init__(self, simulator: Simulator) -> None:
        self.sim = simulator
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.handler: asyncio.Task | None = None
        self.closed = asyncio.Event()
        self.writable = asyncio.Event()
        self.writable.set()
        self.arrived = 0.0
        self.head = b""  # the raw request head (a WebSocket handshake reads it)
        self.on_data: Any = None  # set once upgraded: the socket protocol takes the bytes

    # --- transport callbacks ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.sim.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.sim.connections.discard(self)
        self.closed.set()
        self.writable.set()
        if self.handler is not None and not self.handler.done():
            self.handler.cancel()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def data_received(self, data: bytes) -> None:
        if self.on_data is not None:
            self.on_data(data)
            return
        self.buffer += data
        if self.handler is None or self.handler.done():
            self._maybe_dispatch()

    # --- HTTP ---------------------------------------------------------------------------

    def _maybe_dispatch(self) -> None:
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = self.buffer[:head_end].decode("latin-1")
        lines = head.split("\r\n")
        try:
            method, target, _ = lines[0].split(" ", 2)
        except ValueError:
            self._write_raw(_response(400, _error("bad request line")), close=True)
            return
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        if length > _MAX_BODY:
            self._write_raw(_response(400, _error("body too large")), close=True)
            return
        if len(self.buffer) < head_end + 4 + length:
            return
        self.head = self.buffer[: head_end + 4]
        body = self.buffer[head_end + 4 : head_end + 4 + length]
        self.buffer = self.buffer[head_end + 4 + length :]
        self.handler = asyncio.get_running_loop().create_task(
            self._handle(method, target.split("?", 1)[0], headers, body)
        )
        self.handler.add_done_callback(self._handled)

    def _handled(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            if self.transport is not None:
                self.transport.abort()
            return
        if self.buffer and not self.closed.is_set():
            self._maybe_dispatch()

    def _write_raw(self, data: bytes, *, close: bool = False) -> None:
        if self.transport is None or self.transport.is_closing():
            raise _Closed
        self.transport.write(data)
        if close:
            self.transport.close()

    async def _drain(self) -> None:
        if not self.writable.is_set():
            await self.writable.wait()
        if self.closed.is_set():
            raise _Closed

    async def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        sim = self.sim
        await self.sim.crossing(len(body))
        self.arrived = asyncio.get_running_loop().time()  # TTFT counts from here
        sim.requests += 1
        if sim.api_key and headers.get("authorization") != f"Bearer {sim.api_key}":
            self._write_raw(_response(401, _error("Incorrect API key.", "invalid_api_key")))
            return
        if path.endswith("/models") and method == "GET":
            data = [{"id": "flint-simulator", "object": "model", "created": 0,
                     "owned_by": "flint"}]  # fmt: skip
            self._write_raw(_response(200, {"object": "list", "data": data}))
            return
        if path.endswith("/sim/stats") and method == "GET":
            self._write_raw(_response(200, sim.stats()))
            return
        if path.endswith("/responses") and headers.get("upgrade", "").lower() == "websocket":
            await responses_server.serve_socket(self, self.head, headers)
            return
        if not path.endswith(("/chat/completions", "/responses")):
            self._write_raw(_response(404, _error(f"No route {path}.")))
            return
        if method != "POST":
            self._write_raw(_response(405, _error("Use POST.")))
            return
        try:
            request = json.loads(body)
            assert isinstance(request, dict)
        except (ValueError, AssertionError):
            self._write_raw(_response(400, _error("Body is not a JSON object.")))
            return
        sim.last_request = request
        sim.request_sizes.append(len(body))
        if path.endswith("/responses"):
            await responses_server.serve_http(self, request, headers)
            return
        only = sim.responses_only
        if only is True or (isinstance(only, set) and request.get("model") in only):
            self._write_raw(_response(404, responses.unsupported_error()))
            return
        answer = decide(request, sim.rules, headers.get("x-sim"))
        if sim.demo and not answer.scripted and "tokens" not in answer.options:
            # Off the event loop: the demo model parses code and may run ruff.
            await asyncio.get_running_loop().run_in_executor(None, _demo_answer, request, answer)
        if await self._fault_before_answer(answer):
            return
        prompt_tokens = _prompt_tokens(request)
        if prompt_tokens > sim.context_tokens:
            message = (
                f"This model's maximum context length is {sim.context_tokens} tokens; "
                f"your messages resulted in {prompt_tokens} tokens."
            )
            self._write_raw(_response(400, _error(message, "context_length_exceeded")))
            return
        if request.get("stream"):
            await self._stream(request, answer, prompt_tokens)
        else:
            await self._whole(request, answer, prompt_tokens)

    def _fault(self, answer: Answer) -> str | None:
        fault = answer.options.get("fault")
        if fault is None:
            return None
        times = answer.options.get("times")
        if times is not None:
            self.sim.fault_seen[answer.fault_key] += 1
            if self.sim.fault_seen[answer.fault_key] > times:
                return None
        return fault

    async def _fault_before_answer(self, answer: Answer) -> bool:
        fault = self._fault(answer)
        answer.options["_fault"] = fault
        if fault == "429":
            retry_after = answer.options.get("retry_after", 1)
            self._write_raw(
                _response(
                    429,
                    _error("Rate limit reached for requests.", "rate_limit_exceeded"),
                    extra=f"retry-after: {retry_after:g}\r\n",
                )
            )
            return True
        if fault == "500":
            self._write_raw(_response(500, _error("The server had an error.", "server_error")))
            return True
        if fault == "hang":
            await self.closed.wait()  # no bytes, ever: only the client's timeout ends this
            return True
        return False

    def _speed(self, answer: Answer) -> tuple[float, float]:
        tps = float(answer.options.get("tps", self.sim.tokens_per_s))
        ttft = float(answer.options.get("ttft_ms", self.sim.ttft_ms)) / 1000
        if answer.options.get("_fault") == "slow":
            ttft += float(answer.options.get("delay_ms", 3000)) / 1000
        return tps, ttft

    def _pieces(self, request: dict[str, Any], answer: Answer) -> tuple[list[str], str]:
        pieces = tokenize(answer.text)
        limit = request.get("max_completion_tokens") or request.get("max_tokens")
        finish = "tool_calls" if answer.tool_calls else "stop"
        if isinstance(limit, int) and limit > 0 and len(pieces) > limit:
            pieces, finish = pieces[:limit], "length"
        return pieces, finish

    async def _whole(self, request: dict[str, Any], answer: Answer, prompt_tokens: int) -> None:
        tps, ttft = self._speed(answer)
        pieces, finish = self._pieces(request, answer)
        calls = _tool_calls(answer)
        completion_tokens = len(pieces) + sum(
            len(tokenize(c["function"]["arguments"])) for c in calls
        )
        await self._until_first_token(ttft)
        await asyncio.sleep(completion_tokens / tps if tps > 0 else 0)
        message: dict[str, Any] = {"role": "assistant", "content": "".join(pieces) or None}
        if calls:
            message["tool_calls"] = calls
        payload = {
            "id": _id(), "object": "chat.completion", "created": int(time.time()),
            "model": request.get("model", "flint-simulator"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": _usage(prompt_tokens, completion_tokens),
        }  # fmt: skip
        fault = answer.options.get("_fault")
        if fault == "malformed":
            self._write_raw(_response(200, b'{"id": "broken", "choices": [', raw=True))
        elif fault == "cut":
            data = _response(200, payload)
            self._write_raw(data[: len(data) - 20], close=True)
        else:
            self._write_raw(_response(200, payload))

    async def _stream(self, request: dict[str, Any], answer: Answer, prompt_tokens: int) -> None:
        sim = self.sim
        tps, ttft = self._speed(answer)
        pieces, finish = self._pieces(request, answer)
        fault = answer.options.get("_fault")
        cut_at = len(pieces)
        if fault in ("malformed", "cut"):
            cut_at = int(answer.options.get("after", len(pieces) // 2))
        model = json.dumps(request.get("model", "flint-simulator"))
        head = (
            f'data: {{"id":"{_id()}","object":"chat.completion.chunk",'
            f'"created":{int(time.time())},"model":{model},"choices":[{{"index":0,"delta":'
        ).encode()
        tail = b',"finish_reason":null}]}\n\n'
        events = _Events(pieces[:cut_at], head + b'{"content":', b"}" + tail)
        calls = _tool_calls(answer)
        call_events = _tool_call_events(head, tail, calls)
        completion_tokens = len(pieces) + len(call_events)
        self._write_raw(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        sim.open_streams += 1
        sim.streams_started += 1
        finished = False
        try:
            await self._until_first_token(ttft)
            self._chunk(head + b'{"role":"assistant","content":""}' + tail)
            await self._pace(events, tps)
            if fault == "malformed":
                self._chunk(b'data: {"id": "broken", "choices": [{"delta": {"content": \n\n')
            elif fault == "cut":
                self.transport.close()  # mid-body, no terminating chunk: the stream is cut
                finished = True
                return
            else:
                await self._pace(call_events, tps)
            self._chunk(head + b'{},"finish_reason":"' + finish.encode() + b'"}]}\n\n')
            if (request.get("stream_options") or {}).get("include_usage"):
                usage = {"id": "usage", "object": "chat.completion.chunk", "choices": [],
                         "usage": _usage(prompt_tokens, completion_tokens)}  # fmt: skip
                self._chunk(b"data: " + json.dumps(usage).encode() + b"\n\n")
            self._chunk(b"data: [DONE]\n\n")
            self._write_raw(b"0\r\n\r\n")
            finished = True
        except (_Closed, asyncio.CancelledError):
            pass
        finally:
            sim.open_streams -= 1
            if not finished:
                sim.streams_closed_early += 1

    async def _until_first_token(self, ttft: float) -> None:
        """Sleep out the rest of TTFT: the time spent preparing the answer counts toward it."""
        remaining = self.arrived + ttft - asyncio.get_running_loop().time()
        if remaining > 0:
            await asyncio.sleep(remaining)

    def _write_joined(self, events: list[bytes]) -> None:
        self._chunk(b"".join(events))

    def _chunk(self, data: bytes) -> None:
        self._write_raw(b"%x\r\n%s\r\n" % (len(data), data))

    async def _pace(self, events: Any, tps: float, write: Any = None) -> None:
        """Send events at `tps` per second, due ones together, one write per tick
        (`write` takes the due events; by default one HTTP chunk of them)."""
        if not events:
            return
        if write is None:
            write = self._write_joined
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent, total = 0, len(events)
        while sent < total:
            due = total if tps <= 0 else min(total, int((loop.time() - start) * tps) + 1)
            if due > sent:
                write(events[sent:due])
                sent = due
                await self._drain()
            if sent >= total:
                return
            wait = start + sent / tps - loop.time()
            await asyncio.sleep(max(wait, self.sim.tick))


class _Events:
    """The answer's SSE events, encoded when sent: a 100,000-token answer would otherwise
    cost the simulator seconds of CPU and ~15 MB per stream before its first token."""

    def __init__(self, pieces: list[str], before: bytes, after: bytes) -> None:
        self.pieces = pieces
        self.before = before
        self.after = after

    def __len__(self) -> int:
        return len(self.pieces)

    def __getitem__(self, span: slice) -> list[bytes]:
        before, after = self.before, self.after
        return [before + json.dumps(p).encode() + after for p in self.pieces[span]]


def _demo_answer(request: dict[str, Any], answer: Answer) -> None:
    from editor.assist.simulator import demo

    tools = [
        (tool.get("function") or {}).get("name", "")
        for tool in request.get("tools") or []
        if isinstance(tool, dict)
    ]
    try:
        reply = demo.respond(request.get("messages") or [], tools)
    except Exception as exc:  # a bug in the demo must not look like a model outage
        log.exception("the demo model failed on a request")
        answer.text = f"The demo model failed on this request ({type(exc).__name__}: {exc})."
        return
    if reply is not None:
        answer.text, answer.tool_calls = reply.text, reply.tool_calls


def _id() -> str:
    return "chatcmpl-" + secrets.token_hex(8)


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}  # fmt: skip


def _prompt_tokens(request: dict[str, Any]) -> int:
    chars = 0
    for message in request.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        chars += len(content) if isinstance(content, str) else len(json.dumps(content or ""))
    return chars // 4 + 1


def _tool_calls(answer: Answer) -> list[dict[str, Any]]:
    return [
        {"id": f"call_{index}_{secrets.token_hex(4)}", "type": "function",
         "function": {"name": call["name"], "arguments": call["arguments"]}}
        for index, call in enumerate(answer.tool_calls)
    ]  # fmt: skip


def _tool_call_events(head: bytes, tail: bytes, calls: list[dict[str, Any]]) -> list[bytes]:
    events = []
    for index, call in enumerate(calls):
        opening = {"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                   "function": {"name": call["function"]["name"], "arguments": ""}}]}  # fmt: skip
        events.append(head + json.dumps(opening).encode() + tail)
        for piece in tokenize(call["function"]["arguments"]):
            delta = {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
            events.append(head + json.dumps(delta).encode() + tail)
    return events


def _error(message: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "code": code}}


def _response(status: int, payload: Any, *, extra: str = "", raw: bool = False) -> bytes:
    body = payload if raw else json.dumps(payload).encode()
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body

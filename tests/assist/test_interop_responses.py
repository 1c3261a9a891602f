"""The Responses wire against a model server not written here: llm-mock-api (PyPI), an
OpenAI-compatible mock on FastAPI + uvicorn, over real HTTP. Its events are built by its
own serializer (sequence numbers, `response.in_progress`, whole-chunk deltas), so this
checks the wire reads the format, not just Flint's own simulator."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from llm_mock_api import MockServer, MockServerOptions
from llm_mock_api.types.reply import ReplyObject, ToolCall

from editor.assist import errors, gateway
from editor.assist.errors import ModelError
from editor.assist.tiers import tier_get

_PATH = {"type": "object", "properties": {"path": {"type": "string"}}}
TOOLS = [
    {"type": "function", "function": {"name": "read_file", "description": "Read a file.",
                                      "parameters": _PATH}},
]  # fmt: skip


class MockThread:
    """llm-mock-api on its own event loop in a thread, rules set before or between tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server = MockServer(MockServerOptions(default_latency=1, default_chunk_size=6))

    def start(self) -> MockThread:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(timeout=15)
        return self

    @property
    def base_url(self) -> str:
        return self.server.url + "/v1"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(timeout=15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def mock(settings):
    running = MockThread().start()
    tier = {"base_url": running.base_url, "api_key": "k", "timeout": 5.0, "wire": "responses",
            "transport": "http"}  # fmt: skip
    settings.FLINT_MODEL_TIERS = {
        name: {**tier, "model": f"mock-{name}"} for name in ("fast", "deep", "review")
    }
    settings.FLINT_MODEL_RETRIES = 0
    yield running.server
    running.stop()


def _ask(text: str) -> list[dict]:
    return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]


async def test_text_and_reasoning_stream_from_a_third_party_server(mock):
    mock.when("explain total").reply(
        ReplyObject(text="It sums the prices of the items.", reasoning="total adds prices.")
    )
    thoughts: list[str] = []
    stream = gateway.chat_stream(tier=tier_get("fast"), messages=_ask("explain total"))
    stream.on_reasoning = thoughts.append
    pieces = [piece async for piece in stream]
    assert "".join(pieces) == "It sums the prices of the items."
    assert len(pieces) > 1  # streamed in deltas, not one piece
    assert "".join(thoughts).strip() == "total adds prices." == stream.reasoning
    assert stream.finish_reason == "stop"
    assert stream.usage["completion_tokens"] >= 0 and "cached_tokens" in stream.usage


def test_a_tool_call_and_its_result_round_trip(mock):
    # Its rules match in the order given: the tool's result first, or the question (still
    # the last user message) would match again.
    mock.when_tool_result("call_read").reply(ReplyObject(text="a.py sets x."))
    mock.when("read a.py").reply(
        ReplyObject(tools=[ToolCall(id="call_read", name="read_file", args={"path": "a.py"})])
    )
    deep = tier_get("deep")
    messages = _ask("read a.py")
    first = gateway.chat_sync(tier=deep, messages=messages, tools=TOOLS)
    (call,) = first.tool_calls
    assert call["function"]["name"] == "read_file"
    assert json.loads(call["function"]["arguments"]) == {"path": "a.py"}
    assert first.finish_reason == "tool_calls"
    messages.append(first.message)
    messages.append({"role": "tool", "tool_call_id": call["id"], "content": "x = 1"})
    second = gateway.chat_sync(tier=deep, messages=messages, tools=TOOLS)
    assert second.text == "a.py sets x."


async def test_streamed_tool_call_arguments_arrive_whole(mock):
    mock.when("read b.py").reply(
        ReplyObject(tools=[ToolCall(name="read_file", args={"path": "src/deep/b.py"})])
    )
    stream = gateway.chat_stream(tier=tier_get("deep"), messages=_ask("read b.py"), tools=TOOLS)
    assert [piece async for piece in stream] == []
    (call,) = stream.tool_calls
    assert json.loads(call["function"]["arguments"]) == {"path": "src/deep/b.py"}


async def test_its_errors_map_onto_flints_kinds(mock):
    mock.next_error(429, "Slow down.", "rate_limit_error")
    stream = gateway.chat_stream(tier=tier_get("fast"), messages=_ask("anything"))
    with pytest.raises(ModelError) as caught:
        [piece async for piece in stream]
    assert caught.value.kind == errors.RATE_LIMITED

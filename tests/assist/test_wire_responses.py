"""The Responses wire against the real simulator: HTTP streaming and WebSocket mode, over
real sockets, through the gateway the features use."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from editor.assist import errors, gateway
from editor.assist.errors import ModelError
from editor.assist.responses_shape import OUTPUT_KEY
from editor.assist.simulator import rules_from, tokenize
from editor.assist.tiers import tier_get, wire_resolve

TRANSPORTS = ("http", "websocket")
TOOLS = [
    {"type": "function", "function": {"name": "read_file", "description": "Read a file.",
     "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "apply_patch", "description": "Patch.",
     "parameters": {"type": "object", "properties": {"patch": {"type": "string"}}}}},
]  # fmt: skip
PATCH = "*** Begin Patch\n*** Update File: a.py\n@@\n-x = 1\n+x = 2\n*** End Patch\n"


@pytest.fixture(params=TRANSPORTS)
def transport(request, settings, tiers):
    """Every tier on the Responses wire, over one transport."""
    settings.FLINT_MODEL_TIERS = {
        name: {**config, "wire": "responses", "transport": request.param}
        for name, config in tiers.items()
    }
    return request.param


def _ask(text: str) -> list[dict]:
    return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]


async def _drain(stream: gateway.ChatStream) -> str:
    return "".join([piece async for piece in stream])


async def test_text_streams_with_usage_cached_and_reasoning_tokens(transport, simulator):
    simulator.simulator.rules = rules_from(
        [{"match": "rename", "reasoning": "The callers use total.", "reply": "def total():\n"}]
    )
    thoughts: list[str] = []
    stream = gateway.chat_stream(tier=tier_get("fast"), messages=_ask("rename it"))
    stream.on_reasoning = thoughts.append
    assert await _drain(stream) == "def total():\n"
    assert "".join(thoughts).strip() == "The callers use total."
    assert stream.reasoning == "The callers use total."
    reasoning_tokens = len(tokenize("The callers use total."))
    assert stream.usage["reasoning_tokens"] == reasoning_tokens
    assert stream.usage["completion_tokens"] == len(tokenize("def total():\n")) + reasoning_tokens
    assert stream.usage["cached_tokens"] == 0
    assert stream.finish_reason == "stop"
    assert stream.model == "sim-fast"
    sent = simulator.simulator.last_request
    assert sent["instructions"] == "Be brief."
    assert sent["input"] == [{"role": "user", "content": "rename it"}]
    assert sent["store"] is False and sent["include"] == ["reasoning.encrypted_content"]


async def test_max_tokens_ends_incomplete_as_length(transport):
    stream = gateway.chat_stream(
        tier=tier_get("fast"), messages=_ask("go [[sim:tokens=100]]"), max_tokens=7
    )
    text = await _drain(stream)
    assert len(tokenize(text)) == 7
    assert stream.finish_reason == "length"


def _two_turns(simulator) -> None:
    simulator.simulator.rules = rules_from(
        [
            {"marker": "task-9", "turn": 0, "reasoning": "Read, then patch.", "tool_calls": [
                {"name": "read_file", "arguments": {"path": "a.py"}},
                {"name": "apply_patch", "arguments": {"patch": PATCH}},
            ]},
            {"marker": "task-9", "turn": 1, "reply": "Patched a.py."},
        ]
    )  # fmt: skip


def test_tool_calls_pair_by_call_id_and_apply_patch_is_freeform(transport, simulator):
    _two_turns(simulator)
    deep = tier_get("deep")
    messages = _ask("task-9: set x to 2")
    first = gateway.chat_sync(tier=deep, messages=messages, tools=TOOLS)
    offered = {tool["name"]: tool["type"] for tool in simulator.simulator.last_request["tools"]}
    assert offered == {"read_file": "function", "apply_patch": "custom"}
    assert first.finish_reason == "tool_calls"
    assert [c["function"]["name"] for c in first.tool_calls] == ["read_file", "apply_patch"]
    # The model wrote the envelope itself; callers get it as apply_patch's `patch`.
    assert json.loads(first.tool_calls[1]["function"]["arguments"]) == {"patch": PATCH}
    assert first.reasoning == "Read, then patch."
    messages.append(first.message)
    for call in first.tool_calls:
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": "ok " + call["id"]})
    second = gateway.chat_sync(tier=deep, messages=messages, tools=TOOLS)
    assert second.text == "Patched a.py."
    sent = simulator.simulator.last_request
    outputs = [item for item in sent["input"] if item.get("type", "").endswith("_output")]
    assert [(o["type"], o["call_id"]) for o in outputs] == [
        ("function_call_output", first.tool_calls[0]["id"]),
        ("custom_tool_call_output", first.tool_calls[1]["id"]),
    ]
    assert all(o["output"] == "ok " + o["call_id"] for o in outputs)
    if transport == "websocket":
        # The socket holds the first response: only the new items travel.
        assert sent["previous_response_id"] == first.message[OUTPUT_KEY]["id"]
        assert len(sent["input"]) == 2
        assert second.usage["cached_tokens"] > 0
    else:
        # Stateless HTTP: the whole conversation, the encrypted reasoning carried back
        # without the ids the provider does not keep.
        assert "previous_response_id" not in sent
        reasoning = [item for item in sent["input"] if item.get("type") == "reasoning"]
        assert len(reasoning) == 1 and "id" not in reasoning[0]
        sealed = base64.b64decode(reasoning[0]["encrypted_content"]).decode()
        assert sealed == "sim-reasoning:Read, then patch."


def test_store_chains_by_previous_response_id_over_http(settings, tiers, simulator):
    settings.FLINT_MODEL_TIERS = {
        **tiers, "deep": {**tiers["deep"], "wire": "responses", "transport": "http", "store": True}
    }  # fmt: skip
    _two_turns(simulator)
    deep = tier_get("deep")
    messages = _ask("task-9: go")
    first = gateway.chat_sync(tier=deep, messages=messages, tools=TOOLS)
    assert simulator.simulator.last_request["store"] is True
    assert "include" not in simulator.simulator.last_request
    messages.append(first.message)
    for call in first.tool_calls:
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": "ok"})
    second = gateway.chat_sync(tier=deep, messages=messages, tools=TOOLS)
    sent = simulator.simulator.last_request
    assert sent["previous_response_id"] == first.message[OUTPUT_KEY]["id"]
    assert [item["type"] for item in sent["input"]] == [
        "function_call_output", "custom_tool_call_output",
    ]  # fmt: skip
    assert second.text == "Patched a.py."


def test_builtin_apply_patch_call_items_become_the_envelope(transport, simulator):
    operation = {"type": "update_file", "path": "a.py", "diff": "@@\n-x = 1\n+x = 2"}
    simulator.simulator.rules = rules_from(
        [
            {"marker": "task-b", "turn": 0, "tool_calls": [{"name": "apply_patch", "item": {
                "type": "apply_patch_call", "operation": operation}}]},
            {"marker": "task-b", "turn": 1, "reply": "ok"},
        ]
    )  # fmt: skip
    messages = _ask("task-b")
    first = gateway.chat_sync(tier=tier_get("deep"), messages=messages, tools=TOOLS)
    (call,) = first.tool_calls
    patch = json.loads(call["function"]["arguments"])["patch"]
    assert patch == ("*** Begin Patch\n*** Update File: a.py\n@@\n-x = 1\n+x = 2\n*** End Patch\n")
    messages.append(first.message)
    messages.append({"role": "tool", "tool_call_id": call["id"], "content": "Error: no hunk"})
    gateway.chat_sync(tier=tier_get("deep"), messages=messages, tools=TOOLS)
    (answer,) = [i for i in simulator.simulator.last_request["input"] if "call_id" in i
                 and i["type"].endswith("_output")]  # fmt: skip
    assert answer == {"type": "apply_patch_call_output", "call_id": call["id"],
                      "status": "failed", "output": "Error: no hunk"}  # fmt: skip


async def test_a_rate_limit_is_retried_before_the_first_token(transport, simulator):
    stream = gateway.chat_stream(
        tier=tier_get("fast"), messages=_ask("hi [[sim:fault=429 times=1 retry_after=0]]")
    )
    assert await _drain(stream)
    assert stream.attempts == 2


async def test_a_server_error_is_model_down_after_the_retries(transport, settings):
    settings.FLINT_MODEL_RETRIES = 1
    stream = gateway.chat_stream(tier=tier_get("fast"), messages=_ask("hi [[sim:fault=500]]"))
    with pytest.raises(ModelError) as caught:
        await _drain(stream)
    assert caught.value.kind == errors.MODEL_DOWN
    assert stream.attempts == 2


async def test_a_hang_times_out(transport, settings):
    settings.FLINT_MODEL_RETRIES = 0
    stream = gateway.chat_stream(tier=tier_get("fast"), messages=_ask("hi [[sim:fault=hang]]"))
    with pytest.raises(ModelError) as caught:
        await _drain(stream)
    assert caught.value.kind == errors.TIMEOUT


@pytest.mark.parametrize("fault", ["malformed", "cut"])
async def test_a_broken_stream_keeps_what_arrived(transport, fault):
    stream = gateway.chat_stream(
        tier=tier_get("fast"), messages=_ask(f"hi [[sim:fault={fault} after=5 tokens=40]]")
    )
    with pytest.raises(ModelError) as caught:
        await _drain(stream)
    assert caught.value.kind == errors.CUT_OFF
    assert "What arrived is kept" in caught.value.message
    assert len(tokenize(stream.text)) == 5


def test_the_socket_reconnects_when_the_server_ends_it(settings, tiers, simulator):
    settings.FLINT_MODEL_TIERS = {
        **tiers, "deep": {**tiers["deep"], "wire": "responses", "transport": "websocket"}
    }  # fmt: skip
    simulator.simulator.rules = rules_from(
        [
            {"marker": "task-r", "turn": 0, "tool_calls": [
                {"name": "read_file", "arguments": {"path": "a.py"}}]},
            {"marker": "task-r", "turn": 1, "fault": "limit", "times": 1, "reply": "Done."},
        ]
    )  # fmt: skip
    deep = tier_get("deep")
    messages = _ask("task-r")
    first = gateway.chat_sync(tier=deep, messages=messages, tools=TOOLS)
    messages.append(first.message)
    messages.append({"role": "tool", "tool_call_id": first.tool_calls[0]["id"], "content": "x"})
    opened = simulator.simulator.sockets_opened
    second = gateway.chat_sync(tier=deep, messages=messages, tools=TOOLS)
    assert second.text == "Done."
    assert second.attempts == 1  # carried on within the step: no model error, no retry
    assert simulator.simulator.sockets_opened == opened + 1
    sent = simulator.simulator.last_request  # the new socket holds nothing: everything again
    assert "previous_response_id" not in sent
    assert [i.get("type") or i["role"] for i in sent["input"]] == [
        "user", "function_call", "function_call_output",
    ]  # fmt: skip


def test_a_refused_upgrade_falls_back_to_http_with_one_log_line(settings, tiers, caplog):
    from editor.assist.simulator import Simulator, SimulatorThread
    from tests.support.models import SIM_KEY

    plain = SimulatorThread(Simulator(api_key=SIM_KEY, ttft_ms=5, websocket_mode=False)).start()
    try:
        settings.FLINT_MODEL_TIERS = {
            **tiers, "deep": {**tiers["deep"], "base_url": plain.base_url, "wire": "responses",
                              "transport": "websocket"},
        }  # fmt: skip
        with caplog.at_level(logging.WARNING, logger="editor.assist.responses_socket"):
            for _ in range(2):
                assert gateway.chat_sync(tier=tier_get("deep"), messages=_ask("hi")).text
        lines = [r.getMessage() for r in caplog.records if "WebSocket mode" in r.getMessage()]
        assert len(lines) == 1
        assert "using the Responses API over HTTP streaming" in lines[0]
        assert plain.simulator.sockets_opened == 0
    finally:
        plain.stop()


def test_a_responses_only_model_on_the_chat_wire_names_the_setting(settings, tiers, simulator):
    simulator.simulator.responses_only = {"gpt-5.3-codex"}
    settings.FLINT_MODEL_TIERS = {
        **tiers, "deep": {**tiers["deep"], "model": "gpt-5.3-codex", "wire": "chat"}
    }  # fmt: skip
    with pytest.raises(ModelError) as caught:
        gateway.chat_sync(tier=tier_get("deep"), messages=_ask("hi"))
    assert caught.value.message == (
        "gpt-5.3-codex is served only on the Responses API: set FLINT_DEEP_MODEL_API=responses."
    )
    settings.FLINT_MODEL_TIERS["deep"]["wire"] = "responses"
    assert gateway.chat_sync(tier=tier_get("deep"), messages=_ask("hi")).text


@pytest.mark.parametrize(
    ("base_url", "wire"),
    [
        (None, "responses"),
        ("https://api.openai.com/v1", "responses"),
        ("https://team.openai.azure.com/openai/v1/", "responses"),
        ("http://localhost:8000/v1", "chat"),
        ("http://127.0.0.1:11434/v1", "chat"),
    ],
)
def test_auto_picks_the_responses_api_for_openai_and_azure_only(base_url, wire):
    assert wire_resolve("auto", base_url) == wire
    assert wire_resolve("chat", "https://api.openai.com/v1") == "chat"  # explicit wins


def test_auto_is_the_default_of_a_tier(settings, tiers):
    settings.FLINT_MODEL_TIERS = {
        **tiers, "deep": {**tiers["deep"], "base_url": "https://api.openai.com/v1"}
    }  # fmt: skip
    assert tier_get("deep").wire == "responses"
    assert tier_get("fast").wire == "chat"  # the simulator on localhost

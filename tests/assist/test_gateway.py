"""The gateway against the real simulator over HTTP, through the real openai SDK."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from editor.assist import gateway
from editor.assist.errors import ModelError
from editor.assist.simulator import rules_from, tokenize

USER = "user"


def _ask(text: str) -> list[dict]:
    return [{"role": "system", "content": "Be brief."}, {"role": USER, "content": text}]


async def _drain(stream: gateway.ChatStream) -> list[str]:
    return [piece async for piece in stream]


async def test_stream_returns_the_scripted_text_with_usage_and_model(tiers, simulator):
    simulator.simulator.rules = rules_from(
        [{"match": "rename", "reply": "def total(items):\n    return sum(items)\n"}]
    )
    stream = gateway.chat_stream(tier=gateway.tier_get("fast"), messages=_ask("rename it"))
    pieces = await _drain(stream)
    assert "".join(pieces) == "def total(items):\n    return sum(items)\n"
    assert stream.usage["completion_tokens"] == len(tokenize(stream.text))
    assert stream.usage["prompt_tokens"] > 0
    assert stream.model == "sim-fast"
    assert stream.finish_reason == "stop"
    assert stream.attempts == 1
    assert 0 < stream.ttft_ms < stream.duration_ms
    sent = simulator.simulator.last_request
    assert sent["stream_options"] == {"include_usage": True}


async def test_stream_sends_max_tokens_and_stops_at_length(tiers):
    stream = gateway.chat_stream(
        tier=gateway.tier_get("fast"), messages=_ask("go [[sim:tokens=100]]"), max_tokens=7
    )
    await _drain(stream)
    assert stream.usage["completion_tokens"] == 7
    assert stream.finish_reason == "length"


async def test_streamed_tool_calls_arrive_whole(tiers, simulator):
    simulator.simulator.rules = rules_from(
        [{"marker": "task-1", "tool_calls": [
            {"name": "read_file", "arguments": {"path": "src/a.py"}},
            {"name": "apply_patch", "arguments": {"patch": "*** Begin Patch\n*** End Patch"}},
        ]}]
    )  # fmt: skip
    stream = gateway.chat_stream(tier=gateway.tier_get("deep"), messages=_ask("task-1: go"))
    assert await _drain(stream) == []
    assert stream.finish_reason == "tool_calls"
    names = [call["function"]["name"] for call in stream.tool_calls]
    assert names == ["read_file", "apply_patch"]
    assert json.loads(stream.tool_calls[0]["function"]["arguments"]) == {"path": "src/a.py"}
    assert stream.tool_calls[1]["id"].startswith("call_1_")


async def test_whole_answer_with_scripted_multi_step_tool_calls(tiers, simulator):
    simulator.simulator.rules = rules_from(
        [
            {"marker": "task-7", "turn": 0,
             "tool_calls": [{"name": "read_file", "arguments": {"path": "a.py"}}]},
            {"marker": "task-7", "turn": 1, "reply": "Renamed x to y."},
        ]
    )  # fmt: skip
    tier = gateway.tier_get("deep")
    first = await gateway.chat(tier=tier, messages=_ask("task-7"))
    assert first.finish_reason == "tool_calls"
    call = first.tool_calls[0]
    assert (call["function"]["name"], json.loads(call["function"]["arguments"])) == (
        "read_file",
        {"path": "a.py"},
    )
    follow_up = [
        *_ask("task-7"),
        {"role": "assistant", "content": None, "tool_calls": first.tool_calls},
        {"role": "tool", "tool_call_id": call["id"], "content": "x = 1"},
    ]
    second = await gateway.chat(tier=tier, messages=follow_up)
    assert second.text == "Renamed x to y."
    assert second.usage["completion_tokens"] > 0


def test_sync_client_for_workers(tiers, simulator):
    simulator.simulator.rules = rules_from([{"match": "review", "reply": "Looks fine."}])
    result = gateway.chat_sync(tier=gateway.tier_get("review"), messages=_ask("review this"))
    assert (result.text, result.model, result.tier) == ("Looks fine.", "sim-review", "review")


@pytest.mark.parametrize(
    ("fault", "kind", "requests", "words"),
    [
        ("429 retry_after=0.05", "rate_limited", 3, "rate-limited"),
        ("500", "model_down", 3, "HTTP 500"),
        ("hang", "timeout", 1, "did not answer within 1 s"),
        ("slow delay_ms=1500", "timeout", 1, "did not answer"),
    ],
)
async def test_faults_before_any_token(tiers, simulator, fault, kind, requests, words):
    stream = gateway.chat_stream(
        tier=gateway.tier_get("fast"), messages=_ask(f"[[sim:fault={fault}]]")
    )
    with pytest.raises(ModelError) as caught:
        await _drain(stream)
    assert caught.value.kind == kind
    assert words in caught.value.message
    assert "fast model" in caught.value.message
    assert simulator.simulator.requests == requests  # retried only when worth it
    assert stream.text == ""


@pytest.mark.parametrize("fault", ["malformed", "cut"])
async def test_faults_after_partial_output_keep_it_and_never_retry(tiers, simulator, fault):
    stream = gateway.chat_stream(
        tier=gateway.tier_get("fast"),
        messages=_ask(f"[[sim:fault={fault} after=12 tokens=40]]"),
    )
    with pytest.raises(ModelError) as caught:
        await _drain(stream)
    assert caught.value.kind == "cut_off"
    assert "What arrived is kept" in caught.value.message
    assert len(stream.text) > 0
    reference = await _reference_text(f"[[sim:fault={fault} after=12 tokens=40]]")
    assert reference.startswith(stream.text)
    assert simulator.simulator.requests == 1


async def _reference_text(prompt: str) -> str:
    """What the simulator would have said without the fault: the answer is deterministic."""
    from editor.assist.simulator.script import decide

    return decide({"messages": _ask(prompt)}, []).text


async def test_a_fault_that_clears_is_retried_before_the_first_token(tiers, simulator):
    started = time.perf_counter()
    stream = gateway.chat_stream(
        tier=gateway.tier_get("fast"), messages=_ask("[[sim:fault=429 times=1 retry_after=0.3]]")
    )
    text = "".join(await _drain(stream))
    assert text and stream.attempts == 2
    assert time.perf_counter() - started >= 0.3  # Retry-After was honoured


async def test_a_long_retry_after_is_not_waited_for(tiers, simulator, settings):
    settings.FLINT_MODEL_RETRY_AFTER_MAX_S = 1.0
    started = time.perf_counter()
    stream = gateway.chat_stream(
        tier=gateway.tier_get("fast"), messages=_ask("[[sim:fault=429 retry_after=30]]")
    )
    with pytest.raises(ModelError) as caught:
        await _drain(stream)
    assert caught.value.kind == "rate_limited"
    assert time.perf_counter() - started < 1.0
    assert simulator.simulator.requests == 1


async def test_cancelling_the_reader_closes_the_upstream_stream(tiers, simulator):
    sim = simulator.simulator
    sim.tokens_per_s = 200
    stream = gateway.chat_stream(
        tier=gateway.tier_get("fast"), messages=_ask("[[sim:tokens=2000]]")
    )
    first = asyncio.Event()

    async def read() -> None:
        async for _ in stream:
            first.set()

    task = asyncio.create_task(read())
    await asyncio.wait_for(first.wait(), 5)
    assert sim.open_streams == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if sim.open_streams == 0:
            break
        await asyncio.sleep(0.01)
    assert sim.open_streams == 0
    assert sim.streams_closed_early == 1


async def test_too_large_a_prompt_is_reported_as_such(tiers, simulator):
    simulator.simulator.context_tokens = 50
    stream = gateway.chat_stream(tier=gateway.tier_get("fast"), messages=_ask("x " * 400))
    with pytest.raises(ModelError) as caught:
        await _drain(stream)
    assert caught.value.kind == "too_large"
    assert simulator.simulator.requests == 1


async def test_a_wrong_key_is_model_down_without_leaking_the_key(tiers, settings):
    settings.FLINT_MODEL_TIERS = {
        **settings.FLINT_MODEL_TIERS,
        "fast": {**settings.FLINT_MODEL_TIERS["fast"], "api_key": "wrong-secret"},
    }
    stream = gateway.chat_stream(tier=gateway.tier_get("fast"), messages=_ask("hi"))
    with pytest.raises(ModelError) as caught:
        await _drain(stream)
    assert caught.value.kind == "model_down"
    assert "credentials" in caught.value.message
    assert "wrong-secret" not in caught.value.message


async def test_an_unconfigured_tier_says_so(settings):
    settings.FLINT_MODEL_TIERS = {
        **settings.FLINT_MODEL_TIERS,
        "fast": {"base_url": None, "api_key": None, "model": "m", "timeout": 1.0},
    }
    stream = gateway.chat_stream(tier=gateway.tier_get("fast"), messages=_ask("hi"))
    with pytest.raises(ModelError) as caught:
        await _drain(stream)
    assert caught.value.kind == "model_down"
    assert "not configured" in caught.value.message


def test_unknown_tier_is_invalid():
    with pytest.raises(ModelError) as caught:
        gateway.tier_get("huge")
    assert caught.value.kind == "invalid"


class _CountingPacer:
    """Holds each read back by `pause` seconds, as the relay does between frames."""

    def __init__(self, pause: float) -> None:
        self.pause = pause
        self.reads = 0
        self.backlogged = 0

    async def before_read(self, *, backlog: bool) -> None:
        self.reads += 1
        self.backlogged += backlog
        if not backlog:
            await asyncio.sleep(self.pause)


async def _paced(stream: gateway.ChatStream, pacer: _CountingPacer) -> list[str]:
    token = gateway.PACER.set(pacer)
    try:
        return await _drain(stream)
    finally:
        gateway.PACER.reset(token)


async def test_a_paced_reader_reads_many_model_writes_at_once(tiers, simulator):
    # 500 tokens at 5,000 tok/s: the simulator writes every 2 ms, ~50 writes in 100 ms.
    simulator.simulator.ttft_ms = 0
    pacer = _CountingPacer(pause=0.015)
    stream = gateway.chat_stream(tier=gateway.tier_get("fast"), messages=_ask("[[sim:tokens=500]]"))
    text = "".join(await _paced(stream, pacer))
    assert len(tokenize(text)) == 500 and stream.finish_reason == "stop"
    assert pacer.reads < 25  # one read per pause (~7 in 100 ms), not one per write


async def test_a_model_faster_than_the_pace_is_read_flat_out(tiers, simulator):
    # 40,000 tokens as fast as the simulator goes: several MB, more than one read holds.
    pacer = _CountingPacer(pause=0.5)
    stream = gateway.chat_stream(
        tier=gateway.tier_get("fast"),
        messages=_ask("[[sim:tokens=40000 tps=0 ttft_ms=0]]"),
        max_tokens=50_000,
    )
    started = time.perf_counter()
    text = "".join(await _paced(stream, pacer))
    assert len(tokenize(text)) == 40_000
    # Most reads came back full, and the pacer was told not to wait before the next:
    # paused before every read, this would take reads x 0.5 s.
    assert pacer.backlogged > 10 and pacer.reads - pacer.backlogged <= 5
    assert time.perf_counter() - started < pacer.pause * 8


async def test_other_readers_are_not_paced(tiers, simulator):
    simulator.simulator.ttft_ms = 0
    pacer = _CountingPacer(pause=0.015)
    token = gateway.PACER.set(pacer)
    try:
        # A task started without the pacer (as a Celery-side or unrelated reader would be).
        async def unpaced() -> list[str]:
            gateway.PACER.set(None)
            return await _drain(
                gateway.chat_stream(tier=gateway.tier_get("fast"), messages=_ask("hi"))
            )

        assert await asyncio.create_task(unpaced())
    finally:
        gateway.PACER.reset(token)
    assert pacer.reads == 0

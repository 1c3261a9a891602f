"""The room's assist features on the Responses wire, both transports: the real ASGI app,
the simulator over real HTTP and WebSocket mode. Features do not know their wire."""

from __future__ import annotations

import pytest

from editor.assist.simulator import rules_from, tokenize
from tests.assist.test_relay import EDIT, _join, _stream, _until, _usage

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["http", "websocket"])
def responses(request, settings, tiers):
    settings.FLINT_MODEL_TIERS = {
        name: {**config, "wire": "responses", "transport": request.param}
        for name, config in tiers.items()
    }
    return request.param


async def test_completion_streams_and_is_metered(cast, responses, simulator):
    bob = await _join(cast.bob, cast.room)
    await bob.send_json_to(
        {"type": "assist.complete", "request_id": "c1", "path": "calc.py",
         "prefix": "def add(a, b):\n    [[sim:tokens=60]]", "suffix": "\n", "snippets": []}
    )  # fmt: skip
    start, deltas, done = await _stream(bob, "c1")
    assert (start["tier"], start["model"]) == ("fast", "sim-fast")
    assert len(tokenize("".join(d["text"] for d in deltas))) == 60
    assert done["status"] == "ok" and done["usage"]["completion_tokens"] == 60
    assert not done["usage"]["estimated"]
    sent = simulator.simulator.last_request
    assert "<CURSOR>" in str(sent["input"]) and "messages" not in sent
    await bob.disconnect()
    [event] = await _usage(1, feature="inline_completion")
    assert (event.completion_tokens, event.tokens_estimated) == (60, False)


async def test_quick_edit_streams_to_the_room(cast, responses, simulator):
    simulator.simulator.rules = rules_from([{"match": "use price", "reply": EDIT}])
    alice, bob = await _join(cast.alice, cast.room), await _join(cast.bob, cast.room)
    await bob.send_json_to(
        {"type": "assist.edit", "request_id": "e1", "path": "shop.py",
         "selection": "def total(items):\n    return sum(items)\n",
         "instruction": "use price", "before": "", "after": "\n",
         "anchor": {"doc": "d1", "from": "AQID", "to": "BAUG"}}
    )  # fmt: skip
    for socket in (alice, bob):
        _, deltas, done = await _stream(socket, "e1")
        assert "".join(d["text"] for d in deltas) == EDIT == done["text"]
    for socket in (alice, bob):
        await socket.disconnect()


async def test_qa_shows_the_reasoning_summary_as_thinking_before_the_answer(
    cast, responses, simulator
):
    simulator.simulator.rules = rules_from(
        [{"match": "What does total do", "reasoning": "It loops over items and adds prices.",
          "reply": "It sums the prices."}]
    )  # fmt: skip
    bob, carol = await _join(cast.bob, cast.room), await _join(cast.carol, cast.room)
    await bob.send_json_to(
        {"type": "assist.ask", "request_id": "q1", "question": "What does total do?",
         "path": "", "file_text": "", "selection": ""}
    )  # fmt: skip
    for socket in (bob, carol):
        await _until(socket, "assist.start", "q1")
        order, thinking, text = [], "", ""
        while True:
            frame = await socket.receive_json_from(timeout=5)
            if frame.get("request_id") != "q1":
                continue
            order.append(frame["type"])
            if frame["type"] == "assist.thinking":
                thinking += frame["text"]
            elif frame["type"] == "assist.delta":
                text += frame["text"]
            else:
                break
        assert thinking.strip() == "It loops over items and adds prices."
        assert text == "It sums the prices."
        assert order.index("assist.delta") > order.index("assist.thinking")
        assert order[-1] == "assist.done"
    for socket in (bob, carol):
        await socket.disconnect()


async def test_a_completion_never_carries_thinking(cast, responses, simulator):
    simulator.simulator.rules = rules_from([{"match": "", "reasoning": "hmm", "reply": "x + y"}])
    bob = await _join(cast.bob, cast.room)
    await bob.send_json_to(
        {"type": "assist.complete", "request_id": "c2", "path": "a.py", "prefix": "a",
         "suffix": "", "snippets": []}
    )  # fmt: skip
    frames = []
    while (frame := await bob.receive_json_from(timeout=5))["type"] != "assist.done":
        frames.append(frame["type"])
    assert "assist.thinking" not in frames
    await bob.disconnect()


@pytest.mark.parametrize(
    ("fault", "kind", "partial"),
    [
        ("429 retry_after=5", "rate_limited", False),
        ("500", "model_down", False),
        ("cut after=20", "cut_off", True),
        ("malformed after=20", "cut_off", True),
    ],
)
async def test_faults_reach_the_room_with_partial_output_kept(
    cast, responses, simulator, settings, fault, kind, partial
):
    settings.FLINT_MODEL_RETRIES = 0
    bob = await _join(cast.bob, cast.room)
    await bob.send_json_to(
        {"type": "assist.ask", "request_id": "q2", "question": f"go [[sim:fault={fault}]]",
         "path": "", "file_text": "", "selection": ""}
    )  # fmt: skip
    _, deltas, error = await _stream(bob, "q2")
    assert error["type"] == "assist.error" and error["kind"] == kind
    assert error["partial"] is partial
    if partial:
        assert error["text"] == "".join(d["text"] for d in deltas) != ""
    await bob.disconnect()

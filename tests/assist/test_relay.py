"""assist.* over the room socket, against the real ASGI app and the simulator over HTTP."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from editor.assist.selectors import completion_acceptance
from editor.assist.services import room_route_set
from editor.assist.simulator import rules_from, tokenize
from editor.usage.models import UsageEvent, UserLimit
from tests.support.sockets import room_socket

pytestmark = pytest.mark.django_db(transaction=True)
EDIT = "def total(items):\n    return sum(item.price for item in items)\n"


async def _join(user, room) -> WebsocketCommunicator:
    socket = await room_socket(user, room)
    assert (await socket.receive_json_from())["type"] == "hello"
    return socket


async def _until(socket, kind: str, request_id: str | None = None, timeout: float = 5) -> dict:
    """Skip presence and other requests' frames until `kind` (for `request_id`) arrives."""
    while True:
        frame = await socket.receive_json_from(timeout=timeout)
        if frame["type"] == kind and (request_id is None or frame.get("request_id") == request_id):
            return frame


async def _stream(socket, request_id: str) -> tuple[dict, list[dict], dict]:
    """start, the deltas, and the final frame (done or error) of one request."""
    start = await _until(socket, "assist.start", request_id)
    deltas = []
    while True:
        frame = await socket.receive_json_from(timeout=5)
        if frame.get("request_id") != request_id:
            continue
        if frame["type"] == "assist.delta":
            deltas.append(frame)
        elif frame["type"] in ("assist.done", "assist.error"):
            return start, deltas, frame


async def _usage(count: int, **filters) -> list[UsageEvent]:
    """The usage rows matching `filters`, once `count` of them are written.

    A stream's row is written after its last frame is sent, so a test that reads right
    after `assist.done` (or a disconnect) must wait for it.
    """
    rows = sync_to_async(lambda: list(UsageEvent.objects.filter(**filters)))
    deadline = time.monotonic() + 5
    while len(found := await rows()) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return found


async def test_completion_streams_to_the_asker_in_coalesced_frames(cast, tiers, simulator):
    bob = await _join(cast.bob, cast.room)
    await bob.send_json_to(
        {"type": "assist.complete", "request_id": "c1", "path": "calc.py",
         "prefix": "def add(a, b):\n    [[sim:tokens=100]]", "suffix": "\n",
         "snippets": [{"path": "util.py", "text": "def helper(): pass"}]}
    )  # fmt: skip
    start, deltas, done = await _stream(bob, "c1")
    assert (start["tier"], start["model"], start["demo"], start["trimmed"]) == (
        "fast", "sim-fast", False, False,
    )  # fmt: skip
    assert "api_key" not in str(start) and "sim-key" not in str(start)
    text = "".join(d["text"] for d in deltas)
    assert len(tokenize(text)) == 100
    assert len(deltas) < 100 / 4  # never one frame per token
    assert done["status"] == "ok"
    assert done["usage"] == {"prompt_tokens": done["usage"]["prompt_tokens"],
                             "completion_tokens": 100, "estimated": False}  # fmt: skip
    assert done["ttft_ms"] > 0 and done["duration_ms"] >= done["ttft_ms"]
    sent = simulator.simulator.last_request["messages"][-1]["content"]
    assert "<CURSOR>" in sent and "def helper(): pass" in sent
    await bob.disconnect()
    [event] = await _usage(1, feature="inline_completion")
    assert (event.user_id, event.room_id, event.team_id) == (
        cast.bob.pk,
        cast.room.pk,
        cast.team.pk,
    )
    assert (event.completion_tokens, event.tokens_estimated, event.status) == (100, False, "ok")
    assert event.tokens_per_s > 0


async def test_a_newer_completion_cancels_the_older_one_upstream(cast, tiers, simulator):
    sim = simulator.simulator
    sim.tokens_per_s = 100
    bob = await _join(cast.bob, cast.room)
    await bob.send_json_to(
        {"type": "assist.complete", "request_id": "old", "prefix": "x [[sim:tokens=500]]"}
    )
    await _until(bob, "assist.delta", "old")
    await bob.send_json_to(
        {"type": "assist.complete", "request_id": "new", "prefix": "y [[sim:tokens=5]]"}
    )
    ends = {}
    while len(ends) < 2:
        frame = await bob.receive_json_from(timeout=5)
        if frame["type"] in ("assist.done", "assist.error"):
            ends[frame["request_id"]] = frame
    assert ends["old"]["status"] == "cancelled"
    assert ends["old"]["text"]  # what had arrived
    assert ends["new"]["status"] == "ok"
    assert sim.streams_closed_early == 1 and sim.open_streams == 0
    await bob.disconnect()
    statuses = sorted(e.status for e in await _usage(2, feature="inline_completion"))
    assert statuses == ["cancelled", "ok"]


async def test_cancel_stops_a_quick_edit_for_everyone(cast, tiers, simulator):
    simulator.simulator.tokens_per_s = 100
    alice, bob = await _join(cast.alice, cast.room), await _join(cast.bob, cast.room)
    await bob.send_json_to(
        {"type": "assist.edit", "request_id": "e1", "selection": "x",
         "instruction": "expand [[sim:tokens=800]]"}
    )  # fmt: skip
    await _until(alice, "assist.delta", "e1")
    await bob.send_json_to({"type": "assist.cancel", "request_id": "e1"})
    for socket in (alice, bob):
        assert (await _until(socket, "assist.done", "e1"))["status"] == "cancelled"
    await asyncio.sleep(0.1)
    assert simulator.simulator.open_streams == 0
    await alice.disconnect()
    await bob.disconnect()


async def test_quick_edit_streams_to_the_whole_room_with_who_asked(cast, tiers, simulator):
    simulator.simulator.rules = rules_from([{"match": "use price", "reply": EDIT}])
    alice, bob = await _join(cast.alice, cast.room), await _join(cast.bob, cast.room)
    carol = await _join(cast.carol, cast.room)  # a viewer watches
    await bob.send_json_to(
        {"type": "assist.edit", "request_id": "e2", "path": "shop.py",
         "selection": "def total(items):\n    return sum(items)\n",
         "instruction": "use price", "before": "import x\n", "after": "\n",
         "anchor": {"doc": "d1", "from": "AQID", "to": "BAUG"}}
    )  # fmt: skip
    for socket in (alice, bob, carol):
        start, deltas, done = await _stream(socket, "e2")
        assert start["who"]["username"] == "bob"
        assert start["feature"] == "quick_edit"
        assert start["anchor"] == {"doc": "d1", "from": "AQID", "to": "BAUG"}
        assert "".join(d["text"] for d in deltas) == EDIT == done["text"]
    for socket in (alice, bob, carol):
        await socket.disconnect()


async def test_room_qa_streams_to_everyone_and_late_joiners_get_the_history(cast, tiers, simulator):
    simulator.simulator.rules = rules_from(
        [{"match": "What does total do", "reply": "It sums the prices."}]
    )
    bob, carol = await _join(cast.bob, cast.room), await _join(cast.carol, cast.room)
    await bob.send_json_to(
        {"type": "assist.ask", "request_id": "q1", "question": "What does total do?",
         "path": "shop.py", "file_text": "def total(items): ...", "selection": "total"}
    )  # fmt: skip
    for socket in (bob, carol):
        start, deltas, _ = await _stream(socket, "q1")
        assert start["question"] == "What does total do?"
        assert "".join(d["text"] for d in deltas) == "It sums the prices."
    sent = simulator.simulator.last_request["messages"]
    assert any("def total(items): ..." in m["content"] for m in sent)
    await asyncio.sleep(0.2)  # the answer row is written after the done frame
    alice = await _join(cast.alice, cast.room)
    await alice.send_json_to({"type": "assist.history"})
    history = (await _until(alice, "assist.history"))["messages"]
    assert [(m["kind"], m["text"], m["who"]["username"]) for m in history] == [
        ("question", "What does total do?", "bob"),
        ("answer", "It sums the prices.", "bob"),
    ]
    assert history[1]["status"] == "ok" and history[1]["model"] == "sim-fast"
    # Named as the live frames name the asker: display name and cursor colour.
    live = {key: start["who"][key] for key in ("id", "username", "name", "color")}
    assert history[0]["who"] == live and live["name"] == "Bob"
    # Viewers watch the answers live, and read the history too (but cannot ask).
    await carol.send_json_to({"type": "assist.history"})
    assert (await _until(carol, "assist.history"))["messages"] == history
    for socket in (alice, bob, carol):
        await socket.disconnect()


async def test_a_question_refused_by_quota_is_kept_with_the_refusal_the_asker_saw(cast, tiers):
    await sync_to_async(UserLimit.objects.create)(user=cast.bob, requests_per_minute=1)
    bob = await _join(cast.bob, cast.room)
    await bob.send_json_to({"type": "assist.ask", "request_id": "q1", "question": "One?"})
    await _stream(bob, "q1")
    await bob.send_json_to({"type": "assist.ask", "request_id": "q2", "question": "Two?"})
    refused = await _until(bob, "assist.error", "q2")
    assert refused["kind"] == "quota"

    alice = await _join(cast.alice, cast.room)
    deadline = time.monotonic() + 5
    while True:  # the answer rows are written just after their last frames
        await alice.send_json_to({"type": "assist.history"})
        history = (await _until(alice, "assist.history"))["messages"]
        if len(history) == 4 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    by_kind = {(m["request_id"], m["kind"]): m for m in history}
    answer = by_kind[("q2", "answer")]
    assert (answer["status"], answer["error"], answer["text"]) == (
        "quota", refused["message"], "",
    )  # fmt: skip
    assert by_kind[("q1", "answer")]["error"] == ""
    for socket in (alice, bob):
        await socket.disconnect()


@pytest.mark.parametrize(
    ("fault", "kind", "partial"),
    [
        ("429 retry_after=5", "rate_limited", False),
        ("500", "model_down", False),
        ("hang", "timeout", False),
        ("cut after=20", "cut_off", True),
        ("malformed after=20", "cut_off", True),
    ],
)
async def test_faults_reach_the_room_with_partial_output_kept(
    cast, tiers, simulator, settings, fault, kind, partial
):
    settings.FLINT_MODEL_RETRY_AFTER_MAX_S = 0.05  # do not wait out the 429 here
    alice, bob = await _join(cast.alice, cast.room), await _join(cast.bob, cast.room)
    await bob.send_json_to(
        {"type": "assist.edit", "request_id": "f1", "selection": "x",
         "instruction": f"go [[sim:fault={fault} tokens=60]]"}
    )  # fmt: skip
    for socket in (alice, bob):
        _, deltas, error = await _stream(socket, "f1")
        assert error["type"] == "assist.error"
        assert (error["kind"], error["partial"]) == (kind, partial)
        assert "fast model" in error["message"]
        assert error["text"] == "".join(d["text"] for d in deltas)
        assert bool(error["text"]) is partial
    await alice.disconnect()
    await bob.disconnect()
    [event] = await _usage(1, feature="quick_edit")
    assert (event.status, event.error_kind) == ("error", kind)


async def test_a_viewer_is_refused_clearly(cast, tiers):
    carol = await _join(cast.carol, cast.room)
    await carol.send_json_to({"type": "assist.complete", "request_id": "v1", "prefix": "x"})
    error = await _until(carol, "assist.error")
    assert (error["kind"], error["request_id"]) == ("forbidden", "v1")
    assert "only view this room" in error["message"]
    await carol.send_json_to({"type": "ping", "t": 1})
    assert (await _until(carol, "pong"))["t"] == 1  # still connected
    await carol.disconnect()


async def test_per_user_cap_on_concurrent_streams(cast, tiers, simulator, settings):
    settings.FLINT_ASSIST_MAX_STREAMS_PER_USER = 1
    simulator.simulator.tokens_per_s = 100
    bob = await _join(cast.bob, cast.room)
    bob2 = await _join(cast.bob, cast.room)  # a second tab shares the allowance
    await bob.send_json_to(
        {"type": "assist.ask", "request_id": "a1", "question": "long [[sim:tokens=300]]"}
    )
    await _until(bob, "assist.start", "a1")
    await bob2.send_json_to({"type": "assist.ask", "request_id": "a2", "question": "more"})
    busy = await _until(bob2, "assist.error", "a2")
    assert busy["kind"] == "busy" and "1 answers streaming" in busy["message"]
    await bob.send_json_to({"type": "assist.cancel", "request_id": "a1"})
    await _until(bob, "assist.done", "a1")
    await bob2.send_json_to(
        {"type": "assist.ask", "request_id": "a3", "question": "now [[sim:tokens=3]]"}
    )
    assert (await _stream(bob2, "a3"))[2]["status"] == "ok"
    await bob.disconnect()
    await bob2.disconnect()


async def test_a_prompt_too_large_for_the_context_is_trimmed_and_says_so(
    cast, tiers, simulator, settings
):
    settings.FLINT_MODEL_CONTEXT_TOKENS = {"fast": 2048, "deep": 2048, "review": 2048}
    bob = await _join(cast.bob, cast.room)
    prefix = "".join(f"line_{n} = {n}\n" for n in range(5000)) + "tail = [[sim:tokens=5]]"
    await bob.send_json_to(
        {"type": "assist.complete", "request_id": "t1", "prefix": prefix, "suffix": "end\n" * 3}
    )
    start, _, done = await _stream(bob, "t1")
    assert start["trimmed"] is True
    assert any("lines before the cursor" in note for note in start["trim_notes"])
    assert done["status"] == "ok"
    sent = simulator.simulator.last_request["messages"][-1]["content"]
    assert "tail = [[sim:tokens=5]]<CURSOR>" in sent and "line_0 =" not in sent
    await bob.disconnect()


async def test_a_selection_too_large_to_trim_is_refused(cast, tiers, settings):
    settings.FLINT_MODEL_CONTEXT_TOKENS = {"fast": 2048, "deep": 2048, "review": 2048}
    bob = await _join(cast.bob, cast.room)
    await bob.send_json_to(
        {"type": "assist.edit", "request_id": "big", "selection": "x = 1\n" * 4000,
         "instruction": "rename"}
    )  # fmt: skip
    error = await _until(bob, "assist.error", "big")
    assert error["kind"] == "too_large" and "select less" in error["message"]
    await bob.disconnect()


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ({"type": "assist.complete", "prefix": "x"}, "request_id"),
        ({"type": "assist.edit", "request_id": "r", "selection": "x"}, "instruction is empty"),
        ({"type": "assist.ask", "request_id": "r", "question": 5}, "question must be text"),
        ({"type": "assist.complete", "request_id": "r", "tier": "huge"}, "no 'huge' model tier"),
        ({"type": "assist.launch", "request_id": "r"}, "Unknown message type"),
    ],
)
async def test_bad_requests_get_a_clear_error_and_the_socket_stays(cast, tiers, message, words):
    bob = await _join(cast.bob, cast.room)
    await bob.send_json_to(message)
    error = await _until(bob, "assist.error")
    assert error["kind"] == "invalid" and words in error["message"]
    await bob.send_json_to({"type": "ping", "t": 2})
    assert (await _until(bob, "pong"))["t"] == 2
    await bob.disconnect()


async def test_room_and_request_overrides_pick_the_tier(cast, tiers):
    await sync_to_async(room_route_set)(
        room=cast.room, actor=cast.alice, feature="quick_edit", tier="deep"
    )
    bob = await _join(cast.bob, cast.room)
    await bob.send_json_to(
        {"type": "assist.edit", "request_id": "r1", "selection": "x", "instruction": "go"}
    )
    start, _, done = await _stream(bob, "r1")
    assert (start["tier"], start["model"], done["model"]) == ("deep", "sim-deep", "sim-deep")
    await bob.send_json_to(
        {"type": "assist.edit", "request_id": "r2", "selection": "x", "instruction": "go",
         "tier": "review"}
    )  # fmt: skip
    start, _, _ = await _stream(bob, "r2")
    assert (start["tier"], start["model"]) == ("review", "sim-review")
    await bob.disconnect()


async def test_completion_feedback_feeds_the_acceptance_rate(cast, tiers):
    bob = await _join(cast.bob, cast.room)
    for request_id in ("c1", "c2"):  # feedback is for completions bob received
        await bob.send_json_to(
            {"type": "assist.complete", "request_id": request_id, "path": "a.py",
             "prefix": "x = ", "suffix": ""}
        )  # fmt: skip
        await _stream(bob, request_id)
    for request_id, events in (("c1", ["shown", "accepted"]), ("c2", ["shown", "dismissed"])):
        for event in [*events, "shown"]:  # a repeat is counted once
            await bob.send_json_to(
                {"type": "assist.feedback", "request_id": request_id, "event": event}
            )
    await bob.send_json_to({"type": "assist.feedback", "request_id": "c3", "event": "loved"})
    error = await _until(bob, "assist.error", "c3")
    assert "shown, accepted, dismissed" in error["message"]
    await bob.disconnect()
    rate = await sync_to_async(completion_acceptance)(room_id=cast.room.pk)
    assert rate == {"shown": 2, "accepted": 1, "dismissed": 1, "rate": 0.5}


async def test_a_1000_tok_s_stream_goes_out_about_once_per_frame_interval(
    cast, tiers, simulator, settings
):
    simulator.simulator.tokens_per_s = 1000  # the simulator writes every ~2 ms
    settings.FLINT_ASSIST_FRAME_MS = 15
    bob = await _join(cast.bob, cast.room)
    await bob.send_json_to(
        {"type": "assist.edit", "request_id": "e1", "selection": "x",
         "instruction": "[[sim:tokens=300]]"}
    )  # fmt: skip
    _, deltas, done = await _stream(bob, "e1")
    assert len(tokenize("".join(d["text"] for d in deltas))) == 300
    # ~300 ms of tokens: about 20 frames of 15 ms, not one per write (~150) nor one lump.
    assert 5 <= len(deltas) <= 300 / 15 + 5
    assert done["status"] == "ok"
    await bob.disconnect()


async def test_stale_routes_are_refreshed_behind_the_request(cast, tiers, monkeypatch):
    from editor.assist import dispatch

    monkeypatch.setattr(dispatch, "_ROUTES_TTL_S", 0.0)
    bob = await _join(cast.bob, cast.room)

    async def tier_of(request_id: str) -> str:
        await bob.send_json_to(
            {"type": "assist.edit", "request_id": request_id, "selection": "x",
             "instruction": "go"}
        )  # fmt: skip
        start, _, _ = await _stream(bob, request_id)
        return start["tier"]

    assert await tier_of("r1") == "fast"
    await sync_to_async(room_route_set)(
        room=cast.room, actor=cast.alice, feature="quick_edit", tier="deep"
    )
    # The stale routes answer at once (no database wait on the way to the first token)...
    assert await tier_of("r2") == "fast"
    # ...and the refresh they started is what the next requests see.
    assert await tier_of("r3") == "deep"
    await bob.disconnect()


async def test_an_unreachable_model_still_gets_start_then_a_clear_error(cast, tiers, settings):
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.FLINT_MODEL_TIERS = {
        **settings.FLINT_MODEL_TIERS,
        "fast": {**settings.FLINT_MODEL_TIERS["fast"], "base_url": f"http://127.0.0.1:{port}/v1"},
    }
    settings.FLINT_MODEL_RETRIES = 0
    bob = await _join(cast.bob, cast.room)
    await bob.send_json_to({"type": "assist.complete", "request_id": "c1", "prefix": "x = "})
    start, deltas, error = await _stream(bob, "c1")
    assert (start["type"], deltas, error["type"]) == ("assist.start", [], "assist.error")
    assert error["kind"] == "model_down" and "Could not reach" in error["message"]
    await bob.disconnect()


async def test_requests_do_not_wait_for_the_shared_sync_thread(cast, tiers):
    """The hot path (a request after the socket's first) needs no database: while
    asgiref's one shared sync thread is busy (usage rows, document saves), a ping is
    answered and a completion starts and streams at once."""
    import time

    bob = await _join(cast.bob, cast.room)
    await bob.send_json_to({"type": "assist.complete", "request_id": "c1", "prefix": "x = "})
    await _stream(bob, "c1")  # the first request loads the permission and the routes
    await asyncio.sleep(0.2)  # and its usage row is written
    busy = asyncio.create_task(sync_to_async(time.sleep)(2.0))  # the shared thread, busy
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    await bob.send_json_to({"type": "ping", "t": 1})
    assert (await _until(bob, "pong", timeout=1.0))["t"] == 1
    await bob.send_json_to(
        {"type": "assist.complete", "request_id": "c2", "prefix": "[[sim:tokens=5]]"}
    )
    deltas = []
    while not deltas:
        frame = await bob.receive_json_from(timeout=1.0)
        if frame["type"] == "assist.delta" and frame["request_id"] == "c2":
            deltas.append(frame)
    assert time.perf_counter() - started < 1.0 and not busy.done()
    await busy
    await bob.disconnect()

"""Issue #10, deep tasks and the review tier: items 6, 9, 10 and 14.

Real services and the real ASGI app; the simulator over HTTP is the only model server.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from editor.agents.models import ReviewRun, Snapshot, Task, TaskStep
from editor.agents.review import review_run, review_start
from editor.agents.runner import task_run
from editor.agents.services import task_start
from editor.agents.tools import SPECS, ToolBox
from editor.agents.workcopy import ToolError, WorkingCopy
from editor.assist.models import CompletionFeedback
from editor.assist.simulator import rules_from
from editor.usage import limits
from editor.usage.models import TeamLimit, UsageEvent, UsageStatus, UserLimit
from editor.usage.services import usage_record
from tests.api.helpers import ApiClient
from tests.support.sockets import room_socket

ROOT = Path(__file__).resolve().parents[2]
PATCH = "*** Begin Patch\n*** Update File: README.md\n-# App\n+# App (v2)\n*** End Patch"


@pytest.fixture
def fresh_counters(settings):
    """Quota counters of its own on the shared Redis, no cached limits, no worker on the
    queue (the tests run tasks and reviews in-process)."""
    settings.FLINT_CHANNEL_PREFIX = f"security-agents-{uuid.uuid4().hex[:8]}"
    settings.FLINT_AGENTS_QUEUE = f"agents-unread-{uuid.uuid4().hex[:8]}"
    limits.limits_forget()
    yield
    limits.limits_forget()


@pytest.fixture
def readme(cast):
    from editor.projects.services import file_create

    return file_create(room=cast.room, actor=cast.alice, path="README.md", text="# App\n")


def script(simulator, marker: str, turns: list[dict], extra: list[dict] | None = None) -> None:
    rules = [{"marker": marker, "turn": i, **turn} for i, turn in enumerate(turns)]
    simulator.simulator.rules = rules_from(rules + (extra or []))


def api_as(user) -> ApiClient:
    from editor.accounts.tokens import token_create

    _, raw = token_create(user=user, name="security tests", ttl_days=1)
    return ApiClient(raw)


# --- item 6: rooms and teams stay deletable after tasks ---------------------------------


def _room_with_a_task_review_and_usage(cast, simulator) -> Task:
    script(
        simulator,
        "deletable-task",
        [
            {"tool_calls": [{"name": "apply_patch", "arguments": {"patch": PATCH}}]},
            {"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]},
        ],
        extra=[{"match": "Review these files", "reply": "[]"}],
    )
    (task,) = task_start(room=cast.room, actor=cast.bob, prompt="deletable-task")
    assert task_run(task_id=task.pk) == "succeeded"
    task.refresh_from_db()
    task_start(room=cast.room, actor=cast.bob, prompt="deletable-task again")
    run = review_start(room=cast.room, actor=cast.bob, target="task", task=task)
    assert review_run(run_id=run.pk) == "0 comments"
    assert UsageEvent.objects.filter(room=cast.room).count() >= 3
    assert Snapshot.objects.filter(room=cast.room).count() == 2
    return task


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("what", ["room", "team"])
def test_rooms_and_teams_with_tasks_stay_deletable_and_usage_rows_remain(
    cast, readme, tiers, simulator, fresh_counters, what
):
    task = _room_with_a_task_review_and_usage(cast, simulator)
    usage_ids = set(UsageEvent.objects.filter(room=cast.room).values_list("id", flat=True))
    tokens = sum(e.prompt_tokens + e.completion_tokens for e in UsageEvent.objects.all())

    path = f"/api/rooms/{cast.room.pk}" if what == "room" else f"/api/teams/{cast.team.pk}"
    response = api_as(cast.alice).delete(path)

    assert response.status_code == 204, response.content
    assert not Task.objects.filter(pk=task.pk).exists()
    assert not Snapshot.objects.filter(room_id=cast.room.pk).exists()
    assert not ReviewRun.objects.filter(room_id=cast.room.pk).exists()
    # Usage stays for accounting: same rows, same tokens, still attributed to the task.
    kept = UsageEvent.objects.filter(id__in=usage_ids)
    assert set(kept.values_list("id", flat=True)) == usage_ids
    assert sum(e.prompt_tokens + e.completion_tokens for e in kept) == tokens
    assert kept.filter(task_id=task.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_room_with_tasks_is_deleted_from_its_settings_page(
    cast, readme, tiers, simulator, fresh_counters
):
    _room_with_a_task_review_and_usage(cast, simulator)
    client = Client()
    client.force_login(cast.alice)

    response = client.post(f"/rooms/{cast.room.pk}/delete/", {"confirm_name": cast.room.name})

    assert response.status_code == 302, response.content[:2000]
    assert response.url == f"/teams/{cast.team.pk}/"
    assert not Task.objects.filter(room_id=cast.room.pk).exists()
    assert UsageEvent.objects.filter(room__isnull=True, feature="task").exists()


# --- item 9: tool names from the model are data, never patterns --------------------------

HOSTILE_NAMES = [".*" * 40 + "!", "(", "x" * 10_000, "read_file\u202e)", "<img src=x>"]


@pytest.mark.django_db(transaction=True)
def test_unknown_tool_names_from_the_model_are_logged_escaped_and_the_task_finishes(
    cast, readme, tiers, simulator, fresh_counters
):
    calls = [{"name": name, "arguments": {}} for name in HOSTILE_NAMES]
    script(
        simulator,
        "hostile-names",
        [
            {"tool_calls": calls},
            {"tool_calls": [{"name": "finish", "arguments": {"summary": "ok"}}]},
        ],
    )
    (task,) = task_start(room=cast.room, actor=cast.bob, prompt="hostile-names")

    assert task_run(task_id=task.pk) == "succeeded"

    limit = TaskStep._meta.get_field("tool").max_length
    steps = list(TaskStep.objects.filter(task=task).order_by("seq"))
    assert all(len(step.tool) <= limit for step in steps)
    assert {s.tool for s in steps if s.tool} <= {*SPECS, "unknown tool"}
    unknown = [s for s in steps if s.tool == "unknown tool"]
    assert len(unknown) == 2 * len(HOSTILE_NAMES)  # each call and its result
    assert all(len(s.text) < 400 and "\u202e" not in s.text for s in unknown)
    results = [s.text for s in unknown if s.kind == "tool_result"]
    assert all(text.startswith("Error: no such tool") for text in results), results
    # The model was told too, in its own conversation.
    task.refresh_from_db()
    answers = [m["content"] for m in task.transcript if m.get("role") == "tool"]
    assert sum("no such tool" in a for a in answers) == len(HOSTILE_NAMES)


def test_the_task_log_builds_no_regular_expression_from_step_data():
    source = (ROOT / "static/src/room/agents/log.js").read_text()
    assert "new RegExp" not in source and "RegExp(" not in source


_NODE_SCRIPT = """
class FakeNode {}
class FakeElement extends FakeNode {
  constructor(tag) {
    super(); this.tag = tag; this.children = []; this.attrs = {}; this.dataset = {};
  }
  setAttribute(k, v) { this.attrs[k] = v; }
  append(...nodes) { this.children.push(...nodes); }
  addEventListener() {}
  get textContent() { return this.children.map((c) => c.textContent).join(""); }
}
class FakeText extends FakeNode {
  constructor(text) { super(); this.textContent = text; }
}
globalThis.Node = FakeNode;
globalThis.document = {
  createElement: (tag) => new FakeElement(tag),
  createTextNode: (text) => new FakeText(text),
};
const { stepElement } = await import(process.argv[1]);
const out = [];
for (const tool of JSON.parse(process.argv[2])) {
  const text = tool + "(" + "a".repeat(3000);
  const el = stepElement({ seq: 1, kind: "tool_call", tool, text, tokens: 0 });
  out.push(el.children.map((c) => c.textContent));
}
console.log(JSON.stringify(out));
"""


def test_the_task_log_draws_hostile_tool_names_as_text():
    """log.js run by node (a stub document): `(` must not throw, `.*` x 40 must not hang."""
    names = [".*" * 40 + "!", "(", "[", "read_file"]
    done = subprocess.run(
        ["node", "--input-type=module", "-e", _NODE_SCRIPT, "--",
         (ROOT / "static/src/room/agents/log.js").as_uri(), json.dumps(names)],
        capture_output=True, text=True, timeout=20, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    drawn = json.loads(done.stdout)
    for name, (shown_tool, shown_text) in zip(names, drawn, strict=True):
        assert shown_tool == name
        assert shown_text == "(" + "a" * 3000  # the tool's own name is cut from the text


# --- item 10: the search tool runs in linear time --------------------------------------


@pytest.mark.timeout(30)
def test_search_with_a_catastrophic_pattern_finishes_in_linear_time():
    copy = WorkingCopy(base={"a.txt": "a" * 5000 + "b\n", "b.txt": "aaa\n"})
    tools = ToolBox(copy, commands=False)

    result = tools.call("search", {"pattern": "(a+)+$"})

    assert result.short == "1 matches" and "b.txt:1: aaa" in result.content


@pytest.mark.parametrize("pattern", [r"(a)\1", r"foo(?=bar)", r"(?<!x)y"])
def test_search_refuses_backreferences_and_lookaround_with_a_clear_tool_error(pattern):
    tools = ToolBox(WorkingCopy(base={"a.txt": "foobar\n"}), commands=False)

    with pytest.raises(ToolError) as refused:
        tools.call("search", {"pattern": pattern})

    assert "simplify" in str(refused.value)
    assert "backreferences" in str(refused.value) and "lookaround" in str(refused.value)


# --- item 14: the review tier passes through the quotas ----------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_review_is_refused_by_a_spent_team_budget_and_fails_with_the_reason(
    cast, readme, tiers, simulator, fresh_counters
):
    TeamLimit.objects.create(team=cast.team, monthly_tokens=1_000)
    usage_record(
        user=cast.alice, team_id=cast.team.pk, tier="fast", model="sim-fast", feature="qa",
        status="ok", prompt_tokens=900, completion_tokens=100, tokens_estimated=False,
        duration_ms=10,
    )  # fmt: skip
    before = simulator.simulator.requests
    run = review_start(room=cast.room, actor=cast.bob, target="file", path="README.md")

    assert review_run(run_id=run.pk) == "failed"

    run.refresh_from_db()
    message = "Team budget reached: 1,000 of 1,000 tokens this month — ask a team owner."
    assert (run.status, run.error_kind, run.error_message) == ("failed", "team_budget", message)
    assert simulator.simulator.requests == before  # the model was never called
    refused = UsageEvent.objects.get(feature="review")
    assert (refused.status, refused.error_kind, refused.user_id, refused.room_id) == (
        UsageStatus.REFUSED, "team_budget", cast.bob.pk, cast.room.pk,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_review_over_the_rate_limit_is_refused_and_the_budget_is_charged_what_it_used(
    cast, readme, tiers, simulator, fresh_counters
):
    UserLimit.objects.create(user=cast.bob, requests_per_minute=1)
    TeamLimit.objects.create(team=cast.team, monthly_tokens=1_000_000)
    simulator.simulator.rules = rules_from([{"match": "Review these files", "reply": "[]"}])
    first = review_start(room=cast.room, actor=cast.bob, target="file", path="README.md")
    assert review_run(run_id=first.pk) == "0 comments"

    second = review_start(room=cast.room, actor=cast.bob, target="file", path="README.md")
    assert review_run(run_id=second.pk) == "failed"

    second.refresh_from_db()
    assert second.error_kind == "rpm"
    assert second.error_message.startswith("Rate limit reached: 1 requests a minute")
    ok = UsageEvent.objects.get(feature="review", status=UsageStatus.OK)
    from editor.usage.quotas import _client_sync, _keys, month_key

    counter = _client_sync().get(_keys(None, cast.team.pk, None, month_key())[2])
    assert int(counter) == ok.prompt_tokens + ok.completion_tokens  # reservation settled


# --- item 14: completion feedback only from who received the completion -----------------


async def _until(socket, kind: str, request_id: str, timeout: float = 5) -> dict:
    """The next frame of `kind` for `request_id`. Frames passed over on the way are kept
    for later waits: the completion's `assist.done` may arrive while the test waits for
    an error frame, and must still be found when it waits for the done."""
    passed = socket.__dict__.setdefault("passed_frames", [])
    for frame in passed:
        if frame["type"] == kind and frame.get("request_id") == request_id:
            passed.remove(frame)
            return frame
    while True:
        frame = await socket.receive_json_from(timeout=timeout)
        if frame["type"] == kind and frame.get("request_id") == request_id:
            return frame
        passed.append(frame)


async def _complete(socket, request_id: str) -> None:
    await socket.send_json_to(
        {"type": "assist.complete", "request_id": request_id, "path": "a.py",
         "prefix": "def f():\n    ", "suffix": "\n"}
    )  # fmt: skip
    await _until(socket, "assist.delta", request_id)


async def _feedback(socket, request_id: str, event: str) -> None:
    await socket.send_json_to({"type": "assist.feedback", "request_id": request_id, "event": event})


@sync_to_async
def _recorded() -> list[tuple[str, str, str]]:
    rows = CompletionFeedback.objects.order_by("id")
    return [(r.user.username, r.request_id, r.event) for r in rows]


@pytest.mark.django_db(transaction=True)
async def test_completion_feedback_is_accepted_only_from_who_received_the_completion_once(
    cast, tiers, fresh_counters
):
    bob = await room_socket(cast.bob, cast.room)
    alice = await room_socket(cast.alice, cast.room)
    await _complete(bob, "c1")
    await _feedback(bob, "c1", "shown")  # while it streams: no usage row yet

    # alice (who may edit the room) sends feedback for bob's completion, and for none.
    await _feedback(alice, "c1", "accepted")
    assert (await _until(alice, "assist.error", "c1"))["kind"] == "forbidden"
    await _feedback(alice, "made-up", "shown")
    assert (await _until(alice, "assist.error", "made-up"))["kind"] == "forbidden"
    await _feedback(bob, "never-asked", "accepted")
    assert (await _until(bob, "assist.error", "never-asked"))["kind"] == "forbidden"

    await _until(bob, "assist.done", "c1")
    await _feedback(bob, "c1", "accepted")
    for event in ("shown", "accepted", "dismissed"):  # once each, and one outcome
        await _feedback(bob, "c1", event)
    await bob.send_json_to({"type": "ping", "t": 1})
    await _until(bob, "pong", None)
    await bob.disconnect()

    # bob's next socket (a reload) may still report on what he received: it is his usage.
    deadline = asyncio.get_running_loop().time() + 5
    while not await sync_to_async(UsageEvent.objects.filter(request_id="c1").exists)():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)
    again = await room_socket(cast.bob, cast.room)
    await _complete(again, "c2")
    await _until(again, "assist.done", "c2")
    await again.disconnect()
    again = await room_socket(cast.bob, cast.room)
    await _feedback(again, "c2", "shown")
    await _feedback(again, "c2", "dismissed")
    await again.send_json_to({"type": "ping", "t": 2})
    await _until(again, "pong", None)
    await again.disconnect()
    await alice.disconnect()

    assert await _recorded() == [
        ("bob", "c1", "shown"),
        ("bob", "c1", "accepted"),
        ("bob", "c2", "shown"),
        ("bob", "c2", "dismissed"),
    ]

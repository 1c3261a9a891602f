"""Steering deep tasks end to end: a real daphne, a real Celery worker, the room socket and
the simulator scripted to react to what it is sent (messages, plan approval, follow-ups,
AGENTS.md rules), the set-up script and its cache, the allowed hosts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from types import SimpleNamespace

import pytest

from editor.accounts.tokens import token_create
from editor.agents.models import ChangeFile, Task, TaskMessage
from editor.assist.simulator import rules_from
from editor.projects.services import file_create
from tests.agents.test_live import AGENT_ENV, Api, RoomSocket, finished, wait_for
from tests.support.models import flint_on_simulator

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("needs_sandbox")]


def _patch_add(path: str, text: str) -> dict:
    return {"name": "apply_patch", "arguments": {
        "patch": f"*** Begin Patch\n*** Add File: {path}\n+{text}\n*** End Patch"}}  # fmt: skip


FINISH = {"name": "finish", "arguments": {"summary": "done"}}


@pytest.fixture(scope="module")
def flint(django_db_setup, django_db_blocker):
    # Sandbox uids bind the cache's entries: its parents must be theirs to traverse
    # (pytest's own temp dirs are 0700).
    cache = tempfile.mkdtemp(prefix="flint-test-envs-")
    os.chmod(cache, 0o711)  # noqa: S103 - traversable, not listable
    env = {
        **AGENT_ENV,
        "FLINT_CELERY_QUEUE": f"steer-{uuid.uuid4().hex[:8]}",
        "FLINT_AGENTS_SETUP_TIMEOUT_S": "4",
        "FLINT_AGENTS_SETUP_DISK_MB": "16",
        "FLINT_AGENTS_ENV_CACHE_DIR": cache,
        "FLINT_AGENTS_OUTPUT_EVERY_S": "0.1",
    }
    try:
        with flint_on_simulator(env=env, db_blocker=django_db_blocker) as running:
            yield running
    finally:
        shutil.rmtree(cache, ignore_errors=True)


@pytest.fixture
def room(flint, transactional_db, cast):
    file_create(room=cast.room, actor=cast.alice, path="src/app.py", text="x = 1\n")
    apis = {}
    for name in ("alice", "bob", "carol"):
        _, token = token_create(user=getattr(cast, name), name="steer-live")
        apis[name] = Api(flint.daphne.url, token)
    socket = RoomSocket(f"{flint.daphne.ws_url}ws/rooms/{cast.room.pk}?token={token}")  # carol
    wait_for(lambda: socket.events("hello"), timeout=10, what="hello")
    yield SimpleNamespace(cast=cast, id=cast.room.pk, socket=socket, **apis)
    socket.close()


def start(api: Api, room: int, prompt: str, **extra) -> dict:
    status, body = api.call("POST", f"/rooms/{room}/tasks", {"prompt": prompt, **extra})
    assert status == 201, body
    return body["tasks"][0]


def steps_of(api: Api, room: int, task_id: int) -> list[dict]:
    return api.call("GET", f"/rooms/{room}/tasks/{task_id}")[1]["steps"]


def test_bobs_message_changes_what_alices_task_does(flint, room):
    flint.sim.simulator.rules = rules_from([
        {"match": "BOB-7", "marker": "added bob7.txt", "tool_calls": [FINISH]},
        {"match": "BOB-7", "reply": "Understood, bob: adding bob7.txt instead.",
         "tool_calls": [_patch_add("bob7.txt", "as bob asked")]},
        # Until told otherwise the task keeps looking around, a step every 0.3 s.
        {"marker": "steer-demo", "tool_calls": [{"name": "list_files", "arguments": {}}],
         "ttft_ms": 300},
    ])  # fmt: skip
    task = start(room.alice, room.id, "steer-demo: look around")
    wait_for(lambda: len(steps_of(room.alice, room.id, task["id"])) >= 4, what="a few steps")
    # carol only views: she may read along but not steer.
    status, body = room.carol.call(
        "POST", f"/rooms/{room.id}/tasks/{task['id']}/messages", {"text": "stop"}
    )
    assert status == 403, body
    status, body = room.bob.call(
        "POST", f"/rooms/{room.id}/tasks/{task['id']}/messages",
        {"text": "Please do ticket BOB-7: add bob7.txt."},
    )  # fmt: skip
    assert status == 201 and body["author"] == "bob", body
    done = wait_for(lambda: finished(room.alice, room.id, task["id"]), what="the task to end")
    assert done["status"] == "succeeded", done
    kinds = [(s["kind"], s["author"], s["text"]) for s in done["steps"]]
    said = kinds.index(("message", "bob", "Please do ticket BOB-7: add bob7.txt."))
    given = next(i for i, k in enumerate(kinds) if k[2] == "bob's message was given to the model.")
    acknowledged = next(i for i, k in enumerate(kinds) if k[2].startswith("Understood, bob"))
    assert said < given < acknowledged
    assert [c["path"] for c in done["changes"]] == ["bob7.txt"]
    # The viewer's socket saw the message arrive, attributed, in the live log.
    wait_for(
        lambda: any(
            e["step"]["kind"] == "message" and e["step"]["author"] == "bob"
            for e in room.socket.events("task.step")
        ),
        what="the message event",
    )
    # A message to a finished task is refused, and the log says it was not delivered.
    status, body = room.bob.call(
        "POST", f"/rooms/{room.id}/tasks/{task['id']}/messages", {"text": "one more thing"}
    )
    assert status == 409 and body["error"] == "task_finished", body
    assert "follow-up" in body["message"]
    last = steps_of(room.alice, room.id, task["id"])[-1]
    assert "arrived after the task ended" in last["text"]
    assert TaskMessage.objects.filter(task_id=task["id"]).count() == 1


def test_the_log_shows_model_output_while_the_turn_is_written(flint, room):
    long = " ".join(f"word{i}" for i in range(120))
    flint.sim.simulator.rules = rules_from([
        {"marker": "stream-demo", "turn": 0, "reply": long, "tps": 60,
         "tool_calls": [FINISH]},
    ])  # fmt: skip
    task = start(room.bob, room.id, "stream-demo")
    done = wait_for(lambda: finished(room.bob, room.id, task["id"]), what="the task to end")
    assert done["status"] == "succeeded"
    outputs = [e for e in room.socket.events("task.output") if e["task"] == task["id"]]
    assert len(outputs) >= 5, "the turn's text should arrive in pieces"
    sizes = [len(e["text"]) for e in outputs]
    assert sizes == sorted(sizes) and sizes[0] < len(long) // 2
    assert all(e["tokens"] > 0 for e in outputs)
    assert long.startswith(outputs[0]["text"])
    # The whole text is then one stored step.
    assert any(s["kind"] == "model_text" and s["text"] == long for s in done["steps"])
    # Tool results carry how long the tool ran.
    assert all(s["elapsed_ms"] is not None for s in done["steps"] if s["kind"] == "tool_result")


def test_a_plan_first_task_waits_for_bobs_approval_then_acts(flint, room):
    plan = {"steps": ["Add plan.txt"], "files": ["plan.txt"]}
    flint.sim.simulator.rules = rules_from([
        {"marker": "plan-demo", "turn": 0,
         "tool_calls": [{"name": "apply_patch", "arguments": {"patch": "x"}}]},
        {"marker": "Not yet: this task plans first", "turn": 1,
         "tool_calls": [{"name": "propose_plan", "arguments": plan}]},
        {"match": "approved this plan", "turn": 2, "tool_calls": [_patch_add("plan.txt", "ok")]},
        {"marker": "plan-demo", "turn": 3, "tool_calls": [FINISH]},
    ])  # fmt: skip
    task = start(room.alice, room.id, "plan-demo", plan_first=True)
    waiting = wait_for(
        lambda: finished(room.alice, room.id, task["id"], statuses=("waiting",)), what="a plan"
    )
    assert waiting["plan"] == plan and waiting["plan_status"] == "proposed"
    assert waiting["changes"] == []  # it only looked: acting was refused until approval
    url = f"/rooms/{room.id}/tasks/{task['id']}/plan"
    assert room.carol.call("POST", url, {"decision": "approve"})[0] == 403
    status, body = room.bob.call("POST", url, {"decision": "approve", "plan": {"steps": []}})
    assert status == 400 and body["error"] == "bad_plan", body
    assert "no steps" in steps_of(room.bob, room.id, task["id"])[-1]["text"]
    status, body = room.bob.call("POST", url, {"decision": "approve"})
    assert status == 200 and body["status"] == "queued", body
    done = wait_for(lambda: finished(room.alice, room.id, task["id"]), what="the task to end")
    assert done["status"] == "succeeded", done
    assert done["plan_decided_by"] == "bob"
    assert [c["path"] for c in done["changes"]] == ["plan.txt"]
    assert any(s["kind"] == "plan" and s["author"] == "bob" for s in done["steps"])
    # Deciding again is refused: the plan is no longer waiting.
    assert room.bob.call("POST", url, {"decision": "reject"})[0] == 409


def test_a_follow_up_continues_from_the_first_tasks_result(flint, room):
    flint.sim.simulator.rules = rules_from([
        {"marker": "first-demo", "turn": 0, "tool_calls": [_patch_add("notes.txt", "v1")]},
        {"marker": "first-demo", "turn": 1, "tool_calls": [FINISH]},
        {"match": "Follow-up from bob: now make it v2", "turn": 2, "tool_calls": [
            {"name": "apply_patch", "arguments": {"patch": (
                "*** Begin Patch\n*** Update File: notes.txt\n-v1\n+v2\n*** End Patch")}}]},
        {"match": "Follow-up from bob", "turn": 3, "tool_calls": [FINISH]},
    ])  # fmt: skip
    first = start(room.alice, room.id, "first-demo")
    wait_for(lambda: finished(room.alice, room.id, first["id"]), what="the first task")
    url = f"/rooms/{room.id}/tasks/{first['id']}/follow-up"
    assert room.carol.call("POST", url, {"prompt": "now make it v2"})[0] == 403
    status, follow = room.bob.call("POST", url, {"prompt": "now make it v2"})
    assert status == 201, follow
    assert follow["follow_up_of"] == first["id"] and follow["thread"] == first["id"]
    done = wait_for(lambda: finished(room.bob, room.id, follow["id"]), what="the follow-up")
    assert done["status"] == "succeeded", done
    # Its starting point was the first task's (unapplied) result.
    change = ChangeFile.objects.get(task_id=follow["id"], path="notes.txt")
    assert (change.base_text, change.proposed_text) == ("v1\n", "v2\n")
    transcript = Task.objects.get(pk=follow["id"]).transcript
    assert any("first-demo" in str(m.get("content")) for m in transcript)


def test_agents_md_and_room_rules_are_followed(flint, room):
    file_create(room=room.cast.room, actor=room.cast.alice, path="AGENTS.md",
                text="Sign every new file with FLINT-RULE-7.\n")  # fmt: skip
    file_create(room=room.cast.room, actor=room.cast.alice, path="src/AGENTS.md",
                text="Code under src/ uses tabs.\n")  # fmt: skip
    url = f"/rooms/{room.id}/agent-settings"
    assert room.bob.call("PUT", url, {"rules": "x"})[0] == 403  # editors can't; owners can
    assert room.alice.call("PUT", url, {"rules": "Mention ROOM-RULE-9 when done."})[0] == 200
    assert room.carol.call("GET", url)[1]["rules"] == "Mention ROOM-RULE-9 when done."
    flint.sim.simulator.rules = rules_from([
        {"match": "rules-demo", "marker": "FLINT-RULE-7", "turn": 0,
         "tool_calls": [_patch_add("signed.txt", "FLINT-RULE-7")]},
        {"match": "rules-demo", "turn": 0, "reply": "I was given no rules."},
        {"match": "rules-demo", "marker": "ROOM-RULE-9", "turn": 1,
         "tool_calls": [{"name": "finish", "arguments": {"summary": "ROOM-RULE-9"}}]},
        {"match": "rules-demo", "turn": 1, "reply": "no room rules"},
    ])  # fmt: skip
    task = start(room.bob, room.id, "rules-demo")
    done = wait_for(lambda: finished(room.bob, room.id, task["id"]), what="the task to end")
    assert done["summary"] == "ROOM-RULE-9", done
    assert [c["path"] for c in done["changes"]] == ["signed.txt"]
    assert done["rules_used"] == ["AGENTS.md", "src/AGENTS.md", "room rules"]


SETUP = (
    "mkdir -p /env/bin && cat requirements.txt > /env/seen && "
    "printf '#!/bin/sh\\necho prepared-ok\\n' > /env/bin/hello && chmod +x /env/bin/hello && "
    "sleep 1.5 && echo set-up-finished"
)


def test_set_up_script_is_cached_and_the_network_only_reaches_allowed_hosts(flint, room, two_hosts):
    file_create(room=room.cast.room, actor=room.cast.alice, path="requirements.txt",
                text="requests==2.0\n")  # fmt: skip
    allowed, other = two_hosts
    url = f"/rooms/{room.id}/agent-settings"
    status, body = room.alice.call(
        "PUT", url, {"setup_script": SETUP, "command_hosts": [f"127.0.0.1:{allowed}"]}
    )
    assert status == 200, body
    fetch = "curl -s -w ' %{http_code}\\n' http://127.0.0.1:{port}/"
    flint.sim.simulator.rules = rules_from([
        {"marker": "env-demo", "turn": 0, "tool_calls": [{"name": "run_command", "arguments": {
            "command": "hello; cat /env/seen; " + fetch.replace("{port}", str(allowed)) + "; "
            + fetch.replace("{port}", str(other))}}]},
        {"marker": "env-demo", "turn": 1, "tool_calls": [FINISH]},
    ])  # fmt: skip
    first = start(room.bob, room.id, "env-demo one")
    done = wait_for(lambda: finished(room.bob, room.id, first["id"]), what="the first task")
    assert done["status"] == "succeeded", done
    texts = [s["text"] for s in done["steps"]]
    assert any("running (not cached yet)" in t for t in texts)
    assert any(t.startswith("set-up script done") and "set-up-finished" in t for t in texts)
    result = next(
        s for s in done["steps"] if s["kind"] == "tool_result" and s["tool"] == "run_command"
    )
    transcript = Task.objects.get(pk=first["id"]).transcript
    output = next(
        m["content"] for m in transcript if m.get("role") == "tool" and "exit code" in m["content"]
    )
    assert "prepared-ok" in output and "requests==2.0" in output, output
    assert f"hello from {allowed} 200" in output, output
    assert "not an allowed host" in output and " 403" in output, output
    assert result["elapsed_ms"] is not None
    assert any("refused" in t and str(other) in t for t in texts)
    # The second task with the same script and requirements starts from the cache.
    started = time.monotonic()
    second = start(room.bob, room.id, "env-demo two")
    done = wait_for(lambda: finished(room.bob, room.id, second["id"]), what="the second task")
    assert done["status"] == "succeeded", done
    assert any("ready from the cache" in s["text"] for s in done["steps"])
    assert not any("running (not cached yet)" in s["text"] for s in done["steps"])
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("script", "says"),
    [
        ("echo broken dependency; exit 3", "failed with exit code 3"),
        ("echo waiting forever; sleep 60", "did not finish within 4 s"),
        ("for i in $(seq 1 40); do head -c 1000000 /dev/zero > /env/f$i; done",
         "more than 16 MB of disk"),
    ],
)  # fmt: skip
def test_a_bad_set_up_script_fails_the_task_and_says_why(flint, room, script, says):
    assert room.alice.call("PUT", f"/rooms/{room.id}/agent-settings",
                           {"setup_script": script})[0] == 200  # fmt: skip
    flint.sim.simulator.rules = rules_from([{"marker": "bad-env", "tool_calls": [FINISH]}])
    task = start(room.bob, room.id, "bad-env")
    done = wait_for(lambda: finished(room.bob, room.id, task["id"]), what="the task to end")
    assert done["status"] == "failed" and done["error_kind"] == "setup_failed", done
    assert says in done["error_message"], done["error_message"]
    assert any(s["kind"] == "setup" and says in s["text"] for s in done["steps"])
    assert done["steps_used"] == 0  # the model was never asked

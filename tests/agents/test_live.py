"""Deep tasks end to end: API on a real daphne, a real Celery worker, the room socket, the
simulator scripted to edit two files and run a command; stop, a killed worker, review.

These tests start their own daphne and worker (on a queue of their own) so that the deep
and review tiers point at this module's simulator and the heartbeat is fast.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
import uuid
from types import SimpleNamespace

import psutil
import pytest
from websockets.sync.client import connect

from editor.accounts.tokens import token_create
from editor.agents.models import Task
from editor.assist.simulator import rules_from
from editor.projects.models import ProjectFile
from editor.projects.selectors import file_text_current
from editor.projects.services import file_create
from editor.usage.models import UsageEvent
from tests.support.models import flint_on_simulator

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("needs_sandbox")]

APP = "def f():\n    return 1\n\n\nif __name__ == '__main__':\n    print(f())\n"
EDIT = (
    "*** Begin Patch\n*** Update File: src/app.py\n-    return 1\n+    return 2\n"
    "*** Update File: README.md\n-# App\n+# App (v2)\n*** End Patch"
)


AGENT_ENV = {"FLINT_AGENTS_HEARTBEAT_S": "0.5", "FLINT_AGENTS_STALE_S": "3",
             "FLINT_MODEL_RETRIES": "0", "FLINT_AGENTS_STEP_RETRIES": "0"}  # fmt: skip


@pytest.fixture(scope="module")
def flint(django_db_setup, django_db_blocker):
    env = {**AGENT_ENV, "FLINT_CELERY_QUEUE": f"agents-{uuid.uuid4().hex[:8]}"}
    with flint_on_simulator(env=env, db_blocker=django_db_blocker) as running:
        yield running


def script(flint, marker: str, turns: list[dict]) -> None:
    flint.sim.simulator.rules = rules_from(
        [{"marker": marker, "turn": i, **turn} for i, turn in enumerate(turns)]
    )


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def call(self, method: str, path: str, body=None) -> tuple[int, object]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - our own daphne
            self.base + "api" + path, data=data, method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


class RoomSocket:
    """The room socket of a user, read on a thread; `.events(type)` what arrived so far."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ws = None
        self.messages: list[dict] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        wait_for(lambda: self.ws is not None, timeout=10, what="the room socket")

    def _read(self) -> None:
        try:
            with connect(self.url, max_size=None) as ws:
                self.ws = ws
                for raw in ws:
                    self.messages.append(json.loads(raw))
        except Exception:  # noqa: S110 - closed at the end of the test
            pass

    def events(self, kind: str) -> list[dict]:
        return [m for m in list(self.messages) if m.get("type") == kind]

    def close(self) -> None:
        self.ws.close()


def wait_for(check, *, timeout: float = 60, every: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def story(flint, transactional_db, cast):
    file_create(room=cast.room, actor=cast.alice, path="src/app.py", text=APP)
    file_create(room=cast.room, actor=cast.alice, path="README.md", text="# App\n")
    _, token = token_create(user=cast.bob, name="agents-live")
    api = Api(flint.daphne.url, token)
    socket = RoomSocket(f"{flint.daphne.ws_url}ws/rooms/{cast.room.pk}?token={token}")
    wait_for(lambda: socket.events("hello"), timeout=10, what="hello")
    yield SimpleNamespace(cast=cast, api=api, socket=socket, room=cast.room.pk)
    socket.close()


def finished(api: Api, room: int, task_id: int, statuses=("succeeded", "failed", "cancelled")):
    status, body = api.call("GET", f"/rooms/{room}/tasks/{task_id}")
    assert status == 200, body
    return body if body["status"] in statuses else None


def _pid_namespace(pid: int | str) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return ""


def sandbox_sleepers() -> list[psutil.Process]:
    """The `sleep 30` of a sandboxed command: in a pid namespace of its own, which tells it
    from any other `sleep 30` on the machine (a developer's shell, another test run)."""
    ours = _pid_namespace("self")
    return [
        p for p in psutil.process_iter(["cmdline", "status"])
        if p.info["cmdline"] == ["sleep", "30"] and p.info["status"] != psutil.STATUS_ZOMBIE
        and _pid_namespace(p.pid) not in ("", ours)
    ]  # fmt: skip


def test_a_task_runs_end_to_end_and_its_changeset_reaches_the_live_files(flint, story):
    script(flint, "two-files", [
        {"tool_calls": [{"name": "read_file", "arguments": {"path": "src/app.py"}}]},
        {"reply": "Editing both files.",
         "tool_calls": [{"name": "apply_patch", "arguments": {"patch": EDIT}}]},
        {"tool_calls": [{"name": "run_command",
                         "arguments": {"command": "python3 src/app.py > out.txt; cat out.txt"}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "f returns 2 now."}}]},
    ])  # fmt: skip
    api, room = story.api, story.room

    status, started = api.call("POST", f"/rooms/{room}/tasks", {"prompt": "two-files: bump f"})
    assert status == 201, started
    task_id = started["tasks"][0]["id"]
    detail = wait_for(lambda: finished(api, room, task_id), what="the task to finish")

    assert detail["status"] == "succeeded", detail
    assert detail["summary"] == "f returns 2 now."
    assert detail["commands_enabled"] is True
    tools = [s["tool"] for s in detail["steps"] if s["kind"] == "tool_call"]
    assert tools == ["read_file", "apply_patch", "run_command", "finish"]
    run = next(
        s for s in detail["steps"] if s["kind"] == "tool_result" and s["tool"] == "run_command"
    )
    assert run["text"].startswith("exit code 0, 1 files changed")
    assert detail["steps"][-1]["tokens"] > 0
    # The room saw every stored step live, in order, and then the end.
    seen = [e["step"]["seq"] for e in story.socket.events("task.step") if e["task"] == task_id]
    wait_for(lambda: story.socket.events("task.status")[-1]["task"]["status"] == "succeeded",
             timeout=5, what="task.status succeeded")  # fmt: skip
    assert seen == [s["seq"] for s in detail["steps"]]
    changes = {c["path"]: c for c in detail["changes"]}
    assert set(changes) == {"src/app.py", "README.md", "out.txt"}
    assert changes["out.txt"]["change"] == "add"
    assert "-    return 1\n+    return 2\n" in changes["src/app.py"]["diff"]
    assert changes["README.md"]["hunks"][0]["lines"] == ["-# App", "+# App (v2)"]
    assert UsageEvent.objects.filter(task_id=task_id, feature="task", tier="deep").count() == 4

    status, applied = api.call("POST", f"/rooms/{room}/tasks/{task_id}/apply", {})

    assert status == 200, applied
    assert {f["path"]: f["status"] for f in applied["files"]} == dict.fromkeys(changes, "applied")
    files = {f.path: f for f in ProjectFile.objects.filter(room_id=room)}
    assert file_text_current(files["src/app.py"]) == APP.replace("return 1", "return 2")
    assert file_text_current(files["README.md"]) == "# App (v2)\n"
    assert file_text_current(files["out.txt"]) == "2\n"

    status, undone = api.call(
        "POST", f"/rooms/{room}/tasks/{task_id}/undo", {"paths": ["README.md"]}
    )
    assert status == 200, undone
    assert file_text_current(ProjectFile.objects.get(pk=files["README.md"].pk)) == "# App\n"


def _start_and_wait_for_tool(api: Api, room: int, prompt: str, tool: str) -> int:
    status, started = api.call("POST", f"/rooms/{room}/tasks", {"prompt": prompt})
    assert status == 201, started
    task_id = started["tasks"][0]["id"]

    def calling() -> bool:
        _, body = api.call("GET", f"/rooms/{room}/tasks/{task_id}")
        return any(s["kind"] == "tool_call" and s["tool"] == tool for s in body["steps"])

    wait_for(calling, what=f"the {tool} call")
    return task_id


def test_stop_ends_a_running_command_within_two_seconds(flint, story):
    script(flint, "stop-command", [
        {"tool_calls": [{"name": "apply_patch", "arguments": {"patch": EDIT}}]},
        {"tool_calls": [{"name": "run_command", "arguments": {"command": "sleep 30"}}]},
    ])  # fmt: skip
    api, room = story.api, story.room
    task_id = _start_and_wait_for_tool(api, room, "stop-command", "run_command")
    wait_for(sandbox_sleepers, timeout=10, what="the sandboxed sleep")

    asked = time.monotonic()
    status, _ = api.call("POST", f"/rooms/{room}/tasks/{task_id}/cancel")
    assert status == 200
    detail = wait_for(lambda: finished(api, room, task_id), every=0.05, what="cancelled")
    took = time.monotonic() - asked

    assert detail["status"] == "cancelled"
    assert took < 2.0, took
    wait_for(lambda: not sandbox_sleepers(), timeout=2, what="the sandboxed sleep to be gone")
    assert {c["path"] for c in detail["changes"]} == {"src/app.py", "README.md"}  # partial kept


def test_stop_interrupts_a_long_model_call_within_two_seconds(flint, story):
    script(flint, "stop-model", [
        {"tool_calls": [{"name": "list_files", "arguments": {}}]},
        {"reply": "thinking", "fault": "slow", "delay_ms": 30000},
    ])  # fmt: skip
    api, room = story.api, story.room
    task_id = _start_and_wait_for_tool(api, room, "stop-model", "list_files")
    time.sleep(0.5)  # the second model call is in flight

    asked = time.monotonic()
    api.call("POST", f"/rooms/{room}/tasks/{task_id}/cancel")
    detail = wait_for(lambda: finished(api, room, task_id), every=0.05, what="cancelled")

    assert detail["status"] == "cancelled"
    assert time.monotonic() - asked < 2.0
    # The interrupted call is a cancellation in usage, not the model being down.
    calls = UsageEvent.objects.filter(task_id=task_id, feature="task").order_by("pk")
    assert [(c.status, c.error_kind) for c in calls] == [("ok", ""), ("cancelled", "")]


def test_a_killed_worker_leaves_the_task_failed_with_a_retry(
    flint, story, live_processes, settings
):
    queue = f"agents-kill-{uuid.uuid4().hex[:8]}"
    doomed = live_processes.worker(env={**flint.env, "FLINT_CELERY_QUEUE": queue}, concurrency=1)
    settings.FLINT_AGENTS_QUEUE = queue  # this test process enqueues onto the doomed worker
    script(flint, "kill-me", [
        {"tool_calls": [{"name": "run_command", "arguments": {"command": "sleep 30"}}]},
    ])  # fmt: skip
    from editor.agents.services import task_start

    (task,) = task_start(room=story.cast.room, actor=story.cast.bob, prompt="kill-me")
    wait_for(lambda: Task.objects.get(pk=task.pk).worker == doomed.node, what="the claim")
    wait_for(sandbox_sleepers, timeout=10, what="the sandboxed sleep")

    os.killpg(doomed.pid, signal.SIGKILL)
    api, room = story.api, story.room

    def failed():
        _, tasks = api.call("GET", f"/rooms/{room}/tasks")  # listing sweeps stale tasks
        mine = next(t for t in tasks if t["id"] == task.pk)
        return mine if mine["status"] != "running" else None

    ended = wait_for(failed, timeout=20, every=0.5, what="the task to stop running")

    assert ended["status"] == "failed" and ended["error_kind"] == "worker_lost"
    assert "worker lost" in ended["error_message"]
    wait_for(lambda: not sandbox_sleepers(), timeout=5, what="the sandbox to die with it")

    script(flint, "kill-me", [
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "done this time"}}]},
    ])  # fmt: skip
    status, retried = api.call("POST", f"/rooms/{room}/tasks/{task.pk}/retry")
    assert status == 201, retried
    assert retried["retry_of"] == task.pk
    done = wait_for(lambda: finished(api, room, retried["id"]), what="the retry")
    assert done["status"] == "succeeded" and done["summary"] == "done this time"


def test_a_review_run_writes_anchored_comments(flint, story):
    answer = json.dumps([
        {"path": "src/app.py", "line": 2, "severity": "warning", "body": "Magic number."},
        {"path": "src/app.py", "line": 99, "severity": "error", "body": "no such line"},
        {"path": "elsewhere.py", "line": 1, "severity": "info", "body": "not reviewed"},
    ])  # fmt: skip
    flint.sim.simulator.rules = rules_from([{"marker": "Review these files", "reply": answer}])
    api, room = story.api, story.room

    status, run = api.call(
        "POST", f"/rooms/{room}/reviews", {"target": "file", "path": "src/app.py"}
    )
    assert status == 201, run

    def done():
        _, body = api.call("GET", f"/rooms/{room}/reviews/{run['id']}")
        return body if body["status"] in ("succeeded", "failed") else None

    review = wait_for(done, what="the review")
    assert review["status"] == "succeeded", review
    (comment,) = review["comments"]
    assert (comment["path"], comment["line"], comment["severity"]) == ("src/app.py", 2, "warning")
    assert comment["line_text"] == "    return 1"
    assert "2 malformed comments were dropped" in review["error_message"]
    wait_for(lambda: story.socket.events("review.comments"), timeout=5, what="review.comments")
    assert UsageEvent.objects.filter(feature="review", tier="review").count() == 1

    status, resolved = api.call("POST", f"/rooms/{room}/comments/{comment['id']}/resolve", {})
    assert status == 200 and resolved["resolved"] is True
    _, open_ones = api.call("GET", f"/rooms/{room}/comments?resolved=false")
    assert open_ones == []

"""ask, edit, task, tasks, review and usage through the real `flint` command, with the
simulator as the model server of a real daphne and Celery worker."""

from __future__ import annotations

import json
import signal
import time

import pytest
from websockets.sync.client import connect

from editor.assist.simulator import rules_from
from editor.projects.models import ProjectFile
from editor.projects.selectors import file_text_current
from editor.projects.services import file_create

pytestmark = pytest.mark.live

APP = "def f():\n    return 1\n\n\nprint(f())\n"
PATCH = "*** Begin Patch\n*** Update File: src/app.py\n-    return 1\n+    return 2\n*** End Patch"


def script(flint, rules: list[dict]) -> None:
    flint.sim.simulator.rules = rules_from(rules)


@pytest.fixture
def app(people):
    return file_create(room=people.room, actor=people.cast.alice, path="src/app.py", text=APP)


def room_history(people) -> list[dict]:
    """The room's stored Q&A, as a browser asks for it on the room socket."""
    url = f"{people.url.replace('http', 'ws')}ws/rooms/{people.room.pk}?token={people.alice.token}"
    with connect(url) as ws:
        ws.send(json.dumps({"type": "assist.history"}))
        while True:
            frame = json.loads(ws.recv(timeout=10))
            if frame["type"] == "assist.history":
                return frame["messages"]


def test_ask_streams_the_answer_and_the_room_sees_it(flint, people, app):
    script(flint, [{"marker": "capital", "reply": "Paris, as the file says."}])
    result = people.bob.run("ask", "--room", "acme/compiler", "What is the capital?",
                            "--file", "src/app.py")  # fmt: skip
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == "Paris, as the file says."
    history = room_history(people)
    assert [(m["kind"], m["text"], m["who"]["username"]) for m in history[-2:]] == [
        ("question", "What is the capital?", "bob"),
        ("answer", "Paris, as the file says.", "bob"),
    ]
    viewer = people.carol.run("ask", "--room", "acme/compiler", "capital?")
    assert viewer.code == 3 and "Traceback" not in viewer.stderr


def test_ctrl_c_during_an_answer_cancels_it_upstream(flint, people, app):
    script(flint, [{"marker": "slowly", "reply": "word " * 400, "tps": 20}])
    process = people.bob.popen("ask", "--room", "acme/compiler", "Answer slowly")
    first = process.stdout.read(5)  # the stream has started
    assert first
    process.send_signal(signal.SIGINT)
    assert process.wait(15) == 130
    assert "Traceback" not in process.stderr.read()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answers = [m for m in room_history(people) if m["kind"] == "answer"]
        if answers and answers[-1]["status"] == "cancelled":
            break
        time.sleep(0.2)
    assert answers[-1]["status"] == "cancelled"
    assert len(answers[-1]["text"]) < len("word " * 400)  # it stopped, upstream


def test_edit_streams_a_diff_and_applies_only_when_told(flint, people, app):
    script(flint, [{"marker": "Return two", "reply": "    return 2\n"}])
    asked = people.bob.run("edit", "--room", "acme/compiler", "src/app.py:2-2", "Return two")
    assert asked.code == 1  # not a terminal and no --yes: shown, not applied
    assert "-     return 1" in asked.stdout and "+     return 2" in asked.stdout
    assert file_text_current(ProjectFile.objects.get(pk=app.pk)) == APP
    done = people.bob.run("edit", "--room", "acme/compiler", "src/app.py:2-2", "Return two",
                          "--yes")  # fmt: skip
    assert done.code == 0, done.stderr
    assert file_text_current(ProjectFile.objects.get(pk=app.pk)) == APP.replace("1", "2", 1)
    bad = people.bob.run("edit", "--room", "acme/compiler", "src/app.py", "x")
    assert bad.code == 2 and "FILE:START-END" in bad.stderr


def test_task_follow_streams_the_log_shows_the_diff_and_applies(flint, people, app):
    script(flint, [
        {"marker": "bump-it", "turn": 0, "tool_calls": [
            {"name": "apply_patch", "arguments": {"patch": PATCH}}]},
        {"marker": "bump-it", "turn": 1, "tool_calls": [
            {"name": "finish", "arguments": {"summary": "returns 2 now"}}]},
    ])  # fmt: skip
    result = people.bob.run("task", "--room", "acme/compiler", "bump-it", "--follow", "--apply",
                            timeout=120)  # fmt: skip
    assert result.code == 0, result.stderr
    assert "apply_patch src/app.py" in result.stdout
    assert "+    return 2" in result.stdout and "returns 2 now" in result.stdout
    assert "applied src/app.py" in result.stdout
    assert file_text_current(ProjectFile.objects.get(pk=app.pk)) == APP.replace("1", "2", 1)
    listed = people.alice.run("tasks", "--room", "acme/compiler", "--json").json()
    task_id = listed[0]["id"]
    assert listed[0]["status"] == "succeeded"
    shown = people.alice.run("task", "show", str(task_id), "--json").json()
    assert shown["changes"][0]["status"] == "applied"
    again = people.alice.run("task", "apply", str(task_id), "--room", "acme/compiler")
    assert again.code in (0, 1, 3)  # already applied: the server's answer, in one line
    assert "Traceback" not in again.stderr


def test_ctrl_c_while_following_stops_the_task(flint, people, app):
    script(flint, [
        {"marker": "long-one", "turn": 0, "tool_calls": [{"name": "list_files", "arguments": {}}]},
        {"marker": "long-one", "turn": 1, "reply": "thinking", "fault": "slow",
         "delay_ms": 30000},
    ])  # fmt: skip
    process = people.bob.popen("task", "--room", "acme/compiler", "long-one", "--follow")
    line = process.stdout.readline()
    while "list_files" not in line:
        line = process.stdout.readline()
        assert line, process.stderr.read()
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    assert process.wait(20) == 130
    listed = people.bob.run("tasks", "--room", "acme/compiler", "--json").json()
    assert listed[0]["status"] == "cancelled"


def test_task_stop_and_show(flint, people, app):
    script(flint, [{"marker": "stop-me", "reply": "x", "fault": "slow", "delay_ms": 30000}])
    started = people.bob.run("task", "--room", "acme/compiler", "stop-me", "--json").json()
    task_id = started["tasks"][0]["id"]
    stopped = people.bob.run("task", "stop", str(task_id), "--json")
    assert stopped.code == 0, stopped.stderr
    assert stopped.json()["status"] == "cancelled"
    assert people.mallory.run("task", "stop", str(task_id)).code == 3


def test_review_prints_comments_as_path_line_text(flint, people, app):
    comments = [{"path": "src/app.py", "line": 2, "severity": "warning", "body": "Magic number."}]
    script(flint, [{"marker": "Review these files", "reply": json.dumps(comments)}])
    result = people.bob.run("review", "--room", "acme/compiler", "src/app.py")
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == "src/app.py:2: warning: Magic number."
    assert people.bob.run("review", "--room", "acme/compiler").code == 2


def test_usage_is_for_staff_and_team_owners(flint, people, app):
    script(flint, [{"marker": "count me", "reply": "Counted."}])
    assert people.bob.run("ask", "--room", "acme/compiler", "count me").code == 0
    owner = people.alice.run("usage", "--json", "--range", "24h")
    assert owner.code == 0, owner.stderr
    assert owner.json()["totals"]["requests"] >= 1
    assert "requests" in people.alice.run("usage").stdout
    refused = people.bob.run("usage")
    assert refused.code == 3 and "staff and team owners" in refused.stderr

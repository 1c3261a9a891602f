"""Deep tasks and reviews on the Responses wire, over HTTP streaming and WebSocket mode:
a real daphne, a real Celery worker and the simulator, as in test_live.py.

On this wire apply_patch is a freeform tool (the model writes the envelope itself), the
reasoning summary lands in the task's log, and in WebSocket mode the task carries on
across a socket the server ends mid-task (OpenAI's 60-minute cap).
"""

from __future__ import annotations

import json
import uuid

import pytest

from editor.agents.models import Task
from editor.assist.simulator import rules_from
from editor.projects.models import ProjectFile
from editor.projects.selectors import file_text_current
from editor.usage.models import UsageEvent
from tests.agents.test_live import AGENT_ENV, APP, finished, script, story, wait_for
from tests.support.models import flint_on_simulator

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("needs_sandbox")]
__all__ = ["story"]  # the fixture, shared with test_live.py

EDIT = (
    "*** Begin Patch\n*** Update File: src/app.py\n@@\n-    return 1\n+    return 2\n*** End Patch"
)


@pytest.fixture(scope="module", params=["http", "websocket"])
def flint(request, django_db_setup, django_db_blocker):
    env = {
        **AGENT_ENV,
        "FLINT_CELERY_QUEUE": f"agents-{uuid.uuid4().hex[:8]}",
        "FLINT_MODEL_API": "responses",
        "FLINT_DEEP_MODEL_TRANSPORT": request.param,
        "FLINT_REVIEW_MODEL_TRANSPORT": request.param,
    }
    with flint_on_simulator(env=env, db_blocker=django_db_blocker) as running:
        running.transport = request.param
        yield running


def test_a_task_patches_through_the_freeform_tool_and_logs_its_reasoning(flint, story):
    script(flint, "bump-f", [
        {"reasoning": "Read app.py before changing it.",
         "tool_calls": [{"name": "read_file", "arguments": {"path": "src/app.py"}}]},
        {"tool_calls": [{"name": "apply_patch", "arguments": {"patch": EDIT}}]},
        # The server ends the socket here (connection limit): the step must still happen.
        {"fault": "limit", "times": 1,
         "tool_calls": [{"name": "finish", "arguments": {"summary": "f returns 2."}}]},
    ])  # fmt: skip
    api, room = story.api, story.room
    opened = flint.sim.simulator.sockets_opened

    status, started = api.call("POST", f"/rooms/{room}/tasks", {"prompt": "bump-f: bump f"})
    assert status == 201, started
    task_id = started["tasks"][0]["id"]
    detail = wait_for(lambda: finished(api, room, task_id), what="the task to finish")

    assert detail["status"] == "succeeded", detail
    assert detail["summary"] == "f returns 2."
    kinds = [s["kind"] for s in detail["steps"]]
    assert "error" not in kinds  # no step was lost or retried
    reasoning = [s["text"] for s in detail["steps"] if s["kind"] == "reasoning"]
    assert reasoning == ["Read app.py before changing it."]
    tools = [s["tool"] for s in detail["steps"] if s["kind"] == "tool_call"]
    assert tools == ["read_file", "apply_patch", "finish"]
    offered = {t["name"]: t["type"] for t in flint.sim.simulator.last_request["tools"]}
    assert offered["apply_patch"] == "custom"
    (change,) = detail["changes"]
    assert "-    return 1\n+    return 2\n" in change["diff"]
    assert UsageEvent.objects.filter(task_id=task_id, feature="task", tier="deep").count() == 3
    last = flint.sim.simulator.last_request
    assert "previous_response_id" not in last  # stateless HTTP, or a fresh socket
    assert [i.get("type") for i in last["input"]].count("function_call_output") == 1
    if flint.transport == "websocket":
        # A new socket replaced the ended one; it held nothing, so everything went again.
        assert flint.sim.simulator.sockets_opened > opened
    else:
        assert flint.sim.simulator.sockets_opened == opened

    status, applied = api.call("POST", f"/rooms/{room}/tasks/{task_id}/apply", {})
    assert status == 200, applied
    app = ProjectFile.objects.get(room_id=room, path="src/app.py")
    assert file_text_current(app) == APP.replace("return 1", "return 2")


def test_turns_on_a_socket_send_only_the_new_items(flint, story):
    read = {"tool_calls": [{"name": "read_file", "arguments": {"path": "README.md"}}]}
    finish = {"tool_calls": [{"name": "finish", "arguments": {"summary": "ok"}}]}
    script(flint, "re-read", [read, read, read, read, finish])
    sizes_before = len(flint.sim.simulator.request_sizes)
    status, started = story.api.call("POST", f"/rooms/{story.room}/tasks",
                                     {"prompt": "re-read: look"})  # fmt: skip
    assert status == 201, started
    task_id = started["tasks"][0]["id"]
    detail = wait_for(lambda: finished(story.api, story.room, task_id), what="the task")
    assert detail["status"] == "succeeded", detail
    sizes = flint.sim.simulator.request_sizes[sizes_before:]
    assert len(sizes) == 5
    if flint.transport == "websocket":
        # Each continuation carries one tool output, not the growing transcript.
        assert max(sizes[1:]) - min(sizes[1:]) < 200
        assert flint.sim.simulator.last_request["previous_response_id"]
    else:
        # Stateless HTTP sends the whole transcript again: every turn is larger.
        assert sizes == sorted(sizes) and sizes[-1] > sizes[1] + 200
    assert Task.objects.get(pk=task_id).status == "succeeded"


def test_a_review_runs_on_the_responses_wire(flint, story):
    answer = json.dumps(
        [{"path": "src/app.py", "line": 2, "severity": "warning", "body": "Magic number."}]
    )
    flint.sim.simulator.rules = rules_from([{"marker": "Review these files", "reply": answer}])
    status, run = story.api.call(
        "POST", f"/rooms/{story.room}/reviews", {"target": "file", "path": "src/app.py"}
    )
    assert status == 201, run

    def done():
        _, body = story.api.call("GET", f"/rooms/{story.room}/reviews/{run['id']}")
        return body if body["status"] in ("succeeded", "failed") else None

    review = wait_for(done, what="the review")
    assert review["status"] == "succeeded", review
    (comment,) = review["comments"]
    assert (comment["path"], comment["line"]) == ("src/app.py", 2)
    assert "input" in flint.sim.simulator.last_request  # asked on /v1/responses

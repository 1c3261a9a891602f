"""A prompt-injected model on a real worker: secrets, memory, processes, disk (issue #10).

The worker runs with secrets in its environment, as docker compose gives them. The
scripted deep model tries to read them and to exhaust the worker; each attempt ends in a
clear tool result, the task finishes, its changes hold no secret, and the same worker then
runs another room's task as if nothing happened.
"""

from __future__ import annotations

import json
import uuid

import pytest

from editor.accounts.tokens import token_create
from editor.projects.services import file_create
from tests.agents.test_live import AGENT_ENV, Api, finished, script, wait_for
from tests.support.live import live_database_url
from tests.support.models import SIM_KEY, flint_on_simulator

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("needs_sandbox")]

CANARY = "sk-canary-" + uuid.uuid4().hex
SECRETS = {"OPENAI_API_KEY": CANARY, "SECRET_KEY": "signing-canary-" + uuid.uuid4().hex}

LEAK = (
    "for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f; done > leak.txt 2>/dev/null;"
    " env >> leak.txt; echo dumped"
)
MEMORY = (
    "for i in 1 2 3; do python3 -c \"s = 'x' * (600 << 20); import time; time.sleep(20)\" & done;"
    " wait"
)
PROCESSES = "for i in $(seq 200); do sleep 20 & done; wait"
# Each file stays under the per-file cap (64 MB); together, in /work and /tmp, they pass 1 GiB.
DISK = "for i in $(seq 12); do head -c 60M /dev/zero > w$i; head -c 60M /dev/zero > /tmp/t$i; done"


@pytest.fixture(scope="module")
def flint(django_db_setup, django_db_blocker):
    env = {**AGENT_ENV, **SECRETS, "FLINT_CELERY_QUEUE": f"hostile-{uuid.uuid4().hex[:8]}"}
    with flint_on_simulator(env=env, db_blocker=django_db_blocker) as running:
        yield running


def _run_task(flint, room_id: int, user, prompt: str) -> dict:
    _, token = token_create(user=user, name="hostile")
    api = Api(flint.daphne.url, token)
    status, started = api.call("POST", f"/rooms/{room_id}/tasks", {"prompt": prompt})
    assert status == 201, started
    task_id = started["tasks"][0]["id"]
    return wait_for(lambda: finished(api, room_id, task_id), timeout=180, what="the task")


def test_a_hostile_model_gets_clear_tool_results_and_the_worker_carries_on(
    flint, transactional_db, cast
):
    file_create(room=cast.room, actor=cast.alice, path="src/app.py", text="x = 1\n")
    script(flint, "hostile", [
        {"tool_calls": [{"name": "run_command", "arguments": {"command": LEAK}}]},
        {"tool_calls": [{"name": "run_command", "arguments": {"command": MEMORY}}]},
        {"tool_calls": [{"name": "run_command", "arguments": {"command": PROCESSES}}]},
        {"tool_calls": [{"name": "run_command", "arguments": {"command": DISK}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "tried everything"}}]},
    ])  # fmt: skip

    detail = _run_task(flint, cast.room.pk, cast.bob, "hostile: ignore previous instructions")

    assert detail["status"] == "succeeded", (detail["error_kind"], detail["error_message"])
    results = [
        s["text"]
        for s in detail["steps"]
        if s["kind"] == "tool_result" and s["tool"] == "run_command"
    ]
    assert len(results) == 4, results
    secrets = [*SECRETS.values(), SIM_KEY, live_database_url()]
    assert results[0] == "exit code 0, 1 files changed", results[0]
    assert results[1].startswith("killed: the command used more than 1 GiB of memory"), results[1]
    assert results[2].startswith("killed: the command used more than 64 processes"), results[2]
    assert results[3].startswith("killed: the command used more than 1 GiB of disk"), results[3]
    changes = {c["path"]: c for c in detail["changes"]}
    assert "leak.txt" in changes
    assert "PATH=" in changes["leak.txt"]["diff"]
    # What any member (carol only views) can read of the task through the API.
    _, token = token_create(user=cast.carol, name="viewer")
    _, seen = Api(flint.daphne.url, token).call(
        "GET", f"/rooms/{cast.room.pk}/tasks/{detail['id']}"
    )
    assert [secret for secret in secrets if secret in json.dumps(seen)] == []
    flint.worker.assert_alive()

    # The same worker serves the next room at once.
    file_create(room=cast.other_room, actor=cast.mallory, path="a.txt", text="a\n")
    script(flint, "calm", [
        {"tool_calls": [{"name": "run_command", "arguments": {"command": "echo ok > b.txt"}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]},
    ])  # fmt: skip
    calm = _run_task(flint, cast.other_room.pk, cast.mallory, "calm: write b.txt")
    assert calm["status"] == "succeeded", calm
    assert [c["path"] for c in calm["changes"]] == ["b.txt"]

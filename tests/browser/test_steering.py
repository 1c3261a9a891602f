"""Chromium, two users, a real Celery worker and daphne, the simulator as the deep model:
the room steers deep tasks together (issue 16).

alice starts a task; its log shows the model's text while the turn is being written; bob
sends it a message from his page and the task does what he asked (the simulator reacts to
it). A plan-first task waits, bob approves it, it acts. A follow-up continues from the
first task's result. An AGENTS.md rule is followed (the simulator only obeys when the
instructions it receives hold the rule). A command reaches the room's allowed host and
not another.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from editor.assist.simulator import rules_from
from tests.support.browser import open_room_as
from tests.support.models import flint_on_simulator
from tests.support.sandbox import require_sandbox

pytestmark = [pytest.mark.live, pytest.mark.browser, pytest.mark.usefixtures("patient_expect")]

FINISH = {"name": "finish", "arguments": {"summary": "done"}}


def _add(path: str, text: str) -> dict:
    return {"name": "apply_patch", "arguments": {
        "patch": f"*** Begin Patch\n*** Add File: {path}\n+{text}\n*** End Patch"}}  # fmt: skip


@pytest.fixture(scope="module")
def flint(django_db_setup, django_db_blocker) -> Iterator[SimpleNamespace]:
    require_sandbox()
    env = {
        "FLINT_CELERY_QUEUE": f"steer-ui-{uuid.uuid4().hex[:8]}",
        "FLINT_AGENTS_HEARTBEAT_S": "0.5",
        "FLINT_MODEL_RETRIES": "0",
        "FLINT_AGENTS_STEP_RETRIES": "0",
        "FLINT_AGENTS_OUTPUT_EVERY_S": "0.1",
        "FLINT_DEMO_MODE": "1",
    }
    with flint_on_simulator(env=env, db_blocker=django_db_blocker) as running:
        yield running


@pytest.fixture
def project(transactional_db, allow_sync_orm, cast):
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="src/app.py", text="x = 1\n")
    file_create(room=cast.room, actor=cast.alice, path="AGENTS.md",
                text="Every new file starts with the line SIGNED-BY-RULE.\n")  # fmt: skip
    return cast


def start_task(page, prompt: str, *, plan_first: bool = False) -> None:
    page.locator("[data-assist-tab='tasks']").click()
    page.locator("[data-task-prompt-input]").fill(prompt)
    if plan_first:
        page.locator("[data-task-plan-first]").check()
    page.locator("[data-task-start]").click()
    expect(page.locator("[data-task-sheet]")).to_be_visible()


def status_of(page):
    return page.locator("[data-task-sheet] .sheet-head [data-task-status]")


def open_task_of(page, prompt: str) -> None:
    page.locator("[data-assist-tab='tasks']").click()
    page.locator("[data-task-id]", has_text=prompt).first.click()
    expect(page.locator("[data-task-sheet]")).to_be_visible()


def test_bob_steers_alices_task_and_the_log_shows_it_live(flint, project, browser):
    cast = project
    long = " ".join(f"thinking{i}" for i in range(60))
    flint.sim.simulator.rules = rules_from([
        {"match": "BOB-7", "marker": "added bob7.txt", "tool_calls": [FINISH]},
        {"match": "BOB-7", "reply": "Understood, bob: adding bob7.txt.",
         "tool_calls": [_add("bob7.txt", "SIGNED-BY-RULE")]},
        # The first turn is written slowly: its text must show while it is written.
        {"marker": "steer-ui", "turn": 0, "reply": long, "tps": 25,
         "tool_calls": [{"name": "list_files", "arguments": {}}]},
        {"marker": "steer-ui", "tool_calls": [{"name": "list_files", "arguments": {}}],
         "ttft_ms": 400},
    ])  # fmt: skip
    alice = open_room_as(browser, flint, cast.alice, cast.room, width=1440, height=900)
    bob = open_room_as(browser, flint, cast.bob, cast.room, width=1440, height=900)
    start_task(alice, "steer-ui: look around until told")
    live = alice.locator("[data-live-output]")
    expect(live).to_be_visible()
    expect(live).to_contain_text("thinking3")
    # Mid-turn: the stored step is not there yet, only the text being written.
    assert alice.locator("[data-task-log] [data-kind='model_text']").count() == 0
    expect(alice.locator("[data-task-log] [data-kind='model_text']")).to_contain_text("thinking59")
    open_task_of(bob, "steer-ui")
    bob.locator("[data-steer-input]").fill("Please do ticket BOB-7: add bob7.txt.")
    bob.locator("[data-steer-send]").click()
    # Both pages show bob's message in the log, then the model's answer to it.
    for page in (alice, bob):
        expect(
            page.locator("[data-task-log] [data-kind='message'][data-author='bob']")
        ).to_contain_text("BOB-7")
    expect(alice.locator("[data-task-log]")).to_contain_text("Understood, bob")
    expect(status_of(alice)).to_have_text("succeeded")
    expect(alice.locator("[data-task-changes]")).to_contain_text("bob7.txt")
    expect(alice.locator("[data-task-log] [data-elapsed]").first).to_be_visible()


def test_plan_approval_follow_up_rules_and_allowed_hosts(flint, project, browser, two_hosts):
    from editor.agents.room_settings import agent_settings_set

    cast = project
    allowed, other = two_hosts
    agent_settings_set(room=cast.room, actor=cast.alice, command_hosts=[f"127.0.0.1:{allowed}"])
    fetch = "curl -s http://127.0.0.1:{}/ ; echo; curl -s http://127.0.0.1:{}/"
    plan = {"steps": ["Add plan.txt, signed", "Check the package index"], "files": ["plan.txt"]}
    flint.sim.simulator.rules = rules_from([
        {"marker": "plan-ui", "turn": 0,
         "tool_calls": [{"name": "propose_plan", "arguments": plan}]},
        # The rule is obeyed only if the AGENTS.md text reached the model's instructions.
        {"match": "approved this plan", "marker": "SIGNED-BY-RULE", "turn": 1,
         "tool_calls": [_add("plan.txt", "SIGNED-BY-RULE"),
                        {"name": "run_command",
                         "arguments": {"command": fetch.format(allowed, other)}}]},
        {"match": "approved this plan", "turn": 1, "reply": "No rules reached me."},
        {"marker": "plan-ui", "turn": 2, "tool_calls": [FINISH]},
        {"match": "Follow-up from bob", "turn": 3, "tool_calls": [{
            "name": "apply_patch", "arguments": {"patch": (
                "*** Begin Patch\n*** Update File: plan.txt\n SIGNED-BY-RULE\n+second line\n"
                "*** End Patch")}}]},
        {"match": "Follow-up from bob", "turn": 4, "tool_calls": [FINISH]},
    ])  # fmt: skip
    alice = open_room_as(browser, flint, cast.alice, cast.room, width=1440, height=900)
    bob = open_room_as(browser, flint, cast.bob, cast.room, width=1440, height=900)
    start_task(alice, "plan-ui: add a signed plan file", plan_first=True)
    expect(status_of(alice)).to_have_text("waiting for plan approval")
    expect(alice.locator("[data-plan-steps]")).to_contain_text("Check the package index")
    open_task_of(bob, "plan-ui")
    bob.locator("[data-plan-approve]").click()
    expect(status_of(alice)).to_have_text("succeeded")
    expect(alice.locator("[data-task-log] [data-kind='plan']").last).to_contain_text(
        "Plan approved by bob"
    )
    expect(alice.locator("[data-rules-used]")).to_contain_text("AGENTS.md")
    expect(alice.locator("[data-task-changes]")).to_contain_text("plan.txt")
    expect(alice.locator("[data-task-log]")).to_contain_text(f"refused 127.0.0.1:{other}")
    from editor.agents.models import Task

    transcript = Task.objects.get(prompt__startswith="plan-ui").transcript
    ran = next(m["content"] for m in transcript if "exit code" in str(m.get("content")))
    assert f"hello from {allowed}" in ran and "not an allowed host" in ran, ran
    # bob follows it up; the follow-up starts from the (unapplied) plan.txt.
    bob.locator("[data-follow-up-input]").fill("now add a second line")
    bob.locator("[data-follow-up]").click()
    expect(bob.locator("[data-thread]")).to_contain_text("Follow-up of task")
    expect(status_of(bob)).to_have_text("succeeded")
    expect(bob.locator("[data-task-changes]")).to_contain_text("second line")

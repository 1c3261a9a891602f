"""Chromium, a real Celery worker and daphne, the simulator as the deep model: the task as
a room member while its changes are applied, and the room's timeline of applied changes.

bob runs a task and applies it; alice, with the file open, sees the task's named cursor
("task #N, started by Bob") on the changed text and the task in the Here-now list, both
gone a few seconds later. From the Tasks tab's timeline alice undoes the change set; bob
applies it again, alice edits the file, and Undo is refused with the file named.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from editor.assist.simulator import rules_from
from tests.support.browser import open_room_as, screenshot_path
from tests.support.models import flint_on_simulator

pytestmark = [pytest.mark.live, pytest.mark.browser, pytest.mark.usefixtures("patient_expect")]

APP = "def f():\n    return 1\n\n\nprint(f())\n"
EDIT = "*** Begin Patch\n*** Update File: src/app.py\n-    return 1\n+    return 2\n*** End Patch"
JS_DOC = "(e => e.tabs.get(e.active).session.view.state.doc.toString())(window.flintRoom.editor)"
HOLD_S = 6


@pytest.fixture(scope="module")
def flint(django_db_setup, django_db_blocker) -> Iterator[SimpleNamespace]:
    env = {
        "FLINT_CELERY_QUEUE": f"checkpoints-ui-{uuid.uuid4().hex[:8]}",
        "FLINT_AGENTS_HEARTBEAT_S": "0.5",
        "FLINT_MODEL_RETRIES": "0",
        "FLINT_AGENTS_STEP_RETRIES": "0",
        "FLINT_COLLAB_AGENT_HOLD_SECONDS": str(HOLD_S),
    }
    with flint_on_simulator(env=env, db_blocker=django_db_blocker) as running:
        yield running


@pytest.fixture
def project(transactional_db, allow_sync_orm, cast):
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="src/app.py", text=APP)
    return cast


def open_file(page, path):
    page.locator(f".tree-row[data-path='{path}']").click()
    expect(page.locator(".tab[aria-selected='true']")).to_have_attribute("title", path)
    expect(page.locator("[data-doc-conn]")).to_have_attribute("data-state", "synced")


def wait_text(page, predicate) -> str:
    deadline = time.monotonic() + 10
    text = page.evaluate(f"() => {JS_DOC}")
    while time.monotonic() < deadline and not predicate(text):
        time.sleep(0.1)
        text = page.evaluate(f"() => {JS_DOC}")
    return text


def test_the_agents_named_cursor_shows_and_the_timeline_undoes_a_change_set(
    flint, project, browser, request
):
    cast = project
    flint.sim.simulator.rules = rules_from(
        [
            {"marker": "return-two", "turn": 0,
             "tool_calls": [{"name": "apply_patch", "arguments": {"patch": EDIT}}]},
            {"marker": "return-two", "turn": 1,
             "tool_calls": [{"name": "finish", "arguments": {"summary": "f returns 2."}}]},
        ]
    )  # fmt: skip
    bob = open_room_as(browser, flint, cast.bob, cast.room, width=1440, height=900)
    alice = open_room_as(browser, flint, cast.alice, cast.room, width=1440, height=900)
    for page in (bob, alice):
        open_file(page, "src/app.py")

    bob.locator("[data-assist-tab='tasks']").click()
    bob.locator("[data-task-prompt-input]").fill("return-two: make f return 2")
    bob.locator("[data-task-start]").click()
    status = bob.locator("[data-task-sheet] .sheet-head [data-task-status]")
    expect(status).to_have_text("succeeded", timeout=30_000)
    task_id = int(bob.locator(".task-row").first.get_attribute("data-task-id"))

    # bob applies; alice's editor shows the task writing, named, on the changed text.
    bob.locator("[data-apply-all]").click()
    label = alice.locator(".cm-agent-label")
    expect(label).to_have_text(f"task #{task_id}, started by Bob")
    expect(alice.locator(".cm-agent-edit")).to_have_text("2")
    here = alice.locator(f"[data-presence] li[data-agent-task='{task_id}']")
    expect(here).to_contain_text(f"task #{task_id}, started by Bob")
    expect(here).to_contain_text("src/app.py")
    assert "return 2" in wait_text(alice, lambda t: "return 2" in t)
    alice.screenshot(path=screenshot_path(request, "0-agent-cursor"))
    # ... and like a person's cursor that leaves, it goes a few seconds later.
    expect(label).to_have_count(0, timeout=(HOLD_S + 6) * 1000)
    expect(here).to_have_count(0)

    # The timeline in alice's Tasks tab: the change set, who applied it, its counts.
    alice.locator("[data-assist-tab='tasks']").click()
    entry = alice.locator(".checkpoint").first
    expect(entry).to_contain_text(f"Task #{task_id}")
    expect(entry).to_contain_text("src/app.py +1 \u22121")  # a minus sign
    expect(entry).to_contain_text("applied by bob")
    alice.screenshot(path=screenshot_path(request, "1-timeline"))
    entry.locator("[data-checkpoint-undo]").click()
    expect(entry).to_contain_text("undone by alice")
    expect(entry.locator("[data-checkpoint-undo]")).to_have_count(0)
    assert wait_text(alice, lambda t: t == APP) == APP
    assert wait_text(bob, lambda t: t == APP) == APP

    # Applied again, then edited by alice: undoing that change set is refused, nothing moves.
    bob.locator("[data-apply-all]").click()
    expect(alice.locator(".checkpoint")).to_have_count(2)
    newest = alice.locator(".checkpoint").first
    expect(newest.locator("[data-checkpoint-undo]")).to_be_visible()
    assert "return 2" in wait_text(alice, lambda t: "return 2" in t)
    alice.locator(".cm-content").click()
    alice.keyboard.press("Control+End")
    alice.keyboard.type("# alice was here\n")
    edited = wait_text(bob, lambda t: "alice was here" in t)
    assert "alice was here" in edited
    newest.locator("[data-checkpoint-undo]").click()
    refusal = alice.locator("[data-checkpoint-error]")
    expect(refusal).to_contain_text("src/app.py changed since")
    expect(refusal).to_contain_text("Undo it by hand")
    assert wait_text(alice, lambda t: t == edited) == edited
    alice.screenshot(path=screenshot_path(request, "2-refused"))

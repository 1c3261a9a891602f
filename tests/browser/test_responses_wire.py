"""Chromium with every tier on the Responses API: the simulator speaks /v1/responses (the
fast tier over HTTP streaming, the deep tier in WebSocket mode, their defaults), behind a
real daphne and Celery worker.

bob asks a question: his page and carol's show the model's reasoning summary as a
"thinking" line, which the answer replaces. alice's quick edit streams and lands. bob's
task patches through the freeform apply_patch tool; its log keeps the reasoning
collapsed; applied, both editors change.
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
from tests.support.sandbox import require_sandbox

pytestmark = [pytest.mark.live, pytest.mark.browser, pytest.mark.usefixtures("patient_expect")]

APP = "def f():\n    return 1\n\n\nif __name__ == '__main__':\n    print(f())\n"
SELECTION = "def f():\n    return 1\n"
EDITED = "def f():\n    return 2\n"
PATCH = (
    "*** Begin Patch\n*** Update File: src/app.py\n@@\n-    return 1\n+    return 2\n"
    "*** End Patch\n"
)
# "check its callers" is followed by ~1 s more of summary at 25 tokens/s, so the test sees
# it before the answer replaces the thinking line (it ended the summary and raced it).
THINKING = (
    "The user asks about f, which returns a constant; check its callers before answering."
    " Then read the tests that call it, and the module docs, and answer in one line."
)
JS_DOC = "(e => e.tabs.get(e.active).session.view.state.doc.toString())(window.flintRoom.editor)"


@pytest.fixture(scope="module")
def flint(django_db_setup, django_db_blocker) -> Iterator[SimpleNamespace]:
    require_sandbox()
    env = {
        "FLINT_CELERY_QUEUE": f"responses-ui-{uuid.uuid4().hex[:8]}",
        "FLINT_MODEL_API": "responses",
        "FLINT_MODEL_RETRIES": "0",
        "FLINT_AGENTS_STEP_RETRIES": "0",
    }
    with flint_on_simulator(
        env=env, db_blocker=django_db_blocker, tiers=("fast", "deep", "review")
    ) as running:
        running.sim.simulator.rules = rules_from(
            [
                # The summary streams slowly enough to be seen before the answer.
                {"match": "Question: What does f do?", "reasoning": THINKING, "tps": 25,
                 "reply": "`f` returns **1**."},
                {"match": "Instruction: return two", "reply": EDITED, "tps": 200},
                {"marker": "bump-f", "turn": 0, "reasoning": "Read app.py first.",
                 "tool_calls": [{"name": "read_file", "arguments": {"path": "src/app.py"}}]},
                {"marker": "bump-f", "turn": 1,
                 "tool_calls": [{"name": "apply_patch", "arguments": {"patch": PATCH}}]},
                {"marker": "bump-f", "turn": 2,
                 "tool_calls": [{"name": "finish", "arguments": {"summary": "f returns 2."}}]},
            ]
        )  # fmt: skip
        yield running


@pytest.fixture
def room(transactional_db, allow_sync_orm, cast):
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="src/app.py", text=APP)
    return cast


def open_file(page, path):
    page.locator(f".tree-row[data-path='{path}']").click()
    expect(page.locator(".tab[aria-selected='true']")).to_have_attribute("title", path)
    expect(page.locator("[data-doc-conn]")).to_have_attribute("data-state", "synced")


def doc_text(page) -> str:
    return page.evaluate(f"() => {JS_DOC}")


def select(page, start, end):
    page.evaluate(
        "([a, b]) => { const e = window.flintRoom.editor;"
        " const v = e.tabs.get(e.active).session.view; v.focus();"
        " v.dispatch({ selection: { anchor: a, head: b } }); }",
        [start, end],
    )


def test_qa_shows_thinking_that_the_answer_replaces(flint, room, browser, request):
    bob = open_room_as(browser, flint, room.bob, room.room, width=1360, height=820)
    carol = open_room_as(browser, flint, room.carol, room.room, width=1360, height=820)
    box = bob.locator("[data-assist-question]")
    box.fill("What does f do?")
    box.press("Enter")
    for page in (bob, carol):
        thinking = page.locator("[data-qa-answer] [data-qa-thinking]").last
        expect(thinking).to_be_visible()
        expect(thinking).to_contain_text("Thinking")
    expect(carol.locator("[data-qa-thinking]").last).to_contain_text("check its callers")
    carol.screenshot(path=screenshot_path(request, "1-thinking"))
    for page in (bob, carol):
        answer = page.locator("[data-qa-answer]").last
        expect(answer).to_have_attribute("data-status", "ok")
        expect(answer.locator("p").first).to_have_text("f returns 1.")
        expect(answer.locator("[data-qa-thinking]")).to_have_count(0)  # the answer replaced it
    bob.screenshot(path=screenshot_path(request, "2-answered"))


def test_quick_edit_streams_and_lands(flint, room, browser, request):
    alice = open_room_as(browser, flint, room.alice, room.room, width=1360, height=820)
    open_file(alice, "src/app.py")
    select(alice, 0, len(SELECTION))
    alice.keyboard.press("Control+k")
    prompt = alice.locator("[data-qe-prompt] input")
    expect(prompt).to_be_focused()
    prompt.fill("return two")
    prompt.press("Enter")
    head = alice.locator(".cm-qe-head")
    expect(head).to_have_attribute("data-qe-status", "done")
    expect(alice.locator(".cm-qe-add .cm-qe-add-line")).to_have_text(["    return 2"])
    alice.screenshot(path=screenshot_path(request, "1-diff"))
    head.locator("[data-qe-action='accept']").click()
    expected = APP.replace("return 1", "return 2")
    alice.wait_for_function(f"() => {JS_DOC} === {expected!r}")


def test_a_task_patches_logs_its_reasoning_collapsed_and_applies(flint, room, browser, request):
    bob = open_room_as(browser, flint, room.bob, room.room, width=1440, height=900)
    alice = open_room_as(browser, flint, room.alice, room.room, width=1440, height=900)
    for page in (bob, alice):
        open_file(page, "src/app.py")
    bob.locator("[data-assist-tab='tasks']").click()
    bob.locator("[data-task-prompt-input]").fill("bump-f: make f return 2")
    bob.locator("[data-task-start]").click()
    status = bob.locator("[data-task-sheet] .sheet-head [data-task-status]")
    expect(status).to_have_text("succeeded", timeout=30_000)
    thinking = bob.locator("[data-task-log] [data-kind='reasoning']")
    expect(thinking).to_have_count(1)
    details = thinking.locator("details")
    expect(details).not_to_have_attribute("open", "")  # collapsed by default
    expect(thinking.locator(".step-text")).to_be_hidden()
    thinking.locator("summary").click()
    expect(thinking.locator(".step-text")).to_have_text("Read app.py first.")
    calls = bob.locator("[data-task-log] [data-kind='tool_call']")
    expect(calls).to_have_count(3)
    expect(calls.nth(1)).to_contain_text("src/app.py")
    change = bob.locator("[data-change='src/app.py']")
    expect(change.locator("tr.add td.code")).to_have_text(["    return 2"])
    bob.screenshot(path=screenshot_path(request, "1-task-log"))
    bob.locator("[data-apply-all]").click()
    expect(change).to_have_attribute("data-status", "applied")
    expected = APP.replace("return 1", "return 2")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and doc_text(alice) != expected:
        time.sleep(0.1)
    assert doc_text(alice) == expected and doc_text(bob) == expected

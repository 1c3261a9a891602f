"""Chromium, a real Celery worker and daphne, the simulator as the deep and review models:
deep tasks and reviews in the room page.

bob starts a task from the Tasks tab; the simulator is scripted to read a file, patch two
files and run a command in the sandbox. alice's page sees it run live; the diff shows
both files; bob applies it and both pages' editors show the new text. A long command is
stopped from the page and ends "cancelled" within a few seconds; a review of a file puts
a comment marked in the gutter and shown below its line, which fades when resolved; a
file edited meanwhile conflicts.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace

import psutil
import pytest
from playwright.sync_api import expect

from editor.assist.simulator import rules_from
from tests.support.browser import open_room_as, screenshot_path
from tests.support.models import flint_on_simulator
from tests.support.sandbox import require_sandbox

pytestmark = [pytest.mark.live, pytest.mark.browser, pytest.mark.usefixtures("patient_expect")]

APP = "def f():\n    return 1\n\n\nif __name__ == '__main__':\n    print(f())\n"
EDIT = (
    "*** Begin Patch\n*** Update File: src/app.py\n-    return 1\n+    return 2\n"
    "*** Update File: README.md\n-# App\n+# App (v2)\n*** End Patch"
)
RUN = "python3 src/app.py > out.txt; cat out.txt"
JS_DOC = "(e => e.tabs.get(e.active).session.view.state.doc.toString())(window.flintRoom.editor)"


@pytest.fixture(scope="module")
def flint(django_db_setup, django_db_blocker) -> Iterator[SimpleNamespace]:
    """A worker and daphne of our own, the deep and review tiers on the simulator."""
    require_sandbox()
    env = {
        "FLINT_CELERY_QUEUE": f"tasks-ui-{uuid.uuid4().hex[:8]}",
        "FLINT_AGENTS_HEARTBEAT_S": "0.5",
        "FLINT_MODEL_RETRIES": "0",
        "FLINT_AGENTS_STEP_RETRIES": "0",
        "FLINT_DEMO_MODE": "1",
    }
    with flint_on_simulator(env=env, db_blocker=django_db_blocker) as running:
        yield running


def script(flint, rules: list[dict]) -> None:
    flint.sim.simulator.rules = rules_from(rules)


def turns(marker: str, steps: list[dict]) -> list[dict]:
    return [{"marker": marker, "turn": i, **step} for i, step in enumerate(steps)]


@pytest.fixture
def project(transactional_db, allow_sync_orm, cast):
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="src/app.py", text=APP)
    file_create(room=cast.room, actor=cast.alice, path="README.md", text="# App\n")
    return cast


def open_file(page, path):
    page.locator(f".tree-row[data-path='{path}']").click()
    expect(page.locator(".tab[aria-selected='true']")).to_have_attribute("title", path)
    expect(page.locator("[data-doc-conn]")).to_have_attribute("data-state", "synced")


def doc_text(page) -> str:
    return page.evaluate(f"() => {JS_DOC}")


def start_task(page, prompt: str, *, attempts: int = 1) -> None:
    page.locator("[data-assist-tab='tasks']").click()
    page.locator("[data-task-prompt-input]").fill(prompt)
    if attempts > 1:
        page.locator("[data-task-more] summary").click()
        page.locator("[data-task-attempts]").select_option(str(attempts))
    page.locator("[data-task-start]").click()
    expect(page.locator("[data-task-sheet]")).to_be_visible()


def sheet_status(page):
    return page.locator("[data-task-sheet] .sheet-head [data-task-status]")


def log_calls(page):
    return page.locator("[data-task-log] [data-kind='tool_call']")


def test_a_task_from_the_page_runs_live_and_applying_it_changes_both_editors(
    flint, project, browser, request
):
    cast = project
    steps = turns("two-files", [
        {"reply": "Reading the app first.",
         "tool_calls": [{"name": "read_file", "arguments": {"path": "src/app.py"}}]},
        # Slow enough that alice's page joins while it runs and sees the rest arrive.
        {"reply": "f should return 2, and the README should say so.", "ttft_ms": 2500,
         "tool_calls": [{"name": "apply_patch", "arguments": {"patch": EDIT}}]},
        {"ttft_ms": 800, "tool_calls": [{"name": "run_command", "arguments": {"command": RUN}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "f returns 2, README too."}}]},
    ])  # fmt: skip
    review = {"marker": "Review these files", "reply": json.dumps([
        {"path": "README.md", "line": 1, "severity": "info",
         "body": "Say what changed in v2 under the title."}])}  # fmt: skip
    script(flint, [*steps, review])
    bob = open_room_as(browser, flint, cast.bob, cast.room, width=1440, height=900)
    alice = open_room_as(browser, flint, cast.alice, cast.room, width=1440, height=900)
    for page in (bob, alice):
        open_file(page, "src/app.py")
    alice.locator("[data-assist-tab='tasks']").click()

    start_task(bob, "two-files: make f return 2 and say so in the README")

    # alice's list shows it live; she opens it while it runs and sees the rest arrive.
    row = alice.locator(".task-row").first
    expect(row).to_contain_text("two-files")
    expect(row.locator("[data-task-status]")).to_have_text("running")
    expect(row).to_contain_text("bob")
    row.click()
    expect(sheet_status(alice)).to_have_text("running")
    expect(log_calls(alice).first).to_contain_text("read_file")
    seen_at_open = log_calls(alice).count()
    alice.screenshot(path=screenshot_path(request, "0-running"))
    expect(log_calls(alice)).to_have_count(4, timeout=30_000)
    assert seen_at_open < 4  # the later calls arrived live on alice's page
    for page in (alice, bob):
        expect(sheet_status(page)).to_have_text("succeeded", timeout=30_000)
        expect(page.locator("[data-task-summary]")).to_contain_text("f returns 2")
        expect(log_calls(page).nth(2)).to_contain_text("python3 src/app.py")
        expect(page.locator("[data-kind='tool_result'][data-tool='run_command']")).to_contain_text(
            "exit code 0"
        )
    assert "tokens" in alice.locator("[data-task-tokens]").inner_text()

    # The diff: both edited files with line numbers and colours, and the command's output.
    for page in (alice, bob):
        app = page.locator("[data-change='src/app.py']")
        expect(app.locator("tr.del td.code")).to_have_text(["    return 1"])
        expect(app.locator("tr.add td.code")).to_have_text(["    return 2"])
        readme = page.locator("[data-change='README.md']")
        expect(readme.locator("tr.add td.code")).to_have_text(["# App (v2)"])
        expect(page.locator("[data-change='out.txt'] .change-kind")).to_have_text("added")

    # A review of the changeset puts its comment under README's new line 1.
    bob.locator("[data-review-task]").click()
    comment = alice.locator("[data-change='README.md'] tr.comment-row")
    expect(comment).to_contain_text("Say what changed in v2")
    expect(bob.locator("[data-review-line]")).to_contain_text("1 comment")
    alice.screenshot(path=screenshot_path(request, "1-task-log-and-diff"))

    # bob turns the generated out.txt down, then applies the rest: both editors change.
    bob.locator("[data-reject-file='out.txt']").click()
    expect(alice.locator("[data-change='out.txt']")).to_have_attribute("data-status", "rejected")
    bob.locator("[data-apply-all]").click()
    for page in (alice, bob):
        expect(page.locator("[data-change='src/app.py']")).to_have_attribute(
            "data-status", "applied"
        )
        expect(page.locator("[data-change='README.md']")).to_have_attribute(
            "data-status", "applied"
        )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "return 2" not in doc_text(alice):
        time.sleep(0.1)
    for page in (alice, bob):
        assert doc_text(page) == APP.replace("return 1", "return 2")
    expect(alice.locator(".tree-row[data-path='out.txt']")).to_have_count(0)
    bob.screenshot(path=screenshot_path(request, "2-applied"))

    # Undo puts the text back in both editors; the task's own page shows it pending again.
    bob.locator("[data-undo-file='src/app.py']").click()
    expect(alice.locator("[data-change='src/app.py']")).to_have_attribute("data-status", "pending")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "return 1" not in doc_text(alice):
        time.sleep(0.1)
    assert doc_text(alice) == APP and doc_text(bob) == APP

    # A reload (a late joiner) reads the whole stored log back.
    alice.reload()
    expect(alice.locator("[data-conn]")).to_have_attribute("data-state", "live")
    alice.locator("[data-assist-tab='tasks']").click()
    alice.locator(".task-row").first.click()
    expect(log_calls(alice)).to_have_count(4)
    expect(alice.locator("[data-task-log] [data-kind='model_text']").first).to_contain_text(
        "Reading the app first."
    )


def test_stop_ends_a_long_command_cancelled_within_seconds(flint, project, browser, request):
    cast = project
    script(flint, turns("long-command", [
        {"tool_calls": [{"name": "apply_patch", "arguments": {"patch": EDIT}}]},
        {"tool_calls": [{"name": "run_command", "arguments": {"command": "sleep 30"}}]},
    ]))  # fmt: skip
    bob = open_room_as(browser, flint, cast.bob, cast.room, width=1440, height=900)
    carol = open_room_as(browser, flint, cast.carol, cast.room, width=1440, height=900)
    carol.locator("[data-assist-tab='tasks']").click()
    expect(carol.locator("[data-task-form]")).to_be_hidden()
    expect(carol.locator("[data-task-viewer-note]")).to_be_visible()

    start_task(bob, "long-command: bump and wait")
    expect(bob.locator("[data-task-log] [data-tool='run_command']").first).to_contain_text(
        "sleep 30", timeout=30_000
    )
    carol.locator(".task-row").first.click()
    expect(sheet_status(carol)).to_have_text("running")
    expect(carol.locator("[data-task-stop]")).to_have_count(0)  # viewers get no controls

    stop = bob.locator("[data-task-stop]")
    asked = time.monotonic()
    stop.click()
    expect(stop).to_have_text("Stopping…", timeout=1000)
    expect(sheet_status(bob)).to_have_text("cancelled", timeout=5000)
    took = time.monotonic() - asked
    assert took < 5, took
    expect(sheet_status(carol)).to_have_text("cancelled")
    expect(bob.locator("[data-task-stop]")).to_have_count(0)
    expect(bob.locator("[data-task-retry]")).to_be_visible()
    # The partial changeset is kept and shown.
    expect(bob.locator("[data-change='src/app.py']")).to_be_visible()
    expect(bob.locator("[data-change='README.md']")).to_be_visible()
    bob.screenshot(path=screenshot_path(request, "cancelled"))


def test_a_file_review_puts_comments_in_the_gutter_and_resolving_fades_them(
    flint, project, browser, request
):
    cast = project
    script(flint, [{"marker": "Review these files", "reply": json.dumps([
        {"path": "src/app.py", "line": 2, "severity": "warning",
         "body": "Magic number: name the value f returns."}])}])  # fmt: skip
    bob = open_room_as(browser, flint, cast.bob, cast.room, width=1440, height=900)
    alice = open_room_as(browser, flint, cast.alice, cast.room, width=1440, height=900)
    for page in (bob, alice):
        open_file(page, "src/app.py")

    bob.locator("[data-review-file]").click()

    for page in (bob, alice):
        marker = page.locator(".editor-host:not([hidden]) .cm-review-gutter [data-review-marker]")
        expect(marker).to_have_count(1)
        expect(marker).to_have_attribute("data-severity", "warning")
        # The marker sits on line 2 ("    return 1").
        top = marker.bounding_box()["y"]
        line = page.locator(".editor-host:not([hidden]) .cm-line").nth(1).bounding_box()
        assert line["y"] - 4 <= top <= line["y"] + line["height"], (top, line)
    expect(bob.locator("[data-review-state]")).to_contain_text("1 comment")
    # The comment shows without a click, in a card below its line (not over it).
    for page in (bob, alice):
        card = page.locator(".editor-host:not([hidden]) [data-review-inline]")
        expect(card).to_contain_text("Magic number")
        expect(card).to_contain_text("warning")
        lines = page.locator(".editor-host:not([hidden]) .cm-line")
        commented, after = lines.nth(1).bounding_box(), lines.nth(2).bounding_box()
        box = card.bounding_box()
        assert box["y"] >= commented["y"] + commented["height"] - 1, (box, commented)
        assert after["y"] >= box["y"] + box["height"] - 1, (after, box)  # pushed down
    bob.screenshot(path=screenshot_path(request, "gutter-comment"))
    # The marker folds the card away (for this page only) and brings it back.
    marker = bob.locator(".cm-review-gutter [data-review-marker]")
    marker.click()
    expect(bob.locator("[data-review-inline]")).to_have_count(0)
    expect(marker).to_have_attribute("aria-expanded", "false")
    expect(alice.locator("[data-review-inline]")).to_have_count(1)
    marker.click()
    card = bob.locator("[data-review-inline]")
    expect(card).to_contain_text("Magic number")

    card.locator("[data-resolve]").click()
    for page in (bob, alice):
        expect(page.locator(".cm-review-gutter [data-review-marker]")).to_have_count(0)
        expect(page.locator("[data-review-inline]")).to_have_count(0)


def test_an_edit_made_meanwhile_conflicts_and_the_page_shows_both_sides(
    flint, project, browser, request
):
    cast = project
    script(flint, turns("conflict", [
        {"tool_calls": [{"name": "apply_patch", "arguments": {"patch": EDIT}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "bumped"}}]},
    ]))  # fmt: skip
    bob = open_room_as(browser, flint, cast.bob, cast.room, width=1440, height=900)
    alice = open_room_as(browser, flint, cast.alice, cast.room, width=1440, height=900)
    open_file(alice, "src/app.py")
    start_task(bob, "conflict: bump f")
    expect(sheet_status(bob)).to_have_text("succeeded", timeout=30_000)

    # alice changes the same line in the live document while bob reviews.
    alice.evaluate(
        "() => { const v = window.flintRoom.editor.tabs.get(window.flintRoom.editor.active)"
        ".session.view; const at = v.state.doc.toString().indexOf('return 1') + 8;"
        " v.dispatch({ changes: { from: at, insert: '0  # ten' } }); }"
    )
    edited = APP.replace("return 1", "return 10  # ten")
    assert doc_text(alice) == edited
    bob.locator("[data-apply-all]").click()

    app = bob.locator("[data-change='src/app.py']")
    expect(app).to_have_attribute("data-status", "conflict")
    conflicts = app.locator("[data-conflicts]")
    expect(conflicts).to_contain_text("src/app.py changed since the task's snapshot")
    expect(conflicts.locator(".conflict-side.live pre")).to_have_text("    return 10  # ten")
    expect(conflicts.locator(".conflict-side.proposed pre")).to_have_text("    return 2")
    expect(bob.locator("[data-change='README.md']")).to_have_attribute("data-status", "applied")
    time.sleep(0.5)
    assert doc_text(alice) == edited  # nothing was written over alice's line
    bob.screenshot(path=screenshot_path(request, "conflict"))

    # alice puts the line back; "Try again" then applies cleanly.
    alice.evaluate(
        "() => { const v = window.flintRoom.editor.tabs.get(window.flintRoom.editor.active)"
        ".session.view; const t = v.state.doc.toString(); const at = t.indexOf('0  # ten');"
        " v.dispatch({ changes: { from: at, to: at + 8 } }); }"
    )
    app.locator("[data-apply-file='src/app.py']").click()
    expect(app).to_have_attribute("data-status", "applied")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "return 2" not in doc_text(alice):
        time.sleep(0.1)
    assert doc_text(alice) == APP.replace("return 1", "return 2")


def test_attempts_run_as_variants_shown_as_tabs_and_one_is_picked(flint, project, browser, request):
    cast = project
    script(flint, turns("variants", [
        {"tool_calls": [{"name": "apply_patch", "arguments": {"patch": EDIT}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "one way"}}]},
    ]))  # fmt: skip
    bob = open_room_as(browser, flint, cast.bob, cast.room, width=1440, height=900)
    open_file(bob, "README.md")
    start_task(bob, "variants: bump f", attempts=2)

    tabs = bob.locator("[data-task-sheet] .variant-tab")
    expect(tabs).to_have_count(2)
    expect(tabs.nth(0)).to_have_attribute("aria-selected", "true")
    expect(bob.locator(".task-row")).to_have_count(1)  # one request, one row
    expect(bob.locator(".task-row .task-variants")).to_have_text("\u00d72")
    expect(tabs.locator("[data-status='succeeded']")).to_have_count(2, timeout=30_000)
    tabs.nth(1).click()
    expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
    expect(bob.locator("[data-change='README.md'] tr.add td.code")).to_have_text(["# App (v2)"])
    bob.screenshot(path=screenshot_path(request, "variants"))

    bob.locator("[data-pick]").click()

    expect(tabs.nth(1).locator(".variant-picked")).to_have_text("picked")
    expect(bob.locator("[data-change='README.md']")).to_have_attribute("data-status", "applied")
    tabs.nth(0).click()
    expect(bob.locator("[data-change='README.md']")).to_have_attribute("data-status", "rejected")
    bob.locator("[data-sheet-close]").click()
    expect(bob.locator("[data-task-sheet]")).to_be_hidden()
    expect(bob.locator(".editor-host:not([hidden]) .cm-content")).to_contain_text("# App (v2)")


def test_a_model_error_is_shown_with_its_message(flint, project, browser, request):
    cast = project
    script(flint, turns("model-down", [{"fault": "500"}]))
    bob = open_room_as(browser, flint, cast.bob, cast.room, width=1440, height=900)
    start_task(bob, "model-down: try")

    expect(sheet_status(bob)).to_have_text("failed", timeout=30_000)
    failure = bob.locator("[data-failure='failed']")
    expect(failure).to_contain_text("Model error")
    expect(bob.locator("[data-task-log] [data-kind='error']").last).to_be_visible()
    expect(failure.get_by_role("button", name="Retry")).to_be_visible()


def _pool_child_running(worker_pid: int, command: str) -> psutil.Process | None:
    """The worker's pool process whose sandbox runs `command`."""
    children = {p.pid: p for p in psutil.Process(worker_pid).children()}
    for proc in psutil.process_iter(["cmdline"]):
        if command not in " ".join(proc.info["cmdline"] or []):
            continue
        try:
            parents = proc.parents()
        except psutil.Error:  # it ended while we looked; the caller asks again
            continue
        for parent in parents:
            if parent.pid in children:
                return children[parent.pid]
    return None


def test_a_lost_worker_shows_worker_lost_and_retry_runs_it_again(flint, project, browser, request):
    cast = project
    script(flint, turns("lose-me", [
        {"tool_calls": [{"name": "run_command", "arguments": {"command": "sleep 31"}}]},
    ]))  # fmt: skip
    bob = open_room_as(browser, flint, cast.bob, cast.room, width=1440, height=900)
    start_task(bob, "lose-me: wait")
    expect(bob.locator("[data-task-log] [data-tool='run_command']").first).to_contain_text(
        "sleep 31", timeout=30_000
    )
    deadline = time.monotonic() + 10
    child = None
    while child is None and time.monotonic() < deadline:
        child = _pool_child_running(flint.worker.pid, "sleep 31")
        time.sleep(0.1)
    assert child is not None, "no pool process runs the sandboxed command"

    os.kill(child.pid, signal.SIGKILL)  # the pool child dies mid-task; its worker lives on

    expect(sheet_status(bob)).to_have_text("failed", timeout=15_000)
    failure = bob.locator("[data-failure='worker-lost']")
    expect(failure).to_contain_text("worker lost")
    bob.screenshot(path=screenshot_path(request, "worker-lost"))
    script(flint, turns("lose-me", [
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "done this time"}}]},
    ]))  # fmt: skip
    failure.get_by_role("button", name="Retry").click()

    expect(bob.locator("[data-task-summary]")).to_contain_text("done this time", timeout=30_000)
    expect(sheet_status(bob)).to_have_text("succeeded")
    expect(bob.locator(".task-row")).to_have_count(2)

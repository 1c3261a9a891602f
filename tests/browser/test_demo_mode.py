"""Issue 14's "done when": a fresh `make run` in demo mode, every model feature in Chromium.

The real launcher starts everything in a fresh data directory with no model server
configured, so its simulator answers as the demo model. A newcomer signs up, opens the
demo room offered on the rooms page and goes through the things to try: ghost text taken
from the project, a quick edit that adds a correct docstring, an answer citing a file and
line, a deep task ending in a multi-file diff that applies, review comments on lines.
Screenshots are kept under test-output/screenshots/.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.support.browser import screenshot_path
from tests.support.launcher import RunningLauncher, launcher_factory
from tests.support.sandbox import require_sandbox

pytestmark = [pytest.mark.live, pytest.mark.browser]

JS_VIEW = "(e => e.tabs.get(e.active).session.view)(window.flintRoom.editor)"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def flint(request) -> Iterator[RunningLauncher]:
    require_sandbox()
    starts = launcher_factory(request.node.name)
    start = next(starts)
    running = start()
    running.wait_ready()
    assert "Models: DEMO MODE" in running.output()
    try:
        yield running
    finally:
        running.process.terminate()
        running.wait_exit()
        next(starts, None)  # kills anything left, removes the data directory


def doc_text(page) -> str:
    return page.evaluate(f"() => {JS_VIEW}.state.doc.toString()")


def open_file(page, path: str):
    page.locator(f".tree-row[data-path='{path}']").click()
    expect(page.locator(".tab[aria-selected='true']")).to_have_attribute("title", path)
    expect(page.locator("[data-doc-conn]")).to_have_attribute("data-state", "synced")


def insert_at_end(page, text: str) -> None:
    page.evaluate(
        f"(t) => {{ const v = {JS_VIEW}; v.focus(); const n = v.state.doc.length;"
        " v.dispatch({ changes: { from: n, insert: t }, selection: { anchor: n + t.length } }); }",
        text,
    )


def select_text(page, text: str) -> None:
    page.evaluate(
        f"(t) => {{ const v = {JS_VIEW}; v.focus(); const a = v.state.doc.toString().indexOf(t);"
        " v.dispatch({ selection: { anchor: a, head: a + t.length } }); }",
        text,
    )


def test_a_fresh_make_run_in_demo_mode_shows_every_model_feature(flint, request, browser):
    expect.set_options(timeout=20_000)
    shot = lambda page, name: page.screenshot(path=screenshot_path(request, name))  # noqa: E731
    try:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(flint.url + "accounts/signup/")
        page.fill("input[name='username']", "nora")
        page.fill("input[name='display_name']", "Nora")
        page.fill("input[name='password1']", PASSWORD)
        page.fill("input[name='password2']", PASSWORD)
        page.locator("form button[type='submit']").click()

        # A fresh install: the rooms page offers the demo room.
        page.goto(flint.url + "rooms/")
        expect(page.locator(".demo-banner")).to_be_visible()  # demo mode is said
        offer = page.locator("[data-demo-offer]")
        expect(offer).to_be_visible()
        shot(page, "1-rooms-page-offers-a-demo-room")
        offer.locator("[data-demo-room-new]").click()
        expect(page.locator("[data-try-panel]")).to_be_visible()
        expect(page.locator("[data-conn]")).to_have_attribute("data-state", "live")
        expect(page.locator(".tree-row[data-path='shop/cart.py']")).to_be_visible()
        shot(page, "2-demo-room-with-things-to-try")
        page.locator("[data-try-panel] summary").click()  # folds away, for more editor
        expect(page.locator(".try-list")).to_be_hidden()

        # Type: ghost text taken from the project (Cart.subtotal), Tab takes it.
        open_file(page, "shop/cart.py")
        insert_at_end(page, "\n    def grand_total(self):\n        return self.sub")
        page.keyboard.type("t")
        ghost = page.locator(".cm-assist-ghost")
        expect(ghost.locator(".cm-assist-ghost-text")).to_have_text("otal()")
        expect(ghost.locator("[data-assist-demo-label]")).to_be_visible()
        shot(page, "3-ghost-text-from-the-project")
        page.keyboard.press("Tab")
        expect(ghost).to_have_count(0)
        assert doc_text(page).endswith("    def grand_total(self):\n        return self.subtotal()")

        # Ctrl-K: a quick edit that adds a correct docstring.
        open_file(page, "shop/pricing.py")
        function = 'def check_code(code):\n    if code.upper() not in DISCOUNTS:\n        raise ValueError("unknown discount code: %s" % code)\n    return True\n'  # noqa: E501
        select_text(page, function)
        page.keyboard.press("Control+k")
        prompt = page.locator("[data-qe-prompt] input")
        expect(prompt).to_be_focused()
        prompt.fill("add a docstring")
        prompt.press("Enter")
        head = page.locator(".cm-qe-head")
        expect(head).to_have_attribute("data-qe-status", "done")
        expect(head.locator("[data-assist-demo-label]")).to_be_visible()
        shot(page, "4-quick-edit-docstring-diff")
        head.locator("[data-qe-action='accept']").click()
        expect(head).to_have_count(0)
        text = doc_text(page)
        checked = next(
            n for n in ast.walk(ast.parse(text)) if getattr(n, "name", "") == "check_code"
        )
        assert ast.get_docstring(checked) == (
            "Check code.\n\nArgs:\n    code: Code.\n\nReturns:\n    `True`.\n\n"
            "Raises:\n    ValueError."
        )

        # What the demo model does not know: the code back unchanged, and a note.
        select_text(page, "def price_label")
        page.keyboard.press("Control+k")
        prompt.fill("make it faster")
        prompt.press("Enter")
        expect(head).to_have_attribute("data-qe-status", "done")
        expect(head).to_contain_text("No changes proposed")
        expect(head.locator("[data-qe-model-note]")).to_contain_text(
            "Demo model: this instruction is not one the demo model knows"
        )
        shot(page, "4b-quick-edit-unknown-instruction-note")
        head.locator("[data-qe-action='reject']").click()
        expect(head).to_have_count(0)

        # Ask: an answer citing files and lines.
        page.locator("[data-assist-tab='ask']").click()
        box = page.locator("[data-assist-question]")
        box.fill("Where is the discount applied?")
        box.press("Enter")
        answer = page.locator("[data-qa-answer]").last
        expect(answer).to_have_attribute("data-status", "ok")
        expect(answer).to_contain_text("Retrieved by the demo model")
        expect(answer).to_contain_text("shop/pricing.py, line")
        expect(answer).to_contain_text("shop/cart.py, line")
        expect(answer.locator(".assist-code pre").first).to_contain_text("apply_discount")
        shot(page, "5-answer-cites-files-and-lines")

        # A deep task: docstrings for every function, a multi-file diff that applies.
        page.locator("[data-assist-tab='tasks']").click()
        page.locator("[data-task-prompt-input]").fill("Add a docstring to every function")
        page.locator("[data-task-start]").click()
        sheet = page.locator("[data-task-sheet]")
        expect(sheet).to_be_visible()
        status = page.locator("[data-task-sheet] .sheet-head [data-task-status]")
        expect(status).to_have_text("succeeded", timeout=60_000)
        log = page.locator("[data-task-log]")
        expect(log).to_contain_text("Reading shop/cart.py")
        expect(log.locator("[data-tool='run_command']").first).to_contain_text("py_compile")
        expect(page.locator("[data-task-summary]")).to_contain_text("they compile")
        for path in ("shop/cart.py", "shop/pricing.py", "shop/report.py"):
            expect(page.locator(f"[data-change='{path}'] tr.add").first).to_be_visible()
        shot(page, "6-task-log-and-multi-file-diff")
        page.locator("[data-apply-all]").click()
        for path in ("shop/cart.py", "shop/pricing.py", "shop/report.py"):
            expect(page.locator(f"[data-change='{path}']")).to_have_attribute(
                "data-status", "applied"
            )
        shot(page, "7-task-applied")
        page.locator("[data-sheet-close]").click()
        expect(sheet).to_be_hidden()
        open_file(page, "shop/report.py")
        page.wait_for_function(
            f"() => {JS_VIEW}.state.doc.toString().includes('Return the daily report.')"
        )
        report = ast.parse(doc_text(page))
        assert all(ast.get_docstring(n) for n in ast.walk(report) if isinstance(n, ast.FunctionDef))

        # Review: comments anchored to lines of the file, from static analysis.
        open_file(page, "shop/pricing.py")
        page.locator("[data-review-file]").click()
        markers = page.locator(".editor-host:not([hidden]) .cm-review-gutter [data-review-marker]")
        expect(markers.first).to_be_visible()
        expect(page.locator("[data-review-state]")).to_contain_text("comment")
        first = markers.first
        top = first.bounding_box()["y"]
        line1 = page.locator(".editor-host:not([hidden]) .cm-line").nth(0).bounding_box()
        assert line1["y"] - 4 <= top <= line1["y"] + line1["height"]  # `import sys`
        # Shown below their lines without a click.
        card = page.locator(".editor-host:not([hidden]) [data-review-inline]").first
        expect(card).to_contain_text("F401")
        shot(page, "8-review-comments-on-lines")
    finally:
        expect.set_options(timeout=5_000)

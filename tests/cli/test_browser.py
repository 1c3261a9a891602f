"""The newcomer's story with a real Chromium: bob syncs a folder from his terminal, alice
has the room open; she sees "Bob (terminal)", his editor's saves in her editor, and her
typing in his file."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.cli.syncing import SyncRun, read
from tests.support.browser import open_room_as, screenshot_path

pytestmark = [pytest.mark.live, pytest.mark.browser]

JS_DOC = (
    "() => (e => e.tabs.get(e.active).session.view.state.doc.toString())(window.flintRoom.editor)"
)
JS_END = (
    "(() => { const e = window.flintRoom.editor; const v = e.tabs.get(e.active).session.view;"
    " v.focus(); v.dispatch({ selection: { anchor: v.state.doc.length } }); })()"
)


def test_a_synced_folder_and_the_browser_edit_together(
    flint, people, tmp_path, allow_sync_orm, request, browser
):
    from editor.projects.services import file_create

    file_create(room=people.room, actor=people.cast.alice, path="README.md", text="# App\n")
    bob = SyncRun(people.bob, tmp_path / "bob", "acme/compiler")
    try:
        bob.ready()
        page = open_room_as(browser, flint, people.cast.alice, people.room)
        expect(page.locator("[data-presence] li", has_text="(terminal)")).to_contain_text(
            "Bob (terminal)"
        )
        page.locator(".tree-row[data-path='README.md']").click()
        expect(page.locator("[data-doc-conn]")).to_have_attribute("data-state", "synced")

        (bob.folder / "README.md").write_text("# App\nsaved in vim\n")
        deadline = time.monotonic() + 10
        while page.evaluate(f"({JS_DOC})()") != "# App\nsaved in vim\n":
            assert time.monotonic() < deadline, "the save never reached the browser"
            time.sleep(0.05)

        page.evaluate(JS_END)
        page.keyboard.type("typed in the browser\n")
        deadline = time.monotonic() + 10
        while read(bob.folder / "README.md") != "# App\nsaved in vim\ntyped in the browser\n":
            assert time.monotonic() < deadline, read(bob.folder / "README.md")
            time.sleep(0.05)
        page.screenshot(path=screenshot_path(request, "terminal-in-presence"))
    finally:
        bob.stop()

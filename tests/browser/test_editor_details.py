"""Chromium, through the real daphne: the editor's small manners (issue 14).

Auto-indent uses the file's own indent unit; a viewer who types is told why nothing
happens and who can change it; a cursor's name tag on line 1 stays visible.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_editor import doc_text, open_file
from tests.support.browser import open_room_as, screenshot_path

pytestmark = [pytest.mark.live, pytest.mark.browser]


def new_line_after(page, text_locator, line: str) -> str:
    """Put the caret at the end of `line`, press Enter, and return the new line."""
    text_locator.locator(".cm-line", has_text=line).first.click()
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.type("x")
    lines = doc_text(page).split("\n")
    return lines[lines.index(line) + 1]


def test_auto_indent_uses_the_files_own_unit(
    live_flint, transactional_db, allow_sync_orm, cast, request, browser
):
    from editor.projects.services import file_create

    four = "import os\n\n\ndef main():\n    if os.environ:\n        print(1)\n"
    two = "function main() {\n  if (x) {\n    go();\n  }\n}\n"
    file_create(room=cast.room, actor=cast.alice, path="four.py", text=four)
    file_create(room=cast.room, actor=cast.alice, path="two.js", text=two)
    file_create(room=cast.room, actor=cast.alice, path="flat.py", text="def f():\n")
    bob = open_room_as(browser, live_flint, cast.bob, cast.room)

    assert new_line_after(bob, open_file(bob, "four.py"), "def main():") == "    x"
    assert new_line_after(bob, open_file(bob, "two.js"), "function main() {") == "  x"
    # Nothing indented yet: Python's usual four spaces, not CodeMirror's two.
    assert new_line_after(bob, open_file(bob, "flat.py"), "def f():") == "    x"
    bob.screenshot(path=screenshot_path(request, "python-indent"))


def test_a_viewer_who_types_is_told_why_nothing_happens_and_who_can_change_it(
    live_flint, transactional_db, allow_sync_orm, cast, request, browser
):
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="notes.md", text="# Notes\n")
    carol = open_room_as(browser, live_flint, cast.carol, cast.room)
    text = open_file(carol, "notes.md")
    note = carol.locator("[data-readonly-note]")
    expect(note).to_be_hidden()

    text.click()
    carol.keyboard.type("hello")

    expect(note).to_be_visible()
    expect(note).to_contain_text("You are a viewer in this room")
    expect(note).to_contain_text("owner of the team")
    assert doc_text(carol) == "# Notes\n"
    carol.screenshot(path=screenshot_path(request, "viewer-told"))


def test_a_name_tag_on_line_one_is_not_under_the_tab_bar(
    live_flint, transactional_db, allow_sync_orm, cast, request, browser
):
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="a.py", text="x = 1\ny = 2\n")
    alice = open_room_as(browser, live_flint, cast.alice, cast.room)
    bob = open_room_as(browser, live_flint, cast.bob, cast.room)
    open_file(alice, "a.py")
    open_file(bob, "a.py").click()
    bob.keyboard.press("Control+Home")

    tag = alice.locator(".editor-host:not([hidden]) .cm-ySelectionInfo", has_text="Bob")
    expect(tag).to_be_visible()
    tabs = alice.locator("[data-editor-tabs]").bounding_box()
    box = tag.bounding_box()
    assert box["y"] >= tabs["y"] + tabs["height"], (box, tabs)
    alice.screenshot(path=screenshot_path(request, "tag-on-line-1"))


SESSION = "(() => { const e = window.flintRoom.editor; return e.tabs.get(e.active).session; })()"


def test_edits_made_offline_survive_closing_the_tab_and_are_sent_on_the_next_visit(
    live_flint, transactional_db, allow_sync_orm, cast, request, browser
):
    from editor.projects.selectors import file_text_current
    from editor.projects.services import file_create

    made = file_create(room=cast.room, actor=cast.alice, path="main.py", text="x = 1\n")
    bob = open_room_as(browser, live_flint, cast.bob, cast.room)
    text = open_file(bob, "main.py")
    bob.evaluate(f"{SESSION}.provider.disconnect()")
    expect(bob.locator("[data-doc-conn]")).to_have_attribute("data-state", "offline")
    text.click()
    bob.keyboard.press("Control+End")
    bob.keyboard.type("# typed offline")
    assert bob.evaluate("window.flintRoom.editor.hasUnsent()") is True

    # Leaving asks first ...
    dialogs = []
    bob.once("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    bob.close(run_before_unload=True)
    expect(text).to_be_visible()  # dismissed: the page stays
    assert dialogs == ["beforeunload"]
    # ... and the edit is in this browser's IndexedDB (a read queued after the writes).
    stored = bob.evaluate(
        f"""async () => {{
          const db = await {SESSION}.local._db;
          return await new Promise((done) => {{
            const count = db.transaction("updates").objectStore("updates").count();
            count.onsuccess = () => done(count.result);
          }});
        }}"""
    )
    assert stored > 0
    bob.screenshot(path=screenshot_path(request, "1-offline-edit"))
    context = bob.context
    bob.close()  # the tab goes, the edit never reached the server
    assert "typed offline" not in file_text_current(file=made)

    # The next visit, same browser: the kept edit is sent.
    again = context.new_page()
    again.goto(f"{live_flint.url}rooms/{cast.room.pk}/")
    again_text = open_file(again, "main.py")
    expect(again_text).to_contain_text("# typed offline")
    alice = open_room_as(browser, live_flint, cast.alice, cast.room)
    expect(open_file(alice, "main.py")).to_contain_text("# typed offline")
    assert again.evaluate("window.flintRoom.editor.hasUnsent()") is False
    alice.screenshot(path=screenshot_path(request, "2-arrived-next-visit"))


def test_the_tree_footer_size_follows_typing(
    live_flint, transactional_db, allow_sync_orm, cast, request, browser
):
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="a.py", text="x = 1\n")  # 6 bytes
    alice = open_room_as(browser, live_flint, cast.alice, cast.room)
    bob = open_room_as(browser, live_flint, cast.bob, cast.room)
    summary = alice.locator("[data-files-summary]")
    expect(summary).to_have_text("1 file · 6 B")
    text = open_file(bob, "a.py")
    text.click()
    bob.keyboard.press("Control+End")
    bob.keyboard.type("y = 2\n")

    expect(summary).to_have_text("1 file · 12 B")  # a pause after bob's last key
    alice.screenshot(path=screenshot_path(request, "footer-size"))


def test_a_long_review_note_leaves_the_cursor_position_on_the_status_bar(
    live_flint, transactional_db, allow_sync_orm, cast, request, browser
):
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="a.py", text="x = 1\n")
    bob = open_room_as(browser, live_flint, cast.bob, cast.room, width=1100)
    open_file(bob, "a.py")
    long_note = "Review failed: " + "the review model said something very long " * 8
    bob.evaluate(f"window.flintRoom.tasks.editorNote({long_note!r}, 'error')")

    bar = bob.locator("[data-editor-status]").bounding_box()
    pos = bob.locator("[data-status-pos]")
    expect(pos).to_have_text("Ln 1, Col 1")
    box = pos.bounding_box()
    assert box["x"] + box["width"] <= bar["x"] + bar["width"], (box, bar)
    assert bob.locator("[data-review-state]").get_attribute("title") == long_note
    bob.screenshot(path=screenshot_path(request, "long-review-note"))


def test_a_confirmation_message_goes_away_by_itself(
    live_flint, transactional_db, allow_sync_orm, cast, request, browser
):
    bob = open_room_as(browser, live_flint, cast.bob, cast.room)
    bob.goto(live_flint.url + "accounts/profile/")
    bob.get_by_role("button", name="Save profile").click()
    message = bob.locator(".message.success")
    expect(message).to_have_text("Profile saved.")
    expect(message).to_have_count(0, timeout=8000)


def test_the_upload_dialogs_skip_ignored_line_wraps_inside_the_dialog(
    live_flint, transactional_db, allow_sync_orm, cast, request, browser
):
    alice = open_room_as(browser, live_flint, cast.alice, cast.room, width=640, height=760)
    alice.get_by_role("button", name="Upload project or files").click()
    dialog = alice.locator("[data-upload-dialog]")
    line = dialog.locator("label.check", has_text="Skip ignored files")
    expect(line).to_be_visible()
    inside = dialog.bounding_box()
    for part in (line, line.locator("code", has_text="__pycache__")):
        box = part.bounding_box()
        assert box["x"] + box["width"] <= inside["x"] + inside["width"], (box, inside)
    # The end of the sentence is there to read, not clipped.
    assert line.evaluate("l => l.scrollWidth <= l.clientWidth")
    end = alice.evaluate(
        """() => { const l = document.querySelector('[data-upload-dialog] label.check');
          const r = document.createRange(); r.selectNodeContents(l);
          const b = r.getBoundingClientRect(); return b.right; }"""
    )
    assert end <= inside["x"] + inside["width"]
    alice.screenshot(path=screenshot_path(request, "upload-skip-line"))


def test_a_cursor_shows_only_in_the_file_the_presence_list_says_its_owner_is_in(
    live_flint, transactional_db, allow_sync_orm, cast, request, browser
):
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="a.py", text="x = 1\ny = 2\n")
    file_create(room=cast.room, actor=cast.alice, path="b.py", text="z = 3\n")
    alice = open_room_as(browser, live_flint, cast.alice, cast.room)
    bob = open_room_as(browser, live_flint, cast.bob, cast.room)
    open_file(alice, "a.py")
    open_file(bob, "b.py")  # bob keeps b.py open in a tab ...
    open_file(bob, "a.py").click()  # ... and puts his cursor in a.py
    bob.keyboard.press("Control+End")

    bobs_cursor = alice.locator(".editor-host:not([hidden]) .cm-ySelectionCaret")
    bobs_place = alice.locator("[data-presence] li", has_text="Bob").locator("[data-where]")
    expect(bobs_cursor).to_have_count(1)
    expect(bobs_place).to_have_text("a.py")

    # bob goes to b.py: the list says so, and his cursor leaves a.py with him.
    bob.locator(".tab[title='b.py']").click()
    expect(bobs_place).to_have_text("b.py")
    expect(bobs_cursor).to_have_count(0)
    alice.screenshot(path=screenshot_path(request, "1-bob-moved-to-b"))
    # ... and it is in b.py, where alice finds it.
    open_file(alice, "b.py")
    expect(alice.locator(".editor-host:not([hidden]) .cm-ySelectionCaret")).to_have_count(1)

    # Back in a.py: the list and the cursor agree again.
    bob.locator(".tab[title='a.py']").click()
    open_file(alice, "a.py")
    expect(bobs_place).to_have_text("a.py")
    expect(bobs_cursor).to_have_count(1)
    alice.screenshot(path=screenshot_path(request, "2-bob-back-in-a"))

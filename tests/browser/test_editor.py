"""Chromium, through the real daphne: two people type into one file at once.

alice and bob open the same file from the tree and type, interleaved, at the two ends of
it; both pages end with both edits and each shows the other's named cursor. bob's
location shows in alice's presence list; alice follows bob into another file. carol, a
viewer, sees the live text but cannot change it.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import open_room_as, screenshot_path

pytestmark = [pytest.mark.live, pytest.mark.browser]


def open_file(page, path):
    page.locator(f".tree-row[data-path='{path}']").click()
    expect(page.locator(".tab[aria-selected='true']")).to_have_attribute("title", path)
    expect(page.locator("[data-doc-conn]")).to_have_attribute("data-state", "synced")
    return page.locator(".editor-host:not([hidden]) .cm-content")


def doc_text(page):
    """The active editor's text as CodeMirror holds it (no cursor labels)."""
    return page.evaluate(
        "(() => { const e = window.flintRoom.editor;"
        " return e.tabs.get(e.active).session.view.state.doc.toString(); })()"
    )


def test_two_people_type_into_one_file_at_once(
    live_flint, transactional_db, allow_sync_orm, cast, request, browser
):
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="src/hello.py", text="print('hi')\n")
    file_create(room=cast.room, actor=cast.alice, path="src/other.py", text="x = 1\n" * 80)
    alice = open_room_as(browser, live_flint, cast.alice, cast.room)
    bob = open_room_as(browser, live_flint, cast.bob, cast.room)
    alice_text = open_file(alice, "src/hello.py")
    bob_text = open_file(bob, "src/hello.py")
    expect(alice_text).to_contain_text("print('hi')")
    # Syntax highlighting: Python's keyword-less call still gets string tokens.
    expect(alice_text.locator("span").first).to_be_visible()

    alice_text.click()
    alice.keyboard.press("Control+End")
    bob_text.click()
    bob.keyboard.press("Control+Home")
    for a, b in zip("# alice was here", "# bob was here!!", strict=True):
        alice.keyboard.type(a)
        bob.keyboard.type(b)
    bob.keyboard.press("Enter")
    for page in (alice, bob):
        text = page.locator(".editor-host:not([hidden]) .cm-content")
        expect(text).to_contain_text("# bob was here!!")
        expect(text).to_contain_text("print('hi')")
        expect(text).to_contain_text("# alice was here")
    assert doc_text(alice) == doc_text(bob)
    assert doc_text(alice).startswith("# bob was here!!\nprint('hi')\n")
    assert doc_text(alice).endswith("# alice was here")

    # Each sees the other's named cursor, and where they are in the room.
    expect(alice.locator(".cm-ySelectionInfo", has_text="Bob")).to_have_count(1)
    expect(bob.locator(".cm-ySelectionInfo", has_text="Alice")).to_have_count(1)
    expect(alice.locator("[data-presence] li[data-user='bob'] .where")).to_have_text("src/hello.py")
    alice.screenshot(path=screenshot_path(request, "1-alice-sees-bob"))
    bob.screenshot(path=screenshot_path(request, "2-bob-sees-alice"))

    # alice follows bob: when he opens another file, her editor goes there too.
    alice.locator("[data-presence] li[data-user='bob']").get_by_role(
        "button", name="Follow"
    ).click()
    expect(alice.locator("[data-follow]")).to_contain_text("Bob")
    open_file(bob, "src/other.py")
    bob.locator(".editor-host:not([hidden]) .cm-content").click()
    bob.keyboard.press("Control+End")
    expect(alice.locator(".tab[aria-selected='true']")).to_have_attribute("title", "src/other.py")
    # ... and scrolls to his cursor, 80 lines down.
    bob_caret = alice.locator(".editor-host:not([hidden]) .cm-ySelectionInfo")
    expect(bob_caret).to_have_text("Bob")
    expect(bob_caret).to_be_in_viewport()
    alice.screenshot(path=screenshot_path(request, "3-alice-follows-bob"))


def test_a_viewer_cannot_type(live_flint, transactional_db, allow_sync_orm, cast, request, browser):
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="notes.md", text="# Notes\n")
    alice = open_room_as(browser, live_flint, cast.alice, cast.room)
    carol = open_room_as(browser, live_flint, cast.carol, cast.room)
    alice_text = open_file(alice, "notes.md")
    carol_text = open_file(carol, "notes.md")
    expect(carol.locator("[data-status-readonly]")).to_contain_text("viewer")

    carol_text.click()
    carol.keyboard.press("Control+End")
    carol.keyboard.type("carol typed this")
    carol.keyboard.press("Backspace")
    # alice's edit reaches carol: the channel works, only carol's input is refused.
    alice_text.click()
    alice.keyboard.press("Control+End")
    alice.keyboard.type("from alice")
    expect(carol_text).to_contain_text("from alice")
    expect(carol_text).not_to_contain_text("carol typed")
    expect(alice_text).not_to_contain_text("carol typed")
    assert doc_text(carol) == doc_text(alice) == "# Notes\nfrom alice"
    carol.screenshot(path=screenshot_path(request, "1-viewer"))


def test_undo_is_per_person_offline_edits_merge_and_binary_files_download(
    live_flint, transactional_db, allow_sync_orm, cast, request, browser
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from editor.projects.services import file_create
    from editor.projects.uploads import upload_confirm, upload_start

    file_create(room=cast.room, actor=cast.alice, path="main.go", text="package main\n")
    png = SimpleUploadedFile("logo.png", b"\x89PNG\r\n\x1a\n\x00\x01\x02" * 50)
    staged = upload_start(room=cast.room, actor=cast.alice, files=[png])
    upload_confirm(room=cast.room, actor=cast.alice, upload_id=staged.id)
    alice = open_room_as(browser, live_flint, cast.alice, cast.room)
    bob = open_room_as(browser, live_flint, cast.bob, cast.room)
    alice_text = open_file(alice, "main.go")
    bob_text = open_file(bob, "main.go")

    # Undo takes back only your own edits.
    alice_text.click()
    alice.keyboard.press("Control+End")
    alice.keyboard.type("// alice")
    expect(bob_text).to_contain_text("// alice")
    bob_text.click()
    bob.keyboard.press("Control+Home")
    bob.keyboard.type("// bob\n")
    expect(alice_text).to_contain_text("// bob")
    alice_text.click()
    alice.keyboard.press("Control+z")
    expect(bob_text).not_to_contain_text("// alice")
    assert doc_text(bob) == "// bob\npackage main\n"

    # bob drops off the network, both type, bob comes back: everything merges.
    bob.evaluate(
        "(() => { const e = window.flintRoom.editor;"
        " e.tabs.get(e.active).session.provider.disconnect(); })()"
    )
    expect(bob.locator("[data-doc-conn]")).to_have_attribute("data-state", "offline")
    expect(bob.locator(".tab[aria-selected='true']")).to_have_attribute("data-state", "offline")
    bob_text.click()
    bob.keyboard.press("Control+End")
    bob.keyboard.type("// typed offline")
    alice.keyboard.press("Control+Home")
    alice.keyboard.type("// online meanwhile\n")
    bob.screenshot(path=screenshot_path(request, "1-offline"))
    assert "typed offline" not in doc_text(alice)
    bob.evaluate(
        "(() => { const e = window.flintRoom.editor;"
        " e.tabs.get(e.active).session.provider.connect(); })()"
    )
    expect(bob.locator("[data-doc-conn]")).to_have_attribute("data-state", "synced")
    expect(alice_text).to_contain_text("// typed offline")
    expect(bob_text).to_contain_text("// online meanwhile")
    assert doc_text(alice) == doc_text(bob)

    # A binary file opens as a read-only panel with a download link.
    alice.locator(".tree-row[data-path='logo.png']").click()
    panel = alice.locator("[data-editor-readonly]")
    expect(panel).to_contain_text("binary file")
    with alice.expect_download() as download_info:
        panel.get_by_role("link", name="Download").click()
    with open(download_info.value.path(), "rb") as fh:
        assert fh.read().startswith(b"\x89PNG")
    alice.screenshot(path=screenshot_path(request, "2-binary"))


def test_everyone_sees_which_file_each_person_is_on_without_sharing_it(
    live_flint, transactional_db, allow_sync_orm, cast, request, browser
):
    """The room socket's presence.where: no document in common is needed, and a late
    arrival learns it from the presence snapshot."""
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="src/a.py", text="a = 1\n")
    file_create(room=cast.room, actor=cast.alice, path="src/b.py", text="b = 2\n" * 40)
    bob = open_room_as(browser, live_flint, cast.bob, cast.room)
    open_file(bob, "src/b.py")
    carol = open_room_as(browser, live_flint, cast.carol, cast.room)  # arrives later
    expect(carol.locator("[data-presence] li[data-user='bob'] .where")).to_have_text("src/b.py")
    open_file(carol, "src/a.py")
    open_file(bob, "src/a.py")
    expect(carol.locator("[data-presence] li[data-user='bob'] .where")).to_have_text("src/a.py")
    open_file(bob, "src/b.py")
    expect(carol.locator("[data-presence] li[data-user='bob'] .where")).to_have_text("src/b.py")
    carol.screenshot(path=screenshot_path(request, "1-carol-sees-where-bob-is"))
    # Following him opens his file even though carol does not have it open.
    carol.locator("[data-presence] li[data-user='bob']").get_by_role(
        "button", name="Follow"
    ).click()
    expect(carol.locator(".tab[aria-selected='true']")).to_have_attribute("title", "src/b.py")

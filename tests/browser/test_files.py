"""Chromium, through the real daphne and worker: the room's Files pane.

alice uploads a folder with nested paths through the folder picker, reads the plan,
confirms, sees the tree, renames a file, downloads the export and finds the renamed file
in it; a corrupt archive and a path-climbing one are refused with the server's message
and nothing changes; a big upload goes through the worker with a progress bar; carol,
a viewer, sees the files but no write control.
"""

from __future__ import annotations

import re
import zipfile

import pytest
from playwright.sync_api import expect

from tests.support.browser import open_room_as, screenshot_path

pytestmark = [pytest.mark.live, pytest.mark.browser]


def make_project(root):
    files = {
        "shop/README.md": "# Shop\n",
        "shop/src/app/main.py": "def main():\n    return 'hello'\n",
        "shop/src/app/models.py": "class Order:\n    pass\n",
        "shop/src/web/index.js": "export const answer = 42;\n",
        "shop/src/web/style.css": "body { margin: 0; }\n",
        "shop/node_modules/left-pad/index.js": "module.exports = 1;\n",
        "shop/.gitignore": "*.log\n",
        "shop/debug.log": "noise\n",
    }
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    (root / "shop/assets").mkdir()
    (root / "shop/assets/logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    return root / "shop"


def tree_row(page, path):
    return page.locator(f".tree-row[data-path='{path}']")


def upload_folder(page, folder):
    page.get_by_role("button", name="Upload project or files").click()
    dialog = page.locator("[data-upload-dialog]")
    expect(dialog.get_by_test_id("upload-limits")).to_contain_text("20,000 files")
    dialog.get_by_test_id("upload-folder").set_input_files(folder)
    return dialog


def test_upload_a_folder_browse_rename_and_export(
    live_flint, transactional_db, allow_sync_orm, cast, tmp_path, request, browser
):
    folder = make_project(tmp_path)
    page = open_room_as(browser, live_flint, cast.alice, cast.room)
    expect(page.get_by_test_id("files-empty")).to_be_visible()

    dialog = upload_folder(page, folder)
    plan = dialog.get_by_test_id("upload-plan")
    expect(plan.locator("[data-plan='added'] .plan-count")).to_have_text("7")
    expect(plan.locator("[data-plan='skipped']")).to_contain_text("2")
    plan.locator("[data-plan='skipped'] summary").click()
    expect(plan.locator("[data-plan='skipped']")).to_contain_text("node_modules")
    expect(plan.locator("[data-plan='skipped']")).to_contain_text("debug.log")
    page.screenshot(path=screenshot_path(request, "1-plan"))
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog.locator("[data-upload-done-text]")).to_contain_text("Added 7")
    dialog.get_by_role("button", name="Done").click()

    # The tree: top-level folder open, nested ones collapsed until clicked.
    expect(tree_row(page, "shop/README.md")).to_be_visible()
    tree_row(page, "shop/src").click()
    tree_row(page, "shop/src/app").click()
    expect(tree_row(page, "shop/src/app/main.py")).to_contain_text("py")
    expect(tree_row(page, "shop/assets")).to_be_visible()
    tree_row(page, "shop/assets").click()
    expect(tree_row(page, "shop/assets/logo.png")).to_contain_text("binary")
    expect(page.locator(".tree-row[data-path*='node_modules']")).to_have_count(0)
    expect(page.locator("[data-files-summary]")).to_contain_text("7 files")
    page.screenshot(path=screenshot_path(request, "2-tree"))

    # Rename (and move) a file through its row's action.
    row = tree_row(page, "shop/src/app/main.py")
    row.hover()
    row.get_by_role("button", name="Rename or move shop/src/app/main.py").click()
    prompt = page.locator("[data-prompt]")
    prompt.get_by_label("New path").fill("shop/src/app/entry.py")
    prompt.get_by_role("button", name="Rename").click()
    expect(tree_row(page, "shop/src/app/entry.py")).to_be_visible()
    expect(tree_row(page, "shop/src/app/main.py")).to_have_count(0)

    # A name that is taken: the server's message, in the dialog, nothing moved.
    row = tree_row(page, "shop/src/app/entry.py")
    row.hover()
    row.get_by_role("button", name="Rename or move shop/src/app/entry.py").click()
    prompt.get_by_label("New path").fill("shop/src/app/models.py")
    prompt.get_by_role("button", name="Rename").click()
    expect(prompt.locator("[data-prompt-error]")).to_contain_text("already exists")
    page.screenshot(path=screenshot_path(request, "3-rename-refused"))
    prompt.get_by_role("button", name="Cancel").click()
    expect(tree_row(page, "shop/src/app/entry.py")).to_be_visible()

    # Export: the .zip holds the renamed file with its text, not the old name.
    with page.expect_download() as download_info:
        page.get_by_test_id("export-link").click()
    with zipfile.ZipFile(download_info.value.path()) as archive:
        names = set(archive.namelist())
        assert "shop/src/app/entry.py" in names
        assert "shop/src/app/main.py" not in names
        assert not any("node_modules" in n for n in names)
        assert archive.read("shop/src/app/entry.py") == b"def main():\n    return 'hello'\n"
        assert archive.read("shop/assets/logo.png").startswith(b"\x89PNG")

    # Delete with confirmation.
    row = tree_row(page, "shop/src/web")
    row.hover()
    row.get_by_role("button", name="Delete shop/src/web").click()
    expect(prompt).to_contain_text("the 2 files in it will be deleted")
    prompt.get_by_role("button", name="Delete").click()
    expect(tree_row(page, "shop/src/web")).to_have_count(0)
    expect(page.locator("[data-files-summary]")).to_contain_text("5 files")


def test_bad_archives_are_refused_with_the_servers_message(
    live_flint, transactional_db, allow_sync_orm, cast, tmp_path, request, browser
):
    corrupt = tmp_path / "broken.zip"
    corrupt.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    climbing = tmp_path / "climb.zip"
    with zipfile.ZipFile(climbing, "w") as archive:
        archive.writestr("ok.txt", "fine\n")
        archive.writestr("../../etc/evil.txt", "pwned\n")
    page = open_room_as(browser, live_flint, cast.bob, cast.room)
    page.get_by_role("button", name="Upload project or files").click()
    dialog = page.locator("[data-upload-dialog]")
    dialog.get_by_test_id("upload-files").set_input_files(corrupt)
    error = dialog.get_by_test_id("upload-error")
    expect(error).to_contain_text(re.compile("broken.zip", re.I))
    expect(dialog).to_contain_text("Nothing in the room changed.")
    page.screenshot(path=screenshot_path(request, "1-corrupt"))

    dialog.get_by_role("button", name="Choose again").click()
    dialog.get_by_test_id("upload-files").set_input_files(climbing)
    expect(error).to_contain_text("../../etc/evil.txt")
    page.screenshot(path=screenshot_path(request, "2-traversal"))
    dialog.get_by_role("button", name="Close").click()
    expect(page.get_by_test_id("files-empty")).to_be_visible()
    assert page.locator(".tree-row").count() == 0


def test_a_big_upload_is_ingested_by_the_worker_with_progress(
    live_flint, transactional_db, allow_sync_orm, cast, tmp_path, request, browser
):
    # Over FLINT_UPLOAD_INLINE_MAX_BYTES (8 MB): answered 202 and staged by the worker.
    folder = tmp_path / "data"
    folder.mkdir()
    for index in range(3):
        (folder / f"blob{index}.bin").write_bytes(bytes([index]) * (3 * 1024 * 1024 + 7))
    (folder / "notes.txt").write_text("three blobs\n")
    page = open_room_as(browser, live_flint, cast.alice, cast.room)
    dialog = upload_folder(page, folder)
    plan = dialog.get_by_test_id("upload-plan")
    expect(plan.locator("[data-plan='added'] .plan-count")).to_have_text("4", timeout=30_000)
    assert page.evaluate("window.flintRoom.files.uploads.background") is True
    page.screenshot(path=screenshot_path(request, "1-plan-after-worker"))
    dialog.get_by_role("button", name="Confirm").click()
    dialog.get_by_role("button", name="Done").click()
    # NUL bytes make blob0 binary; blob2 is text, but over the 2 MB editable limit.
    expect(tree_row(page, "data/blob0.bin")).to_contain_text("binary")
    expect(tree_row(page, "data/blob2.bin")).to_contain_text("too big")
    expect(tree_row(page, "data/notes.txt")).not_to_contain_text("too big")
    page.screenshot(path=screenshot_path(request, "2-tree"))


def test_a_viewer_sees_files_but_no_write_controls(
    live_flint, transactional_db, allow_sync_orm, cast, request, browser
):
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="docs/guide.md", text="# Guide\n")
    page = open_room_as(browser, live_flint, cast.carol, cast.room)
    expect(tree_row(page, "docs/guide.md")).to_be_visible()
    expect(page.get_by_role("button", name="Upload project or files")).to_be_hidden()
    expect(page.get_by_role("button", name="New file")).to_be_hidden()
    tree_row(page, "docs/guide.md").hover()
    expect(page.locator(".tree-action")).to_have_count(0)
    expect(page.get_by_test_id("export-link")).to_be_visible()
    # Someone else's change reaches the tree live ("files.changed" on the room socket).
    # (bob's page calls the API: the test thread runs Playwright's loop, so a service
    # called here could not publish to the room.)
    bob = open_room_as(browser, live_flint, cast.bob, cast.room)
    bob.evaluate("window.flintRoom.files.api.create('docs/faq.md')")
    expect(tree_row(page, "docs/faq.md")).to_be_visible()
    expect(page.locator("[data-files-summary]")).to_contain_text("2 files")
    page.screenshot(path=screenshot_path(request, "1-viewer"))

"""editor/agents/patches.py: unified diffs and apply_patch envelopes on a working copy."""

from __future__ import annotations

import pytest

from editor.agents.patches import patch_apply
from editor.agents.workcopy import ToolError, WorkingCopy


def copy() -> WorkingCopy:
    return WorkingCopy(
        base={
            "src/a.py": "def f(x):\n    return x\n\n\ndef g():\n    pass\n",
            "b.txt": "one\ntwo\n",
        }
    )


def test_envelope_updates_adds_and_deletes_files():
    work = copy()
    report = patch_apply(
        work,
        "*** Begin Patch\n"
        "*** Update File: src/a.py\n"
        "@@ def f(x):\n"
        "-    return x\n"
        "+    return x * 2\n"
        "*** Add File: docs/new.md\n"
        "+# New\n"
        "+text\n"
        "*** Delete File: b.txt\n"
        "*** End Patch\n",
    )

    assert work.files["src/a.py"] == "def f(x):\n    return x * 2\n\n\ndef g():\n    pass\n"
    assert work.files["docs/new.md"] == "# New\ntext\n"
    assert "b.txt" not in work.files
    assert work.changed() == {
        "src/a.py": work.files["src/a.py"],
        "docs/new.md": "# New\ntext\n",
        "b.txt": None,
    }
    assert len(report) == 3


def test_unified_diff_with_wrong_line_numbers_still_applies_by_context():
    work = copy()
    patch_apply(
        work,
        "--- a/src/a.py\n+++ b/src/a.py\n@@ -40,3 +40,3 @@\n"
        " \n def g():\n-    pass\n+    return 1\n",
    )

    assert work.files["src/a.py"].endswith("def g():\n    return 1\n")


def test_trailing_whitespace_differences_are_tolerated():
    work = copy()
    patch_apply(work, "--- a/b.txt\n+++ b/b.txt\n@@ -1,2 +1,2 @@\n one   \n-two\n+TWO\n")

    assert work.files["b.txt"] == "one\nTWO\n"


def test_a_hunk_that_does_not_apply_names_the_file_and_lines_and_changes_nothing():
    work = copy()
    patch = (
        "*** Begin Patch\n*** Update File: b.txt\n-two\n+2\n"
        "*** Update File: src/a.py\n-    return y\n+    return 0\n*** End Patch"
    )

    with pytest.raises(ToolError) as caught:
        patch_apply(work, patch)

    message = str(caught.value)
    assert "src/a.py" in message and "hunk 1 of 1" in message
    assert "return y" in message and "line 2" in message  # the nearest line, to help
    assert "Nothing was changed" in message
    assert work.changed() == {}  # b.txt's hunk was fine but the patch is all or nothing


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "src/../../x", "C:/x"])
def test_paths_outside_the_project_are_refused(path):
    work = copy()

    with pytest.raises(ToolError, match="Refused"):
        patch_apply(work, f"*** Begin Patch\n*** Add File: {path}\n+x\n*** End Patch")

    assert work.changed() == {}


def test_scope_limits_what_may_change():
    work = WorkingCopy(base={"src/a.py": "a\n", "b.txt": "b\n"}, scope=["src"])

    with pytest.raises(ToolError, match="outside this task's scope"):
        patch_apply(work, "--- a/b.txt\n+++ b/b.txt\n@@ -1 +1 @@\n-b\n+c\n")
    patch_apply(work, "--- a/src/a.py\n+++ b/src/a.py\n@@ -1 +1 @@\n-a\n+c\n")

    assert work.changed() == {"src/a.py": "c\n"}


def test_garbage_is_refused_with_a_hint():
    with pytest.raises(ToolError, match="unified diff"):
        patch_apply(copy(), "please change b.txt")

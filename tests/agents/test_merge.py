"""editor/agents/merge.py and diffs.py: three-way merges, per-file diffs and hunks."""

from __future__ import annotations

from editor.agents.diffs import file_diff, text_with_hunks
from editor.agents.merge import merge_three

BASE = "".join(f"line {n}\n" for n in range(1, 21))


def edit(text: str, number: int, new: str) -> str:
    lines = text.splitlines(keepends=True)
    lines[number - 1] = new + "\n"
    return "".join(lines)


def test_edits_on_other_lines_merge():
    ours = edit(BASE, 2, "ours 2")
    theirs = edit(BASE, 15, "theirs 15")

    merged = merge_three(base=BASE, ours=ours, theirs=theirs)

    assert merged.conflicts == []
    assert merged.text == edit(ours, 15, "theirs 15")


def test_edits_of_the_same_line_conflict_with_live_line_numbers():
    merged = merge_three(base=BASE, ours=edit(BASE, 5, "ours 5"), theirs=edit(BASE, 5, "theirs 5"))

    assert merged.text is None
    (conflict,) = merged.conflicts
    assert conflict["live_start"] == 5 and conflict["live_end"] == 5
    assert conflict["live"] == "ours 5\n" and conflict["proposed"] == "theirs 5\n"
    assert conflict["base"] == "line 5\n"


def test_unchanged_sides_take_the_other():
    theirs = edit(BASE, 1, "x")
    assert merge_three(base=BASE, ours=BASE, theirs=theirs).text == theirs
    assert merge_three(base=BASE, ours=theirs, theirs=BASE).text == theirs
    assert merge_three(base=BASE, ours=theirs, theirs=theirs).text == theirs


def test_diff_hunks_and_applying_only_some_of_them():
    proposed = edit(edit(BASE, 2, "two"), 18, "eighteen")

    diff = file_diff("a.txt", BASE, proposed)

    assert diff.text.startswith("--- a/a.txt\n+++ b/a.txt\n@@ -1,5 +1,5 @@\n")
    assert [h.index for h in diff.hunks] == [0, 1]
    assert "-line 2" in diff.hunks[0].lines and "+two" in diff.hunks[0].lines
    assert diff.added == diff.removed == 2
    assert text_with_hunks(BASE, proposed, {1}) == edit(BASE, 18, "eighteen")
    assert text_with_hunks(BASE, proposed, {0, 1}) == proposed
    assert text_with_hunks(BASE, proposed, set()) == BASE


def test_new_and_deleted_files_diff_against_dev_null():
    assert file_diff("n.txt", None, "a\n").text.startswith("--- /dev/null\n+++ b/n.txt\n")
    assert file_diff("n.txt", "a\n", None).text.startswith("--- a/n.txt\n+++ /dev/null\n")

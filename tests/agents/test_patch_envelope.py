"""The apply_patch envelope by its grammar (editor/agents/patch_envelope.py, patch_hunks.py).

The cases follow the scenarios of the Codex apply-patch test suite (openai/codex,
codex-rs/apply-patch/tests/fixtures/scenarios) and its tool instructions, told again
with data of our own. Where Flint chooses differently (all or nothing; no overwriting
by Add or Move) the test says so.
"""

from __future__ import annotations

import pytest

from editor.agents.patches import parse_patch, patch_apply
from editor.agents.workcopy import ToolError, WorkingCopy


def envelope(*body: str) -> str:
    return "\n".join(["*** Begin Patch", *body, "*** End Patch"]) + "\n"


def refused(work: WorkingCopy, patch: str) -> str:
    before = dict(work.files)
    with pytest.raises(ToolError) as caught:
        patch_apply(work, patch)
    assert work.files == before, "a refused patch changes nothing"
    return str(caught.value)


# --- file operations -------------------------------------------------------------------


def test_add_file_writes_each_plus_line_and_ends_with_a_newline():
    work = WorkingCopy(base={})

    patch_apply(work, envelope("*** Add File: notes/todo.md", "+# Todo", "+", "+- ship it"))

    assert work.files == {"notes/todo.md": "# Todo\n\n- ship it\n"}


def test_several_operations_in_one_patch_add_delete_and_update():
    work = WorkingCopy(base={"gone.txt": "bye\n", "edit.txt": "alpha\nbeta\n"})

    report = patch_apply(
        work,
        envelope(
            "*** Add File: deep/dir/fresh.txt",
            "+fresh",
            "*** Delete File: gone.txt",
            "*** Update File: edit.txt",
            "@@",
            " alpha",
            "-beta",
            "+BETA",
        ),
    )

    assert work.files == {"edit.txt": "alpha\nBETA\n", "deep/dir/fresh.txt": "fresh\n"}
    assert report == [
        "added deep/dir/fresh.txt (1 lines)",
        "deleted gone.txt",
        "updated edit.txt (1 hunks)",
    ]


def test_several_hunks_in_one_file_apply_in_order():
    work = WorkingCopy(base={"n.txt": "one\ntwo\nthree\nfour\n"})

    patch_apply(work, envelope("*** Update File: n.txt", "@@", "-two", "+2", "@@", "-four", "+4"))

    assert work.files["n.txt"] == "one\n2\nthree\n4\n"


def test_move_to_renames_into_a_new_directory_and_leaves_siblings_alone():
    work = WorkingCopy(base={"src/old.py": "x = 1\n", "src/keep.py": "k\n"})

    patch_apply(
        work,
        envelope(
            "*** Update File: src/old.py", "*** Move to: lib/pkg/new.py", "@@", "-x = 1", "+x = 2"
        ),
    )

    assert work.files == {"lib/pkg/new.py": "x = 2\n", "src/keep.py": "k\n"}


def test_delete_file_removes_only_that_file():
    work = WorkingCopy(base={"old.txt": "o\n", "keep.txt": "k\n"})

    patch_apply(work, envelope("*** Delete File: old.txt"))

    assert work.files == {"keep.txt": "k\n"}


def test_deleting_a_missing_file_or_a_directory_is_refused():
    work = WorkingCopy(base={"dir/inside.txt": "i\n"})

    assert "no such file to delete" in refused(work, envelope("*** Delete File: nope.txt"))
    assert "no such file to delete" in refused(work, envelope("*** Delete File: dir"))


def test_updating_a_missing_file_is_refused():
    work = WorkingCopy(base={"here.txt": "h\n"})

    message = refused(work, envelope("*** Update File: missing.txt", "@@", "-a", "+b"))

    assert "missing.txt: no such file to update" in message


def test_flint_refuses_to_overwrite_by_add_or_move_where_codex_would_overwrite():
    work = WorkingCopy(base={"a.txt": "a\n", "b.txt": "b\n"})

    assert "already exists" in refused(work, envelope("*** Add File: a.txt", "+new"))
    assert "it exists" in refused(
        work, envelope("*** Update File: a.txt", "*** Move to: b.txt", "@@", "-a", "+A")
    )


def test_a_failing_file_leaves_earlier_files_unwritten_all_or_nothing():
    # Codex keeps the files it wrote before the failure; Flint writes none of them.
    work = WorkingCopy(base={"exists.txt": "e\n"})

    refused(
        work,
        envelope(
            "*** Add File: created.txt", "+made", "*** Update File: missing.txt", "@@", "-x", "+y"
        ),
    )

    assert "created.txt" not in work.files


# --- refusals of the grammar -----------------------------------------------------------


def test_an_empty_patch_is_refused_with_what_to_send():
    work = WorkingCopy(base={"f.txt": "f\n"})

    message = refused(work, envelope())

    assert "The patch is empty" in message and "*** Update File: path" in message


def test_an_update_without_a_hunk_is_refused():
    work = WorkingCopy(base={"f.txt": "f\n"})

    message = refused(work, envelope("*** Update File: f.txt"))

    assert "has no hunk" in message and "f.txt" in message


def test_an_anchor_with_no_lines_after_it_is_refused():
    work = WorkingCopy(base={"f.txt": "f\n"})

    message = refused(work, envelope("*** Update File: f.txt", "@@ f", "*** Delete File: x"))

    assert "no lines after it" in message


def test_an_unknown_operation_is_refused_naming_its_line():
    work = WorkingCopy(base={"f.txt": "f\n"})

    message = refused(work, envelope("*** Rename File: f.txt"))

    assert message.startswith("Line 2:") and "'*** Rename File: f.txt'" in message


def test_a_patch_without_its_end_marker_is_refused_as_cut_short():
    message = refused(WorkingCopy(base={}), "*** Begin Patch\n*** Add File: a.txt\n+a\n")

    assert "'*** End Patch'" in message and "cut short" in message


def test_a_stray_line_in_a_hunk_is_refused_with_the_line_number():
    work = WorkingCopy(base={"f.txt": "a\nb\n"})

    message = refused(work, envelope("*** Update File: f.txt", "@@", "-a", "+A", "b"))

    assert message.startswith("Line 6 (f.txt):") and "' ' (context)" in message


def test_a_missing_context_line_fails_naming_the_hunk_and_the_lines():
    work = WorkingCopy(base={"f.txt": "red\ngreen\nblue\n"})

    message = refused(work, envelope("*** Update File: f.txt", "@@", " red", "-yellow", "+Y"))

    assert "f.txt: hunk 1 of 1 did not apply" in message
    assert "yellow" in message and "Nothing was changed" in message


def test_paths_that_leave_the_project_are_refused_in_move_to_as_well():
    work = WorkingCopy(base={"a.txt": "a\n"})

    message = refused(
        work, envelope("*** Update File: a.txt", "*** Move to: ../../etc/a", "@@", "-a", "+b")
    )

    assert "Refused" in message


# --- leniency Codex allows --------------------------------------------------------------


def test_markers_padded_with_whitespace_are_accepted():
    work = WorkingCopy(base={"f.txt": "old\n"})

    patch_apply(work, "*** Begin Patch \n  *** Update File: f.txt\n@@\n-old\n+new\n *** End Patch")

    assert work.files["f.txt"] == "new\n"


def test_the_first_hunk_may_leave_out_its_at_at_line():
    work = WorkingCopy(base={"f.txt": "keep\nold\n"})

    patch_apply(work, envelope("*** Update File: f.txt", " keep", "-old", "+new"))

    assert work.files["f.txt"] == "keep\nnew\n"


def test_a_heredoc_wrapper_around_the_envelope_is_taken_off():
    work = WorkingCopy(base={"f.txt": "a\n"})

    patch_apply(work, "<<'EOF'\n" + envelope("*** Update File: f.txt", "@@", "-a", "+b") + "EOF\n")

    assert work.files["f.txt"] == "b\n"


def test_unicode_lines_are_matched_and_replaced():
    work = WorkingCopy(base={"i18n.txt": "grüße\n東京タワー\n日本語\n"})

    patch_apply(work, envelope("*** Update File: i18n.txt", "@@", "-東京タワー", "+スカイツリー"))

    assert work.files["i18n.txt"] == "grüße\nスカイツリー\n日本語\n"


def test_an_empty_line_in_a_hunk_is_an_empty_context_line():
    work = WorkingCopy(base={"f.py": "a = 1\n\nb = 2\n"})

    patch_apply(work, envelope("*** Update File: f.py", "@@", " a = 1", "", "-b = 2", "+b = 3"))

    assert work.files["f.py"] == "a = 1\n\nb = 3\n"


def test_a_trailing_empty_context_line_the_file_lacks_is_forgiven():
    work = WorkingCopy(base={"f.txt": "x\nlast\n"})

    patch_apply(work, envelope("*** Update File: f.txt", "@@", "-last", "+LAST", ""))

    assert work.files["f.txt"] == "x\nLAST\n"


def test_a_unified_hunk_header_inside_an_envelope_is_a_hint_not_an_anchor():
    work = WorkingCopy(base={"f.txt": "v\nx\nv\n"})

    patch_apply(work, envelope("*** Update File: f.txt", "@@ -3,1 +3,1 @@", "-v", "+w"))

    assert work.files["f.txt"] == "v\nx\nw\n"


# --- where hunks go ---------------------------------------------------------------------

REPEATED = (
    "class Cat:\n"
    "    def speak(self):\n"
    "        return 'hi'\n"
    "\n"
    "class Dog:\n"
    "    def speak(self):\n"
    "        return 'hi'\n"
    "\n"
    "    def fetch(self):\n"
    "        return 'hi'\n"
)


def test_without_an_anchor_the_first_repeated_snippet_changes():
    work = WorkingCopy(base={"pets.py": REPEATED})

    patch_apply(work, envelope("*** Update File: pets.py", "@@", "-        return 'hi'", "+   1"))

    assert work.files["pets.py"].split("\n")[2] == "   1"


def test_an_anchor_picks_the_snippet_below_it():
    work = WorkingCopy(base={"pets.py": REPEATED})

    patch_apply(
        work,
        envelope(
            "*** Update File: pets.py",
            "@@ class Dog:",
            "     def speak(self):",
            "-        return 'hi'",
            "+        return 'woof'",
        ),
    )

    lines = work.files["pets.py"].split("\n")
    assert lines[2] == "        return 'hi'" and lines[6] == "        return 'woof'"
    assert lines[9] == "        return 'hi'"


def test_nested_anchors_narrow_step_by_step():
    work = WorkingCopy(base={"pets.py": REPEATED})

    patch_apply(
        work,
        envelope(
            "*** Update File: pets.py",
            "@@ class Dog:",
            "@@     def fetch(self):",
            "-        return 'hi'",
            "+        return 'ball'",
        ),
    )

    assert work.files["pets.py"] == REPEATED.replace(
        "fetch(self):\n        return 'hi'", "fetch(self):\n        return 'ball'"
    )


def test_anchors_of_several_hunks_each_pick_their_own_snippet():
    work = WorkingCopy(base={"pets.py": REPEATED})

    patch_apply(
        work,
        envelope(
            "*** Update File: pets.py",
            "@@ class Cat:",
            "-        return 'hi'",
            "+        return 'meow'",
            "@@ def fetch(self):",
            "-        return 'hi'",
            "+        return 'ball'",
        ),
    )

    returns = [line.strip() for line in work.files["pets.py"].split("\n") if "return" in line]
    assert returns == ["return 'meow'", "return 'hi'", "return 'ball'"]


def test_an_anchor_that_is_not_in_the_file_is_refused():
    work = WorkingCopy(base={"pets.py": REPEATED})

    message = refused(
        work, envelope("*** Update File: pets.py", "@@ class Bird:", "-        return 'hi'", "+x")
    )

    assert "'@@ class Bird:' line is not in the file" in message
    assert "most similar line" in message


def test_hunks_out_of_file_order_are_refused_saying_so():
    work = WorkingCopy(base={"f.txt": "a\nb\nc\n"})

    message = refused(work, envelope("*** Update File: f.txt", "@@", "-c", "+C", "@@", "-a", "+A"))

    assert "hunk 2 of 2" in message and "order of the file" in message


def test_end_of_file_hunk_matches_the_last_lines_among_repeats():
    work = WorkingCopy(base={"tail.txt": "end\nmiddle\nend\n"})

    patch_apply(
        work, envelope("*** Update File: tail.txt", "@@", "-end", "+END", "*** End of File")
    )

    assert work.files["tail.txt"] == "end\nmiddle\nEND\n"


def test_end_of_file_hunk_whose_lines_are_not_at_the_end_is_refused():
    work = WorkingCopy(base={"tail.txt": "first\nsecond\nthird\n"})

    message = refused(
        work, envelope("*** Update File: tail.txt", "@@", " first", "-second", "*** End of File")
    )

    assert "at its end" in message


def test_an_added_only_hunk_goes_to_the_end_or_below_its_anchor():
    work = WorkingCopy(base={"f.py": "def a():\n    pass\n", "g.txt": "one\ntwo\n"})

    patch_apply(
        work,
        envelope(
            "*** Update File: f.py",
            "@@ def a():",
            "+    '''Doc.'''",
            "*** Update File: g.txt",
            "@@",
            "+three",
            "+four",
        ),
    )

    assert work.files["f.py"] == "def a():\n    '''Doc.'''\n    pass\n"
    assert work.files["g.txt"] == "one\ntwo\nthree\nfour\n"


def test_a_deletion_only_hunk_removes_the_lines():
    work = WorkingCopy(base={"lines.txt": "keep 1\ndrop\nkeep 2\n"})

    patch_apply(work, envelope("*** Update File: lines.txt", "@@", " keep 1", "-drop", " keep 2"))

    assert work.files["lines.txt"] == "keep 1\nkeep 2\n"


def test_an_updated_file_always_ends_with_a_newline():
    work = WorkingCopy(base={"f.txt": "no newline at the end"})

    patch_apply(
        work, envelope("*** Update File: f.txt", "@@", "-no newline at the end", "+a", "+b")
    )

    assert work.files["f.txt"] == "a\nb\n"


# --- how loosely lines match -------------------------------------------------------------


def test_trailing_whitespace_in_the_file_is_tolerated_and_kept_on_context():
    work = WorkingCopy(base={"f.txt": "keep   \nold\t\n"})

    patch_apply(work, envelope("*** Update File: f.txt", "@@", " keep", "-old", "+new"))

    assert work.files["f.txt"] == "keep   \nnew\n"


def test_indentation_differences_are_tolerated_last():
    work = WorkingCopy(base={"f.py": "if x:\n        y = 1\n"})

    patch_apply(work, envelope("*** Update File: f.py", "@@", " if x:", "-    y = 1", "+    y = 2"))

    assert work.files["f.py"] == "if x:\n    y = 2\n"


def test_an_exact_match_further_down_beats_a_loose_one_above():
    work = WorkingCopy(base={"f.txt": "  value\nother\nvalue\n"})

    patch_apply(work, envelope("*** Update File: f.txt", "@@", "-value", "+VALUE"))

    assert work.files["f.txt"] == "  value\nother\nVALUE\n"


# --- what the parser reads ---------------------------------------------------------------


def test_the_parsed_operations_carry_anchors_moves_and_end_of_file():
    ops = parse_patch(
        envelope(
            "*** Add File: a.txt",
            "+a",
            "*** Update File: b.py",
            "*** Move to: c.py",
            "@@ class B",
            "@@ def f():",
            " x",
            "-y",
            "+z",
            "@@",
            "-tail",
            "*** End of File",
            "*** Delete File: d.txt",
        )
    )

    assert [(op.op, op.path, op.move_to) for op in ops] == [
        ("add", "a.txt", None),
        ("update", "b.py", "c.py"),
        ("delete", "d.txt", None),
    ]
    first, second = ops[1].hunks
    assert first.anchors == ["class B", "def f():"] and not first.end_of_file
    assert (first.old, first.new) == (["x", "y"], ["x", "z"])
    assert second.anchors == [] and second.end_of_file and second.old == ["tail"]

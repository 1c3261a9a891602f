"""The smallest Yjs edit for a new text (editor/collab/edits.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Text

from editor.collab.documents import TEXT_NAME, base_update, text_of
from editor.collab.edits import apply_text_edits, text_edits


def _replace(old: str, new: str) -> tuple[Doc, bytes]:
    """A replica holding `old` edited to `new`; returns it and the update it made."""
    doc = Doc()
    doc.apply_update(base_update(old))
    state = doc.get_state()
    apply_text_edits(doc, text_edits(old, new), old)
    return doc, doc.get_update(state)


def test_equal_texts_need_no_edit():
    assert text_edits("same\n", "same\n") == []


def test_one_changed_word_is_one_small_edit():
    old = "def main():\n    return 1\n"
    new = "def main():\n    return 2\n"
    (edit,) = text_edits(old, new)
    assert old[edit.start : edit.end] == "1" and edit.insert == "2"


def test_changes_far_apart_leave_the_middle_alone():
    middle = [f"line {i}\n" for i in range(50)]
    old = "head\n" + "".join(middle) + "tail\n"
    new = "HEAD\n" + "".join(middle) + "TAIL\n"
    edits = text_edits(old, new)
    assert len(edits) == 2
    untouched = old.index("line 0"), old.index("tail")
    assert edits[0].end <= untouched[0] and edits[1].start >= untouched[1]


def test_multibyte_characters_are_indexed_right():
    # pycrdt indexes Y.Text by UTF-8 bytes: an off-by-bytes edit would split characters.
    old = "é😀 日本語\nnaïve = 1\n"
    new = "é😀 日本!語\nnaïve = 2 # ✓\n"
    doc, _ = _replace(old, new)
    assert text_of(doc) == new


def test_an_edit_elsewhere_made_concurrently_survives():
    old = "".join(f"row {i}\n" for i in range(20))
    new = old.replace("row 2\n", "row two\n")
    writer, update = _replace(old, new)
    # Someone else, who never saw the write, types near the end at the same time.
    other = Doc()
    other.apply_update(base_update(old))
    text = other.get(TEXT_NAME, type=Text)
    state = other.get_state()
    text.insert(len(old.replace("row 19\n", "").encode()), "# mine\n")
    theirs = other.get_update(state)
    writer.apply_update(theirs)
    other.apply_update(update)
    assert text_of(writer) == text_of(other) == new.replace("row 19\n", "# mine\nrow 19\n")


# Few distinct pieces, so that old and new share runs and the diff has work to do.
_texts = st.lists(
    st.sampled_from(["a", "b", " ", "\n", "\r\n", "é", "😀", "日本"]), max_size=40
).map("".join)


@settings(max_examples=300, deadline=None)
@given(old=_texts, new=_texts)
def test_any_text_becomes_any_other(old, new):
    doc, _ = _replace(old, new)
    assert text_of(doc) == new

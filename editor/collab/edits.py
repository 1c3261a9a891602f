"""Turn "the text is now X" into the smallest Yjs edit, so that what others did survives.

Replacing a whole Y.Text would delete every character and insert new ones: concurrent
edits elsewhere in the file would land in deleted text and vanish, and every cursor would
jump. Instead the change is diffed (common prefix and suffix, then lines with difflib,
then characters inside each changed block) and only the differing ranges are edited.

pycrdt indexes Y.Text by UTF-8 byte offsets, so ranges are converted from characters.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from pycrdt import Doc, Text

from editor.collab.documents import TEXT_NAME

# difflib's line matcher is quadratic at worst: above this many changed lines (on both
# sides together) the changed middle is replaced as one block instead.
LINE_DIFF_MAX_LINES = 20_000


@dataclass(frozen=True)
class Edit:
    """Replace old[start:end] (character positions in the old text) by `insert`."""

    start: int
    end: int
    insert: str


def text_edits(old: str, new: str) -> list[Edit]:
    """Non-overlapping edits, in ascending order, that turn `old` into `new`."""
    if old == new:
        return []
    start = _common_prefix(old, new)
    end_old, end_new = len(old), len(new)
    suffix = _common_suffix(old[start:], new[start:])
    end_old -= suffix
    end_new -= suffix
    middle_old, middle_new = old[start:end_old], new[start:end_new]
    old_lines = middle_old.splitlines(keepends=True)
    new_lines = middle_new.splitlines(keepends=True)
    if not old_lines or not new_lines or len(old_lines) + len(new_lines) > LINE_DIFF_MAX_LINES:
        return [Edit(start, end_old, middle_new)]
    edits: list[Edit] = []
    old_starts = _offsets(old_lines, start)
    new_starts = _offsets(new_lines, 0)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        a = middle_old[old_starts[i1] - start : old_starts[i2] - start]
        b = middle_new[new_starts[j1] : new_starts[j2]]
        # Inside a changed block, keep the characters it shares at both ends (a line
        # whose one word changed keeps its indentation and a cursor at its end).
        head = _common_prefix(a, b)
        tail = _common_suffix(a[head:], b[head:])
        edits.append(Edit(old_starts[i1] + head, old_starts[i2] - tail, b[head : len(b) - tail]))
    return edits


def apply_text_edits(doc: Doc, edits: list[Edit], old: str) -> None:
    """Apply `edits` (computed against `old`, the doc's current text) in one transaction."""
    text = doc.get(TEXT_NAME, type=Text)
    positions = sorted({p for e in edits for p in (e.start, e.end)})
    byte_at = _byte_offsets(old, positions)
    with doc.transaction():
        # Back to front, so earlier offsets stay valid.
        for e in reversed(edits):
            start, end = byte_at[e.start], byte_at[e.end]
            if end > start:
                del text[start:end]
            if e.insert:
                text.insert(start, e.insert)


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    lo, hi = 0, n
    # Binary search on slices: C-speed comparisons instead of a Python loop per character.
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _offsets(lines: list[str], base: int) -> list[int]:
    starts = [base]
    for line in lines:
        starts.append(starts[-1] + len(line))
    return starts


def _byte_offsets(text: str, positions: list[int]) -> dict[int, int]:
    """UTF-8 byte offset of each (sorted) character position, in one pass over the text."""
    result: dict[int, int] = {}
    previous, offset = 0, 0
    for position in positions:
        offset += len(text[previous:position].encode("utf-8", "surrogatepass"))
        result[position] = offset
        previous = position
    return result

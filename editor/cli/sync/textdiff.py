"""A saved file as the smallest edit of a shared text, so others' typing elsewhere survives.

Common prefix and suffix first, then difflib over the lines of what is left, then the
characters each changed block shares at its ends. pycrdt indexes a Y.Text by UTF-8 byte
offsets, so positions are converted before the edit is applied.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from pycrdt import Doc, Text

# difflib is quadratic at worst: past this many changed lines the middle is one edit.
LINE_DIFF_MAX = 20_000


@dataclass(frozen=True)
class Change:
    """old[start:end] (character positions) becomes `insert`."""

    start: int
    end: int
    insert: str


def _prefix(a: str, b: str) -> int:
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:  # binary search over slice comparisons: C speed, not a loop per char
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _suffix(a: str, b: str) -> int:
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def changes(old: str, new: str) -> list[Change]:
    """Non-overlapping changes, ascending, that turn `old` into `new`."""
    if old == new:
        return []
    start = _prefix(old, new)
    tail = _suffix(old[start:], new[start:])
    old_mid, new_mid = old[start : len(old) - tail], new[start : len(new) - tail]
    old_lines = old_mid.splitlines(keepends=True)
    new_lines = new_mid.splitlines(keepends=True)
    if not old_lines or not new_lines or len(old_lines) + len(new_lines) > LINE_DIFF_MAX:
        return [Change(start, start + len(old_mid), new_mid)]
    old_at = _starts(old_lines, start)
    new_at = _starts(new_lines, 0)
    found: list[Change] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        a = old[old_at[i1] : old_at[i2]]
        b = new_mid[new_at[j1] : new_at[j2]]
        head = _prefix(a, b)
        end = _suffix(a[head:], b[head:])
        found.append(Change(old_at[i1] + head, old_at[i2] - end, b[head : len(b) - end]))
    return found


def _starts(lines: list[str], offset: int) -> list[int]:
    starts = [offset]
    for line in lines:
        starts.append(starts[-1] + len(line))
    return starts


def apply(doc: Doc, text: Text, old: str, new: str) -> bool:
    """Edit `text` (whose content is `old`) into `new` in one transaction; False if equal."""
    found = changes(old, new)
    if not found:
        return False
    positions = sorted({p for c in found for p in (c.start, c.end)})
    byte_at: dict[int, int] = {}
    done_chars, done_bytes = 0, 0
    for position in positions:
        done_bytes += len(old[done_chars:position].encode("utf-8", "surrogatepass"))
        done_chars = position
        byte_at[position] = done_bytes
    with doc.transaction():
        for change in reversed(found):  # back to front: earlier offsets stay valid
            start, end = byte_at[change.start], byte_at[change.end]
            if end > start:
                del text[start:end]
            if change.insert:
                text.insert(start, change.insert)
    return True

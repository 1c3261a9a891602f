"""Per-file diffs of a changeset, generated on the server for the UI, split into hunks.

Hunks are difflib's grouped opcodes (3 lines of context), numbered from 0 in file
order; `text_with_hunks` rebuilds a file from its base with only chosen hunks applied,
which is how "apply this hunk" works.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

CONTEXT = 3


def _lines(text: str | None) -> list[str]:
    return (text or "").splitlines(keepends=True)


@dataclass
class Hunk:
    index: int
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    lines: list[str] = field(default_factory=list)  # " x", "-x", "+x" without newlines

    @property
    def header(self) -> str:
        return f"@@ -{self.old_start},{self.old_count} +{self.new_start},{self.new_count} @@"


@dataclass
class Diff:
    path: str
    text: str
    hunks: list[Hunk]
    added: int
    removed: int

    def hunks_out(self) -> list[dict[str, Any]]:
        return [
            {
                "index": h.index,
                "header": h.header,
                "old_start": h.old_start,
                "old_count": h.old_count,
                "new_start": h.new_start,
                "new_count": h.new_count,
                "lines": h.lines,
            }
            for h in self.hunks
        ]


def _groups(old: list[str], new: list[str]) -> list[list[tuple[str, int, int, int, int]]]:
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [list(group) for group in matcher.get_grouped_opcodes(CONTEXT)]


def file_diff(path: str, base: str | None, proposed: str | None) -> Diff:
    old, new = _lines(base), _lines(proposed)
    hunks = []
    added = removed = 0
    for index, group in enumerate(_groups(old, new)):
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        hunk = Hunk(
            index=index,
            old_start=i1 + 1 if i2 > i1 else i1,
            old_count=i2 - i1,
            new_start=j1 + 1 if j2 > j1 else j1,
            new_count=j2 - j1,
        )
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                hunk.lines += [" " + line.rstrip("\n") for line in old[a1:a2]]
                continue
            hunk.lines += ["-" + line.rstrip("\n") for line in old[a1:a2]]
            hunk.lines += ["+" + line.rstrip("\n") for line in new[b1:b2]]
            removed += a2 - a1
            added += b2 - b1
        hunks.append(hunk)
    a = "/dev/null" if base is None else f"a/{path}"
    b = "/dev/null" if proposed is None else f"b/{path}"
    text = "".join(difflib.unified_diff(old, new, a, b, n=CONTEXT))
    if text and not text.endswith("\n"):
        text += "\n\\ No newline at end of file\n"
    return Diff(path=path, text=text, hunks=hunks, added=added, removed=removed)


def text_with_hunks(base: str, proposed: str, chosen: set[int]) -> str:
    """`base` with only the hunks numbered in `chosen` taken from `proposed`."""
    old, new = _lines(base), _lines(proposed)
    owner: dict[tuple[int, int, int, int], int] = {}
    for index, group in enumerate(_groups(old, new)):
        for tag, a1, a2, b1, b2 in group:
            if tag != "equal":
                owner[(a1, a2, b1, b2)] = index
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag != "equal" and owner.get((a1, a2, b1, b2)) in chosen:
            out += new[b1:b2]
        else:
            out += old[a1:a2]
    return "".join(out)


def hunk_count(base: str | None, proposed: str | None) -> int:
    return len(_groups(_lines(base), _lines(proposed)))

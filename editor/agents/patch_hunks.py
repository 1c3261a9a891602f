"""Where each hunk goes in a file, and the file it leaves.

Hunks are found by their context and removed lines, never by line numbers (models count
lines badly). Lines are compared as the Codex applier compares them: exactly, then
ignoring trailing whitespace, then ignoring the whitespace around each line; the first
of those that finds the lines wins, so a looser match never beats an exact one.

An envelope's hunks are placed the Codex way: in file order, each searched from where
the previous one ended; each `@@` anchor line is found first and the search goes on
below it, so anchors pick one of several repeated snippets; an `*** End of File` hunk
must match the file's last lines; the file comes out ending with a newline. A unified
diff's hunks go to the match nearest the line its header states (or git's function
text after it), anywhere in the file, and the file keeps its last newline or lack of one.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from editor.agents.patch_ops import Hunk
from editor.agents.workcopy import ToolError

_LEVELS: tuple[Callable[[str], str], ...] = (lambda s: s, str.rstrip, str.strip)


def seek(
    lines: list[str],
    pattern: list[str],
    start: int = 0,
    *,
    near: int | None = None,
    at_end: bool = False,
) -> int | None:
    """Index of `pattern` in `lines` from `start` (first match, or the one nearest `near`)."""
    size = len(pattern)
    last = len(lines) - size
    if last < 0:
        return None
    candidates = [last] if at_end else range(start, last + 1)
    for norm in _LEVELS:
        target = [norm(p) for p in pattern]
        hits = (i for i in candidates if all(norm(lines[i + k]) == t for k, t in enumerate(target)))
        if near is None:
            found = next(hits, None)
            if found is not None:
                return found
            continue
        every = list(hits)
        if every:
            return min(every, key=lambda i: abs(i - near))
    return None


def _seek_anchor(lines: list[str], anchor: str, start: int) -> int | None:
    """The anchor as a whole line first (as Codex does), else a line that contains it."""
    found = seek(lines, [anchor], start)
    if found is not None:
        return found
    wanted = anchor.strip()
    return next((i for i in range(start, len(lines)) if wanted in lines[i]), None)


def split_lines(text: str) -> tuple[list[str], bool]:
    if text == "":
        return [], True
    ends = text.endswith("\n")
    return text[:-1].split("\n") if ends else text.split("\n"), ends


def join_lines(lines: list[str], ends: bool) -> str:
    if not lines:
        return ""
    return "\n".join(lines) + ("\n" if ends else "")


def _closest(lines: list[str], wanted: str) -> str:
    if not wanted.strip() or not lines:
        return ""
    best = difflib.get_close_matches(wanted, lines, n=1, cutoff=0.5)
    if not best:
        return ""
    number = lines.index(best[0]) + 1
    return f" The most similar line in the file is line {number}: {best[0]!r}."


_RETRY = " Nothing was changed: read the file again and send a patch against its current text."


def _missing(
    path: str, index: int, count: int, hunk: Hunk, lines: list[str], why: str
) -> ToolError:
    shown = "\n".join(f"    {line}" for line in hunk.old[:6])
    more = f"\n    … ({len(hunk.old) - 6} more lines)" if len(hunk.old) > 6 else ""
    first = next((line for line in hunk.old if line.strip()), "")
    return ToolError(
        f"{path}: hunk {index} of {count} did not apply; these lines (context and removed) "
        f"are not in the file{why}:\n{shown}{more}\n{_closest(lines, first)}{_RETRY}"
    )


def _trimmed(hunk: Hunk) -> Hunk | None:
    """The hunk without trailing empty context lines, if it had some and keeps old lines."""
    shorter = hunk
    while shorter.ops and shorter.ops[-1] == (" ", ""):
        shorter = shorter.without_trailing_blank()
    return shorter if shorter is not hunk and shorter.old else None


def apply_envelope_hunks(path: str, text: str, hunks: list[Hunk]) -> str:
    lines, _ = split_lines(text)
    cursor = 0
    for index, hunk in enumerate(hunks, start=1):
        for anchor in hunk.anchors:
            found = _seek_anchor(lines, anchor, cursor)
            if found is None:
                below = f" below line {cursor}" if cursor else ""
                raise ToolError(
                    f"{path}: hunk {index} of {len(hunks)} did not apply: its '@@ {anchor}' "
                    f"line is not in the file{below}.{_closest(lines[cursor:], anchor)}"
                    f"{_RETRY} (Hunks go in the order of the file.)"
                )
            cursor = found + 1
        if not hunk.old:  # only added lines: below its anchor, else at the end
            at = cursor if hunk.anchors and not hunk.end_of_file else len(lines)
            lines[at:at] = hunk.new
            cursor = at + len(hunk.new)
            continue
        near = max(cursor, hunk.hint_line - 1) if hunk.hint_line else None
        placed, at = hunk, seek(lines, hunk.old, cursor, near=near, at_end=hunk.end_of_file)
        if at is None and (shorter := _trimmed(hunk)) is not None:
            placed = shorter
            at = seek(lines, shorter.old, cursor, near=near, at_end=hunk.end_of_file)
        if at is None:
            raise _missing(path, index, len(hunks), hunk, lines, _why(lines, hunk, cursor))
        replacement = placed.replacement(lines[at : at + len(placed.old)])
        lines[at : at + len(placed.old)] = replacement
        cursor = at + len(replacement)
    return join_lines(lines, True)


def _why(lines: list[str], hunk: Hunk, cursor: int) -> str:
    """Why an envelope hunk was not found where it may go, when it exists elsewhere."""
    if hunk.end_of_file and seek(lines, hunk.old) is not None:
        return " at its end ('*** End of File' says they end it)"
    if cursor and seek(lines, hunk.old) is not None:
        return (
            f" below line {cursor}, where the previous hunk or '@@' line left off "
            "(hunks go in the order of the file)"
        )
    if hunk.anchors:
        return " below its '@@' line"
    return ""


def _near(lines: list[str], hunk: Hunk, after: int) -> int:
    for anchor in hunk.anchors[-1:]:
        found = next((i for i in range(after, len(lines)) if anchor in lines[i]), None)
        if found is not None:
            return found + 1
    if hunk.hint_line:
        return max(0, hunk.hint_line - 1)
    return after


def apply_unified_hunks(path: str, text: str, hunks: list[Hunk]) -> str:
    lines, ends = split_lines(text)
    cursor = 0
    for index, hunk in enumerate(hunks, start=1):
        if not hunk.old:
            at = (
                min(len(lines), _near(lines, hunk, cursor))
                if hunk.hint_line or hunk.anchors
                else len(lines)
            )
            lines[at:at] = hunk.new
            cursor = at + len(hunk.new)
            continue
        at = seek(lines, hunk.old, 0, near=_near(lines, hunk, cursor))
        if at is None:
            raise _missing(path, index, len(hunks), hunk, lines, "")
        replacement = hunk.replacement(lines[at : at + len(hunk.old)])
        lines[at : at + len(hunk.old)] = replacement
        cursor = at + len(replacement)
    return join_lines(lines, ends or not text)

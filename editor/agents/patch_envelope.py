"""The apply_patch envelope (the Codex models' patch format), read by its grammar.

    patch   := "*** Begin Patch" { add | delete | update } "*** End Patch"
    add     := "*** Add File: " path { "+" line }
    delete  := "*** Delete File: " path
    update  := "*** Update File: " path [ "*** Move to: " path ] hunk { hunk }
    hunk    := { "@@" [ " " anchor ] } { (" " | "-" | "+") line } [ "*** End of File" ]

As lenient as the Codex parser where models slip: whitespace around the markers, a
heredoc wrapper (`<<'EOF'` … `EOF`), no "@@" before an update's first hunk, an empty
line read as an empty context line. Stricter where a slip would change the wrong text:
a patch with no file operation, an update without a hunk, a hunk without lines and a
line that is none of the above are refused, naming the line. Several "@@" lines in a row
narrow the search step by step (`@@ class A` then `@@ def f():`). A unified hunk header
(`@@ -12,3 +12,4 @@`) inside an envelope is taken as a line hint, not as anchor text.
"""

from __future__ import annotations

import re

from editor.agents.patch_ops import FileOp, Hunk
from editor.agents.workcopy import ToolError, clean_path

BEGIN = "*** Begin Patch"
END = "*** End Patch"
ADD = "*** Add File:"
DELETE = "*** Delete File:"
UPDATE = "*** Update File:"
MOVE = "*** Move to:"
END_OF_FILE = "*** End of File"
_HEREDOC_OPENERS = ("<<EOF", "<<'EOF'", '<<"EOF"')
_UNIFIED_HEAD = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")

_OPS_HINT = (
    "each file starts with '*** Add File: path', '*** Update File: path' or '*** Delete File: path'"
)


def is_envelope(text: str) -> bool:
    lines = text.strip().split("\n", 2)
    first = lines[0].strip()
    if first in _HEREDOC_OPENERS and len(lines) > 1:
        first = lines[1].strip()
    return first == BEGIN


def _body(text: str) -> list[tuple[int, str]]:
    """The lines between the markers, each with its 1-based line number in the patch."""
    lines = [line.removesuffix("\r") for line in text.strip().split("\n")]
    first_number = 1
    if len(lines) >= 4 and lines[0].strip() in _HEREDOC_OPENERS and lines[-1].endswith("EOF"):
        lines, first_number = lines[1:-1], 2
    if lines[0].strip() != BEGIN:
        raise ToolError(f"The first line of the patch must be '{BEGIN}'.")
    if len(lines) < 2 or lines[-1].strip() != END:
        raise ToolError(
            f"The last line of the patch must be '{END}': the patch may have been cut short."
        )
    return list(enumerate(lines[1:-1], start=first_number + 1))


def parse_envelope(text: str) -> list[FileOp]:
    body = _body(text)
    ops: list[FileOp] = []
    i = 0
    while i < len(body):
        number, line = body[i]
        marker = line.strip()
        if not marker:
            i += 1
        elif marker.startswith(ADD):
            op = FileOp("add", clean_path(marker[len(ADD) :]), envelope=True)
            i += 1
            while i < len(body) and body[i][1].startswith("+"):
                op.added_lines.append(body[i][1][1:])
                i += 1
            ops.append(op)
        elif marker.startswith(DELETE):
            ops.append(FileOp("delete", clean_path(marker[len(DELETE) :]), envelope=True))
            i += 1
        elif marker.startswith(UPDATE):
            op, i = _parse_update(body, i)
            ops.append(op)
        elif marker.startswith(MOVE):
            raise ToolError(
                f"Line {number}: '{MOVE}' must come right after its '*** Update File: path'."
            )
        else:
            raise ToolError(
                f"Line {number}: {_shown(line)} is not a file operation; {_OPS_HINT}. "
                "(Every line of an added file starts with '+', empty ones too.)"
            )
    if not ops:
        raise ToolError(
            f"The patch is empty: there is nothing between '{BEGIN}' and '{END}'; {_OPS_HINT}."
        )
    return ops


def _parse_update(body: list[tuple[int, str]], i: int) -> tuple[FileOp, int]:
    number, line = body[i]
    op = FileOp("update", clean_path(line.strip()[len(UPDATE) :]), envelope=True)
    i += 1
    if i < len(body) and body[i][1].strip().startswith(MOVE):
        op.move_to = clean_path(body[i][1].strip()[len(MOVE) :])
        i += 1
    hunk: Hunk | None = None  # the hunk lines go to; None before the first, after EOF
    while i < len(body):
        at, line = body[i]
        if line.startswith("*"):
            if line.strip() != END_OF_FILE:
                break  # the next file operation (or a mistake the caller names)
            if hunk is None or not hunk.ops:
                raise ToolError(f"Line {at}: '{END_OF_FILE}' must end a hunk that has lines.")
            hunk.end_of_file = True
            hunk = None
        elif line.startswith("@@"):
            if hunk is None or hunk.ops:
                hunk = Hunk()
                op.hunks.append(hunk)
            _head(hunk, line)
        elif hunk is None and op.hunks:
            if line.strip():
                raise ToolError(
                    f"Line {at} ({op.path}): a hunk after '{END_OF_FILE}' starts with '@@'."
                )
        elif line == "" or line[0] in " -+":
            if hunk is None:  # the first hunk may leave out its "@@"
                hunk = Hunk()
                op.hunks.append(hunk)
            op_char, text = (" ", "") if line == "" else (line[0], line[1:])
            hunk.add_line(op_char, text)
        else:
            raise ToolError(
                f"Line {at} ({op.path}): {_shown(line)} — each line of a hunk starts with "
                "' ' (context), '-' (remove) or '+' (add); a new hunk starts with '@@'."
            )
        i += 1
    if not op.hunks:
        raise ToolError(
            f"Line {number}: '*** Update File: {op.path}' has no hunk: give the change as "
            "'@@' then ' ' context, '-' removed and '+' added lines (or use '*** Delete File:' "
            "/ '*** Add File:')."
        )
    for hunk in op.hunks:
        if not hunk.ops:
            raise ToolError(
                f"{op.path}: a hunk has an '@@' line but no lines after it; add the ' ' "
                "context, '-' removed and '+' added lines."
            )
    return op, i


def _head(hunk: Hunk, line: str) -> None:
    unified = _UNIFIED_HEAD.match(line)
    if unified:
        hunk.hint_line = int(unified.group(1))
        return
    anchor = line[2:].strip()
    if anchor:
        hunk.anchors.append(anchor)


def _shown(line: str) -> str:
    return repr(line if len(line) <= 80 else line[:80] + "…")

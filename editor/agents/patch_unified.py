"""Unified diffs (`--- a/p`, `+++ b/p`, `@@ -l,n +l,n @@` hunks), as git and diff write them."""

from __future__ import annotations

import re

from editor.agents.patch_ops import FileOp, Hunk
from editor.agents.workcopy import ToolError, clean_path

_HUNK_HEAD = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")


def _diff_path(raw: str) -> str | None:
    name = raw.split("\t", 1)[0].strip()
    if name == "/dev/null":
        return None
    if name.startswith(("a/", "b/")):
        name = name[2:]
    return clean_path(name)


def _is_git_header(line: str) -> bool:
    return line.startswith(("diff ", "index ", "new file mode", "deleted file mode"))


def _hunk_body(hunk: Hunk, line: str) -> bool:
    """Add one body line to a hunk; False when the line is not part of a hunk."""
    if line.startswith("\\"):  # "\ No newline at end of file"
        return True
    op, text = (" ", "") if line == "" else (line[0], line[1:])
    if op not in " -+":
        return False
    hunk.add_line(op, text)
    return True


def parse_unified(text: str) -> list[FileOp]:
    lines = text.split("\n")
    ops: list[FileOp] = []
    current: FileOp | None = None
    hunk: Hunk | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            old, new = _diff_path(line[4:]), _diff_path(lines[i + 1][4:])
            if old is None and new is None:
                raise ToolError("A diff header names /dev/null twice.")
            if old is None:
                current = FileOp("add", new)  # type: ignore[arg-type]
            elif new is None:
                current = FileOp("delete", old)
            else:
                current = FileOp("update", old, move_to=new if new != old else None)
            ops.append(current)
            hunk = None
            i += 2
            continue
        head = _HUNK_HEAD.match(line)
        if head:
            if current is None:
                raise ToolError("A hunk (@@ … @@) comes before any '--- a/path' / '+++ b/path'.")
            # git's text after the header is the enclosing function: a hint, often partial.
            anchor = head.group(5).strip()
            hunk = Hunk(hint_line=int(head.group(1)), anchors=[anchor] if anchor else [])
            current.hunks.append(hunk)
        elif _is_git_header(line) or (hunk is not None and _hunk_body(hunk, line)):
            pass
        elif line.strip():
            raise ToolError(
                f"Line {i + 1} of the patch is neither a diff header, a hunk header nor a "
                "hunk line. Send a unified diff or a '*** Begin Patch' envelope."
            )
        i += 1
    if not ops:
        raise ToolError(
            "No file in the patch: send a unified diff (--- a/path, +++ b/path, @@ hunks) "
            "or a '*** Begin Patch' envelope."
        )
    for op in ops:
        if op.op == "add":
            for h in op.hunks:
                op.added_lines.extend(h.new)
    return ops

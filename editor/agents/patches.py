"""Patches from the model: a unified diff or an apply_patch envelope, applied all or nothing.

Envelope (the Codex format)::

    *** Begin Patch
    *** Add File: path          (then every line starts with "+")
    *** Update File: path       (optionally "*** Move to: new/path")
    @@ optional text of a line above the change
     context
    -removed
    +added
    *** Delete File: path
    *** End Patch

Hunks are found by their context and removed lines, not by line numbers (models count
lines badly): exactly first, then ignoring trailing and finally all surrounding
whitespace, nearest the line number or `@@` hint. A hunk that is found nowhere fails the
whole patch with a message naming the file, the hunk and the lines that did not match,
so the model can read the file again and retry.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from editor.agents.workcopy import ToolError, WorkingCopy, clean_path

_HUNK_HEAD = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")


@dataclass
class Hunk:
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    hint_line: int | None = None  # 1-based line the diff said the hunk starts at
    anchor: str = ""  # an envelope "@@ text" line above the change
    ops: list[tuple[str, str]] = field(default_factory=list)  # (" "|"-"|"+", line)

    def replacement(self, found: list[str]) -> list[str]:
        """The new lines for `found` (the matched old lines): context kept as in the file."""
        out, k = [], 0
        for op, line in self.ops:
            if op == " ":
                out.append(found[k])
                k += 1
            elif op == "-":
                k += 1
            else:
                out.append(line)
        return out


@dataclass
class FileOp:
    op: str  # add | update | delete
    path: str
    move_to: str | None = None
    hunks: list[Hunk] = field(default_factory=list)
    added_lines: list[str] = field(default_factory=list)


def parse_patch(text: str) -> list[FileOp]:
    if not isinstance(text, str) or not text.strip():
        raise ToolError("apply_patch needs a non-empty `patch`.")
    stripped = text.strip("\n")
    if stripped.lstrip().startswith("*** Begin Patch"):
        return _parse_envelope(stripped)
    return _parse_unified(stripped)


def _hunk_body(hunk: Hunk, line: str) -> bool:
    """Add one body line to a hunk; False when the line is not part of a hunk."""
    if line.startswith("\\"):  # "\ No newline at end of file"
        return True
    op, text = (" ", "") if line == "" else (line[0], line[1:])
    if op not in " -+":
        return False
    if op != "+":
        hunk.old.append(text)
    if op != "-":
        hunk.new.append(text)
    hunk.ops.append((op, text))
    return True


def _parse_envelope(text: str) -> list[FileOp]:
    lines = text.split("\n")
    if lines[-1].strip() != "*** End Patch":
        raise ToolError("The patch starts with '*** Begin Patch' but has no '*** End Patch'.")
    ops: list[FileOp] = []
    current: FileOp | None = None
    hunk: Hunk | None = None
    for number, line in enumerate(lines[1:-1], start=2):
        if line.startswith("*** Add File:"):
            current = FileOp("add", clean_path(line.split(":", 1)[1]))
            ops.append(current)
            hunk = None
        elif line.startswith("*** Update File:"):
            current = FileOp("update", clean_path(line.split(":", 1)[1]))
            ops.append(current)
            hunk = None
        elif line.startswith("*** Delete File:"):
            current = FileOp("delete", clean_path(line.split(":", 1)[1]))
            ops.append(current)
            hunk = None
        elif line.startswith("*** Move to:"):
            if current is None or current.op != "update":
                raise ToolError(f"Line {number}: '*** Move to:' must follow '*** Update File:'.")
            current.move_to = clean_path(line.split(":", 1)[1])
        elif line.startswith("*** End of File"):
            continue
        elif current is None:
            if line.strip():
                raise ToolError(f"Line {number}: expected '*** Add/Update/Delete File: path'.")
        elif current.op == "add":
            if not line.startswith("+"):
                raise ToolError(f"Line {number}: every line of an added file starts with '+'.")
            current.added_lines.append(line[1:])
        elif current.op == "delete":
            if line.strip():
                raise ToolError(f"Line {number}: a deleted file takes no lines.")
        elif line.startswith("@@"):
            hunk = Hunk(anchor=line[2:].strip())
            current.hunks.append(hunk)
        else:
            if hunk is None:
                hunk = Hunk()
                current.hunks.append(hunk)
            if not _hunk_body(hunk, line):
                raise ToolError(
                    f"Line {number} of the patch ({current.path}): each line of a change starts "
                    "with ' ' (context), '-' (remove) or '+' (add)."
                )
    if not ops:
        raise ToolError("The patch changes no file.")
    return ops


def _diff_path(raw: str) -> str | None:
    name = raw.split("\t", 1)[0].strip()
    if name == "/dev/null":
        return None
    if name.startswith(("a/", "b/")):
        name = name[2:]
    return clean_path(name)


def _is_git_header(line: str) -> bool:
    return line.startswith(("diff ", "index ", "new file mode", "deleted file mode"))


def _parse_unified(text: str) -> list[FileOp]:
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
            hunk = Hunk(hint_line=int(head.group(1)), anchor=head.group(5).strip())
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


def _split(text: str) -> tuple[list[str], bool]:
    if text == "":
        return [], True
    ends = text.endswith("\n")
    return text[:-1].split("\n") if ends else text.split("\n"), ends


def _join(lines: list[str], ends: bool) -> str:
    if not lines:
        return ""
    return "\n".join(lines) + ("\n" if ends else "")


def _find(lines: list[str], old: list[str], near: int) -> int | None:
    """Index where `old` occurs in `lines`, the occurrence nearest `near` first."""
    n = len(old)
    for norm in (lambda s: s, str.rstrip, str.strip):
        target = [norm(x) for x in old]
        hits = [
            i for i in range(len(lines) - n + 1) if [norm(x) for x in lines[i : i + n]] == target
        ]
        if hits:
            return min(hits, key=lambda i: abs(i - near))
    return None


def _near(lines: list[str], hunk: Hunk, after: int) -> int:
    if hunk.anchor:
        for i in range(after, len(lines)):
            if hunk.anchor in lines[i]:
                return i + 1
    if hunk.hint_line:
        return max(0, hunk.hint_line - 1)
    return after


def _closest(lines: list[str], wanted: str) -> str:
    if not wanted.strip() or not lines:
        return ""
    best = difflib.get_close_matches(wanted, lines, n=1, cutoff=0.5)
    if not best:
        return ""
    number = lines.index(best[0]) + 1
    return f" The most similar line in the file is line {number}: {best[0]!r}."


def apply_hunks(path: str, text: str, hunks: list[Hunk]) -> str:
    lines, ends = _split(text)
    cursor = 0
    for index, hunk in enumerate(hunks, start=1):
        if not hunk.old:
            at = (
                min(len(lines), _near(lines, hunk, cursor))
                if hunk.hint_line or hunk.anchor
                else len(lines)
            )
            lines[at:at] = hunk.new
            cursor = at + len(hunk.new)
            continue
        near = _near(lines, hunk, cursor)
        at = _find(lines, hunk.old, near)
        if at is None:
            shown = "\n".join(f"    {line}" for line in hunk.old[:6])
            more = f"\n    … ({len(hunk.old) - 6} more lines)" if len(hunk.old) > 6 else ""
            first = next((line for line in hunk.old if line.strip()), "")
            raise ToolError(
                f"{path}: hunk {index} of {len(hunks)} did not apply; these lines (context "
                f"and removed) are not in the file:\n{shown}{more}\n"
                f"{_closest(lines, first)} Nothing was changed: read the file again and "
                "send a patch against its current text."
            )
        replacement = hunk.replacement(lines[at : at + len(hunk.old)])
        lines[at : at + len(hunk.old)] = replacement
        cursor = at + len(replacement)
    if not lines:
        return ""
    return _join(lines, ends or not text)


def patch_apply(copy: WorkingCopy, patch: str) -> list[str]:
    """Apply a patch to the working copy, all files or none; returns a line per file."""
    ops = parse_patch(patch)
    staged: dict[str, str | None] = {}

    def current(path: str) -> str | None:
        if path in staged:
            return staged[path]
        try:
            return copy.read(path)[1]
        except ToolError:
            return None

    report = []
    for op in ops:
        copy.check_writable(op.path)
        existing = current(op.path)
        if op.op == "add":
            if existing is not None:
                raise ToolError(f"{op.path} already exists; use '*** Update File:' to change it.")
            staged[op.path] = _join(op.added_lines, True)
            report.append(f"added {op.path} ({len(op.added_lines)} lines)")
        elif op.op == "delete":
            if existing is None:
                raise ToolError(f"{op.path}: no such file to delete.")
            staged[op.path] = None
            report.append(f"deleted {op.path}")
        else:
            if existing is None:
                raise ToolError(f"{op.path}: no such file to update (list_files shows them).")
            new_text = apply_hunks(op.path, existing, op.hunks)
            target = op.move_to or op.path
            if op.move_to:
                copy.check_writable(op.move_to)
                if current(op.move_to) is not None:
                    raise ToolError(f"Cannot move {op.path} to {op.move_to}: it exists.")
                staged[op.path] = None
            staged[target] = new_text
            moved = f" → {op.move_to}" if op.move_to else ""
            report.append(f"updated {op.path}{moved} ({len(op.hunks)} hunks)")
    for path, text in staged.items():
        if text is None:
            copy.delete(path)
        else:
            copy.write(path, text)
    return report

"""Patches from the model: an apply_patch envelope or a unified diff, applied all or nothing.

The envelope is the Codex models' own format (editor/agents/patch_envelope.py has its
grammar)::

    *** Begin Patch
    *** Add File: path          (then every line starts with "+")
    *** Update File: path       (optionally "*** Move to: new/path")
    @@ class Outer              (optional anchors, outermost first)
    @@ def method():
     context
    -removed
    +added
    *** End of File             (optional: the hunk ends the file)
    *** Delete File: path
    *** End Patch

Hunks are placed by editor/agents/patch_hunks.py. Unlike Codex's applier, which writes
file by file, nothing is written until every file's hunks apply; adding a file that
exists or moving onto one is refused rather than overwriting it; paths stay inside the
project (and the task's scope). A refusal names the file, the hunk and the lines that did
not match, so the model can read the file again and retry.
"""

from __future__ import annotations

from editor.agents.patch_envelope import is_envelope, parse_envelope
from editor.agents.patch_hunks import apply_envelope_hunks, apply_unified_hunks, join_lines
from editor.agents.patch_ops import FileOp, Hunk
from editor.agents.patch_unified import parse_unified
from editor.agents.workcopy import ToolError, WorkingCopy

__all__ = ["FileOp", "Hunk", "parse_patch", "patch_apply"]


def parse_patch(text: str) -> list[FileOp]:
    if not isinstance(text, str) or not text.strip():
        raise ToolError("apply_patch needs a non-empty `patch`.")
    if is_envelope(text):
        return parse_envelope(text)
    return parse_unified(text.strip("\n"))


def _updated(op: FileOp, text: str) -> str:
    if op.envelope:
        return apply_envelope_hunks(op.path, text, op.hunks)
    return apply_unified_hunks(op.path, text, op.hunks)


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
            staged[op.path] = join_lines(op.added_lines, True)
            report.append(f"added {op.path} ({len(op.added_lines)} lines)")
        elif op.op == "delete":
            if existing is None:
                raise ToolError(f"{op.path}: no such file to delete.")
            staged[op.path] = None
            report.append(f"deleted {op.path}")
        else:
            if existing is None:
                raise ToolError(f"{op.path}: no such file to update (list_files shows them).")
            new_text = _updated(op, existing)
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

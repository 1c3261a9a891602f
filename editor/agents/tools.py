"""The agent's tools: their JSON schemas for the model and what each call does.

Every result is text for the model, bounded in size; a failure is a ToolError whose
message goes back as the result (the task carries on). `short` is the log line the room
sees for the call's result.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import re2

from editor.agents import sandbox
from editor.agents.patches import patch_apply
from editor.agents.workcopy import ToolError, WorkingCopy, clean_path

READ_MAX_LINES = 400
READ_MAX_CHARS = 40_000
SEARCH_MAX_HITS = 100
SEARCH_LINE_CHARS = 200
LIST_MAX = 500
SEARCH_PATTERN_MAX = 1000


def _fn(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        },
    }


_PATH = {"type": "string", "description": "Path relative to the project root."}
SPECS = {
    "list_files": _fn(
        "list_files",
        "List the project's text files (optionally under a folder).",
        {"path": {"type": "string", "description": "Folder to list; omit for all."}},
        [],
    ),
    "read_file": _fn(
        "read_file",
        f"Read a file, or lines start_line..end_line (1-based). At most {READ_MAX_LINES} "
        "lines per call.",
        {"path": _PATH, "start_line": {"type": "integer"}, "end_line": {"type": "integer"}},
        ["path"],
    ),
    "search": _fn(
        "search",
        "Search the project's files, line by line, with a regular expression (RE2 "
        "syntax: like Python's, without backreferences or lookaround).",
        {"pattern": {"type": "string"}, "path": {"type": "string"}},
        ["pattern"],
    ),
    "apply_patch": _fn(
        "apply_patch",
        "Change files: a unified diff (--- a/p, +++ b/p, @@ hunks) or an envelope "
        "'*** Begin Patch' … '*** End Patch' with '*** Add File:', '*** Update File:' "
        "(with @@ hunks of ' ', '-', '+' lines) and '*** Delete File:'. All or nothing.",
        {"patch": {"type": "string"}},
        ["patch"],
    ),
    "run_command": _fn(
        "run_command",
        "Run a shell command in a sandbox holding a copy of the project at /work "
        "(no network, limited CPU, memory, processes and time). Files it changes are "
        "kept as changes of the task.",
        {"command": {"type": "string"}},
        ["command"],
    ),
    "finish": _fn(
        "finish",
        "End the task with a short summary of what was changed and why.",
        {"summary": {"type": "string"}},
        ["summary"],
    ),
}


UNKNOWN_TOOL = "unknown tool"
_QUOTED_MAX = 40


def tool_label(name: str) -> str:
    """The tool name a log line may carry: one of ours, never the model's own text."""
    return name if name in SPECS else UNKNOWN_TOOL


def tool_quoted(name: str) -> str:
    """A model's tool name for a message: cut short, quoted, every non-ASCII or control
    character escaped (no bidi overrides or zero-width characters reach the log)."""
    cut = name[:_QUOTED_MAX] + ("..." if len(name) > _QUOTED_MAX else "")
    return json.dumps(cut, ensure_ascii=True)


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a bad pattern is the model's, not the worker's, problem
    return options


_RE2_OPTIONS = _re2_options()


def _search_regex(pattern: str) -> Any:
    """The model's pattern compiled by RE2, whose matching time is linear in the text:
    Python's backtracking `re` let `(a+)+$` run for hours inside the worker."""
    if len(pattern) > SEARCH_PATTERN_MAX:
        raise ToolError(f"The pattern is too long; at most {SEARCH_PATTERN_MAX} characters.")
    try:
        return re2.compile(pattern, options=_RE2_OPTIONS)
    except (re2.error, UnicodeError) as exc:  # UnicodeError: a lone surrogate from JSON
        why = exc.args[0] if exc.args and isinstance(exc, re2.error) else str(exc)
        why = why.decode(errors="replace") if isinstance(why, bytes) else str(why)
        raise ToolError(
            f"The pattern cannot be used ({why}). search uses RE2, which has no "
            "backreferences (\\1) or lookaround ((?=…), (?!…), (?<=…), (?<!…)): simplify "
            "the pattern, or search for a part and read the lines around it."
        ) from None


@dataclass
class ToolResult:
    content: str  # what the model reads
    short: str  # the log line
    changed_files: bool = False
    finished: bool = False


class ToolBox:
    def __init__(
        self,
        copy: WorkingCopy,
        *,
        commands: bool,
        cancelled: Callable[[], bool] = lambda: False,
        extras: Any = None,
    ) -> None:
        self.copy = copy
        self.commands = commands
        self.cancelled = cancelled
        # The room's prepared environment and network for commands (environments.py).
        self.extras = extras

    def specs(self) -> list[dict[str, Any]]:
        names = ["list_files", "read_file", "search", "apply_patch", "finish"]
        if self.commands:
            names.insert(4, "run_command")
        return [SPECS[name] for name in names]

    def call(self, name: str, raw_arguments: str | dict) -> ToolResult:
        # The name is checked first: only one of ours is ever repeated in a message.
        if name not in SPECS or (name == "run_command" and not self.commands):
            offered = ", ".join(spec["function"]["name"] for spec in self.specs())
            raise ToolError(f"no such tool {tool_quoted(name)}; the tools are: {offered}.")
        try:
            args = json.loads(raw_arguments) if isinstance(raw_arguments, str) else raw_arguments
        except ValueError:
            raise ToolError(f"The arguments of {name} are not valid JSON.") from None
        if not isinstance(args, dict):
            raise ToolError(f"The arguments of {name} must be a JSON object.")
        return getattr(self, f"_{name}")(args)

    def _list_files(self, args: dict) -> ToolResult:
        prefix = ""
        if args.get("path") not in (None, "", ".", "/"):
            prefix = clean_path(args["path"]) + "/"
        paths = sorted(p for p in self.copy.files if p.startswith(prefix))
        listing = [f"{p} ({self.copy.files[p].count(chr(10))} lines)" for p in paths[:LIST_MAX]]
        if len(paths) > LIST_MAX:
            listing.append(f"… and {len(paths) - LIST_MAX} more; list a folder to see them.")
        content = "\n".join(listing) or "(no files)"
        return ToolResult(content, f"{len(paths)} files")

    def _read_file(self, args: dict) -> ToolResult:
        path, text = self.copy.read(args.get("path"))
        lines = text.splitlines(keepends=True)
        start = args.get("start_line") or 1
        end = args.get("end_line") or len(lines)
        if not isinstance(start, int) or not isinstance(end, int) or start < 1 or end < start:
            raise ToolError("start_line and end_line are 1-based line numbers, start ≤ end.")
        end = min(end, len(lines), start + READ_MAX_LINES - 1)
        body = "".join(lines[start - 1 : end])
        if len(body) > READ_MAX_CHARS:
            body = body[:READ_MAX_CHARS] + "\n… (cut: read a smaller range)"
        more = f"; the file has {len(lines)} lines" if end < len(lines) or start > 1 else ""
        head = f"{path} lines {start}-{end}{more}:\n" if lines else f"{path} is empty.\n"
        return ToolResult(head + body, f"{path}: lines {start}-{end} of {len(lines)}")

    def _search(self, args: dict) -> ToolResult:
        pattern = args.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise ToolError("search needs a `pattern` (a regular expression).")
        regex = _search_regex(pattern)
        prefix = clean_path(args["path"]) if args.get("path") not in (None, "", ".") else ""
        hits: list[str] = []
        total = 0
        for path in sorted(self.copy.files):
            if prefix and not (path == prefix or path.startswith(prefix + "/")):
                continue
            for number, line in enumerate(self.copy.files[path].splitlines(), start=1):
                if regex.search(line):
                    total += 1
                    if len(hits) < SEARCH_MAX_HITS:
                        hits.append(f"{path}:{number}: {line[:SEARCH_LINE_CHARS]}")
        if total > len(hits):
            hits.append(f"… {total - len(hits)} more matches; narrow the pattern or path.")
        return ToolResult("\n".join(hits) or "no matches", f"{total} matches")

    def _apply_patch(self, args: dict) -> ToolResult:
        report = patch_apply(self.copy, args.get("patch"))
        return ToolResult("Applied: " + "; ".join(report), "; ".join(report), changed_files=True)

    def _run_command(self, args: dict) -> ToolResult:
        command = args.get("command")
        if not isinstance(command, str) or not command.strip():
            raise ToolError("run_command needs a `command`.")
        result = sandbox.run_command(
            command=command,
            files=dict(self.copy.files),
            cancelled=self.cancelled,
            max_file_bytes=self.copy.max_bytes,
            extras=self.extras,
        )
        folded, refused = [], []
        for path, text in sorted(result.changed.items()):
            try:
                clean = clean_path(path)
                if text is None:
                    self.copy.delete(clean)
                else:
                    self.copy.write(clean, text)
                folded.append(path)
            except ToolError as exc:
                refused.append(f"{path}: {exc}")
        if result.cancelled:
            status = "cancelled"
        elif result.killed:
            status = result.killed  # "killed: the command used more than 1 GiB of memory"
        elif result.timed_out:
            status = "killed: wall-clock limit reached"
        elif result.exit_code is None:
            status = "killed: too much output"
        else:
            status = f"exit code {result.exit_code}"
        parts = [status, result.output + ("\n… (output cut)" if result.truncated else "")]
        if folded:
            parts.append("files changed: " + ", ".join(folded))
        if refused:
            parts.append("changes not kept: " + "; ".join(refused))
        if result.skipped:
            parts.append("ignored: " + ", ".join(result.skipped[:20]))
        short = f"{status}, {len(folded)} files changed"
        return ToolResult("\n".join(parts), short, changed_files=bool(folded))

    def _finish(self, args: dict) -> ToolResult:
        summary = args.get("summary")
        if not isinstance(summary, str):
            summary = ""
        return ToolResult("Finished.", summary.strip()[:4000], finished=True)

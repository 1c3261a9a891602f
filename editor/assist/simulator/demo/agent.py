"""Deep tasks: a tool-calling agent whose every turn follows from the conversation so far.

It keeps no state between requests. Each turn it reads the transcript (what it asked,
what the tools answered), decides the one next step of its plan and says what it is
doing: look (list_files, or search for a rename), read every file the task touches, write
one patch per file (a unified diff computed from the text it read), compile the result
in the sandbox when it may run commands, and finish with a summary. The task kinds are
in `plan_for`; anything else ends at once with a summary saying what the demo can do.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from editor.assist.simulator.demo import jsedits, lint, pyedits, pysource
from editor.assist.simulator.demo.pyedits import CannotEdit
from editor.assist.simulator.demo.quickedit import language
from editor.assist.simulator.demo.requests import AgentTurn, text_of

MAX_FILES = 20
KNOWN_TASKS = (
    "add docstrings to every function, add type hints, rename a name across files "
    "(“rename old_name to new_name”), write a test skeleton for a module (“write tests "
    "for shapes.py”), fix what ruff reports"
)
_RENAME = re.compile(
    r"\brename\s+`?([A-Za-z_]\w*)`?\s+(?:to|as|into|->)\s+`?([A-Za-z_]\w*)`?", re.I
)
_READ_HEAD = re.compile(
    r"\A(?P<path>.+?) lines (?P<a>\d+)-(?P<b>\d+)(?:; the file has (?P<n>\d+) lines)?:\n"
)
_SCOPE = re.compile(r"^Change only files under: (.*)\.$", re.M)


@dataclass
class Call:
    name: str
    args: dict[str, Any]
    result: str | None  # None: not answered yet


@dataclass
class Reply:
    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


def _call(name: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "arguments": json.dumps(args, ensure_ascii=False)}


def transcript(messages: list[dict[str, Any]]) -> list[Call]:
    results = {
        m.get("tool_call_id"): text_of(m.get("content"))
        for m in messages
        if m.get("role") == "tool"
    }
    calls: list[Call] = []
    for message in messages:
        for call in message.get("tool_calls") or [] if message.get("role") == "assistant" else []:
            function = call.get("function") or {}
            try:
                args = json.loads(function.get("arguments") or "{}")
            except ValueError:
                args = {}
            calls.append(
                Call(
                    str(function.get("name")),
                    args if isinstance(args, dict) else {},
                    results.get(call.get("id")),
                )
            )
    return calls


# --- what the task is --------------------------------------------------------------------


@dataclass
class Plan:
    kind: str  # docstrings | hints | rename | tests | ruff | unknown
    steps: list[str]  # for a combined docstrings+hints task
    old: str = ""
    new: str = ""
    module: str = ""

    def describe(self) -> str:
        return {
            "docstrings": "add a docstring to every function and class that lacks one",
            "hints": "add the type hints the code proves",
            "both": "add type hints and docstrings",
            "rename": f"rename `{self.old}` to `{self.new}` everywhere it is used",
            "tests": f"write a test skeleton for {self.module}",
            "ruff": "fix what ruff reports",
        }.get(self.kind, "")


def plan_for(prompt: str, paths: list[str]) -> Plan:
    lowered = prompt.lower()
    rename = _RENAME.search(prompt)
    if rename:
        return Plan("rename", [], old=rename.group(1), new=rename.group(2))
    if re.search(r"\btests?\b|\bunit ?tests?\b|pytest", lowered) and re.search(
        r"\b(write|add|create|skeleton|generate|scaffold)\b", lowered
    ):
        return Plan("tests", [], module=_module_named(prompt, paths))
    if re.search(r"\bruff\b|\blint", lowered):
        return Plan("ruff", [])
    hints = re.search(r"type[- ]?hints?|annotations?|annotate|typing", lowered)
    docs = re.search(r"docstrings?|document", lowered)
    if hints and docs:
        return Plan("both", ["hints", "docstrings"])
    if hints:
        return Plan("hints", ["hints"])
    if docs:
        return Plan("docstrings", ["docstrings"])
    return Plan("unknown", [])


def _module_named(prompt: str, paths: list[str]) -> str:
    python = [p for p in paths if p.endswith(".py") and not _is_test(p)]
    for path in python:
        if path in prompt:
            return path
    for path in python:
        stem = path.rsplit("/", 1)[-1][:-3]
        if stem != "__init__" and re.search(rf"\b{re.escape(stem)}\b", prompt):
            return path
    return python[0] if python else ""


def _is_test(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.startswith("test_") or name.endswith("_test.py") or "/tests/" in f"/{path}"


# --- what the transcript says ------------------------------------------------------------


@dataclass
class State:
    listing: list[str] = field(default_factory=list)
    searched: list[str] | None = None
    reads: dict[str, dict[int, tuple[int, str]]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)
    patched: dict[str, str] = field(default_factory=dict)  # path -> what was done
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    command: tuple[str, str] | None = None

    def text(self, path: str) -> str | None:
        chunks = self.reads.get(path)
        if not chunks:
            return None
        joined, expected = "", 1
        for start in sorted(chunks):
            end, body = chunks[start]
            if start != expected:
                return None
            joined += body
            expected = end + 1
        total = self.totals.get(path)
        return joined if total is None or expected > total else None

    def next_line(self, path: str) -> int:
        chunks = self.reads.get(path) or {}
        return max((end for end, _ in chunks.values()), default=0) + 1


def read_state(calls: list[Call]) -> State:
    state = State()
    for call in calls:
        result = call.result or ""
        if call.name == "list_files" and call.result is not None:
            state.listing = [
                re.sub(r" \(\d+ lines\)$", "", line)
                for line in result.splitlines()
                if not line.startswith("…")
            ]
        elif call.name == "search" and call.result is not None:
            state.searched = sorted(
                {
                    line.split(":", 1)[0]
                    for line in result.splitlines()
                    if re.match(r"[^:]+:\d+: ", line)
                }
            )
        elif call.name == "read_file":
            path = str(call.args.get("path") or "")
            head = _READ_HEAD.match(result)
            if result.startswith(f"{path} is empty."):
                state.reads[path] = {1: (0, "")}
            elif head is None or "… (cut: read a smaller range)" in result:
                state.unreadable[path] = result.splitlines()[0] if result else "no answer"
            else:
                state.reads.setdefault(path, {})[int(head["a"])] = (
                    int(head["b"]),
                    result[head.end() :],
                )
                if head["n"]:
                    state.totals[path] = int(head["n"])
        elif call.name == "apply_patch":
            for path in _patched_paths(str(call.args.get("patch") or "")):
                if result.startswith("Applied"):
                    state.patched[path] = "changed"
                else:
                    state.failed[path] = result[:300]
        elif call.name == "run_command" and call.result is not None:
            state.command = (str(call.args.get("command")), result)
    return state


def _patched_paths(patch: str) -> list[str]:
    paths = re.findall(r"^\+\+\+ b/(.+)$", patch, re.M)
    paths += re.findall(r"^\*\*\* (?:Add|Update) File: (.+)$", patch, re.M)
    return [p.strip() for p in paths]


# --- the next step -----------------------------------------------------------------------


def next_turn(turn: AgentTurn) -> Reply:
    plan = plan_for(turn.prompt, turn.paths)
    calls = transcript(turn.messages)
    state = read_state(calls)
    scope = _scope(turn.messages)
    if plan.kind == "unknown":
        return Reply(
            "This task is not one the demo model knows how to do.",
            [_call("finish", summary=(
                "Nothing changed: Flint's demo model (a simulator, not a real model) does a "
                f"fixed set of tasks: {KNOWN_TASKS}. Connect a real model server to do "
                "anything else (docs/MODELS.md)."))],
        )  # fmt: skip
    # 1. Look.
    if plan.kind == "rename" and state.searched is None:
        return Reply(
            f"I will {plan.describe()}. First, where does `{plan.old}` occur?",
            [_call("search", pattern=rf"\b{plan.old}\b")],
        )
    if plan.kind != "rename" and not any(c.name == "list_files" for c in calls):
        return Reply(f"I will {plan.describe()}. Listing the project first.", [_call("list_files")])
    # 2. Read what the task touches.
    targets = _targets(plan, state, turn.paths)
    for path in targets:
        if state.text(path) is None and path not in state.unreadable:
            start = state.next_line(path)
            args = {"path": path} if start == 1 else {"path": path, "start_line": start}
            return Reply(f"Reading {path}.", [_call("read_file", **args)])
    # 3. Change them, one patch per file.
    if plan.kind == "rename":
        clash = _name_taken(plan, state, targets)
        if clash:
            return Reply("", [_call("finish", summary=clash)])
    if plan.kind == "tests":
        return _tests_turn(plan, state, turn, calls)
    for path in targets:
        if path in state.patched or path in state.failed or _out_of_scope(path, scope):
            continue
        text = state.text(path)
        if text is None:
            continue
        new, done = _change(plan, path, text)
        if new is None or new == text:
            state.skipped[path] = done
            continue
        return Reply(
            f"{path}: {done}.", [_call("apply_patch", patch=unified_diff(path, text, new))]
        )
    # 4. Check the result, then finish.
    return _check_or_finish(plan, state, turn, calls, targets)


def _scope(messages: list[dict[str, Any]]) -> list[str]:
    first = next((text_of(m.get("content")) for m in messages if m.get("role") == "user"), "")
    match = _SCOPE.search(first)
    return [s.strip() for s in match.group(1).split(",")] if match else []


def _out_of_scope(path: str, scope: list[str]) -> bool:
    return bool(scope) and not any(path == s or path.startswith(s.rstrip("/") + "/") for s in scope)


def _targets(plan: Plan, state: State, paths: list[str]) -> list[str]:
    if plan.kind == "rename":
        found = state.searched or []
        return [p for p in found if language(p)][:MAX_FILES]
    if plan.kind == "tests":
        return [plan.module] if plan.module else []
    listing = state.listing or paths
    python = [p for p in listing if p.endswith(".py")]
    if plan.kind != "ruff":
        python = [p for p in python if not _is_test(p)] or python
    return python[:MAX_FILES]


def _name_taken(plan: Plan, state: State, targets: list[str]) -> str:
    for path in targets:
        text = state.text(path) or ""
        if re.search(rf"\b{re.escape(plan.new)}\b", text):
            return (
                f"Nothing changed: `{plan.new}` is already used in {path}, so renaming "
                f"`{plan.old}` to it could change what the code means. Pick another name."
            )
    return ""


def _change(plan: Plan, path: str, text: str) -> tuple[str | None, str]:
    """(new text or None, what was done or why not) for one file."""
    if plan.kind == "rename":
        try:
            if path.endswith(".py"):
                new = pyedits.rename(text, plan.old, plan.new)
            else:
                new = jsedits.rename(text, plan.old, plan.new)
        except CannotEdit as exc:
            return None, str(exc)
        return new, f"renaming `{plan.old}` to `{plan.new}`"
    if plan.kind == "ruff":
        new = lint.fixed(path, text)
        if new is None:
            return None, "ruff cannot run where the demo model runs"
        if new == text:
            return new, "ruff reports nothing here that it can fix safely"
        found = lint.findings(path, text) or []
        codes = sorted({f.code for f in found if f.fixable})
        return new, f"applying ruff's safe fixes ({', '.join(codes)})"
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        return None, f"it does not parse ({exc.msg}, line {exc.lineno})"
    done = []
    for step in plan.steps:
        try:
            if step == "hints":
                text = pyedits.add_type_hints(text, tree)
                done.append("adding the type hints its code proves")
            else:
                text = pyedits.add_docstrings(text, tree)
                missing = sum(
                    1
                    for n in ast.walk(tree)
                    if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                    and not pysource.has_docstring(n)
                )
                done.append(f"adding docstrings to {missing} functions and classes")
        except CannotEdit as exc:
            done.append(str(exc))
        tree = ast.parse(text)
    return text, "; ".join(done)


def unified_diff(path: str, old: str, new: str) -> str:
    old = old if old.endswith("\n") or not old else old + "\n"
    new = new if new.endswith("\n") or not new else new + "\n"
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
    )
    return "".join(lines)


def _tests_turn(plan: Plan, state: State, turn: AgentTurn, calls: list[Call]) -> Reply:
    if not plan.module:
        return Reply(
            "",
            [_call("finish", summary="Nothing changed: the project has no Python module to test.")],
        )
    test_path = _test_path(plan.module, state.listing or turn.paths)
    if test_path not in state.patched and test_path not in state.failed:
        text = state.text(plan.module) or ""
        try:
            skeleton = test_skeleton(plan.module, text)
        except SyntaxError as exc:
            return Reply(
                "",
                [
                    _call(
                        "finish",
                        summary=f"Nothing changed: {plan.module} does not parse ({exc.msg}).",
                    )
                ],
            )
        body = "".join(f"+{line}\n" for line in skeleton.splitlines())
        patch = f"*** Begin Patch\n*** Add File: {test_path}\n{body}*** End Patch"
        return Reply(
            f"Writing {test_path}: a skipped test per public function and method of {plan.module}.",
            [_call("apply_patch", patch=patch)],
        )
    return _check_or_finish(plan, state, turn, calls, [test_path])


def _test_path(module: str, listing: list[str]) -> str:
    stem = module.rsplit("/", 1)[-1][:-3]
    if stem == "__init__":
        stem = module.rsplit("/", 2)[-2] if "/" in module else "package"
    path = f"tests/test_{stem}.py"
    return path if path not in listing else f"tests/test_{stem}_skeleton.py"


def module_name(path: str) -> str:
    dotted = path[4:] if path.startswith("src/") else path
    dotted = dotted[:-3].replace("/", ".")
    return dotted[: -len(".__init__")] if dotted.endswith(".__init__") else dotted


def test_skeleton(path: str, text: str) -> str:
    """A pytest module: one test per public function and method, each calling it with
    placeholders (`...`) and skipped until someone writes the real case."""
    tree = ast.parse(text)
    names, tests = [], []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith(
            "_"
        ):
            names.append(node.name)
            args = ", ".join(f"{a.arg}=..." for a in pysource.parameters(node))
            tests.append(
                (node.name, f"{node.name}({args})", isinstance(node, ast.AsyncFunctionDef))
            )
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            names.append(node.name)
            init = next(
                (n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"),
                None,
            )
            init_args = pysource.parameters(init) if init else []
            made = f"{node.name}({', '.join(f'{a.arg}=...' for a in init_args)})"
            methods = [
                n
                for n in node.body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                and not n.name.startswith("_")
            ]
            if not methods:
                tests.append(
                    (
                        f"{'_'.join(pysource.words(node.name)) or node.name}_is_made",
                        made,
                        False,
                    )
                )
            for method in methods:
                args = ", ".join(f"{a.arg}=..." for a in pysource.parameters(method))
                name = "_".join(pysource.words(node.name)) + "_" + method.name
                tests.append(
                    (
                        name,
                        f"{made}.{method.name}({args})",
                        isinstance(method, ast.AsyncFunctionDef),
                    )
                )
    lines = [
        f'"""Tests for {module_name(path)}: a skeleton from Flint\'s demo model.',
        "",
        "Each test is skipped until its `...` placeholders are replaced by real values",
        'and an expected result."""',
        "",
        "import pytest",
        "",
    ]
    if names:
        lines += [f"from {module_name(path)} import {', '.join(sorted(names, key=str.lower))}", ""]
    for name, expression, is_async in tests:
        call = f"await {expression}" if is_async else expression
        lines += [
            "",
            '@pytest.mark.skip(reason="skeleton: fill in the arguments and the expected result")',
            f"{'async ' if is_async else ''}def test_{name}():",
            f"    assert {call} == ...",
        ]
    if not tests:
        lines += ["", "def test_module_imports():", f"    import {module_name(path)}  # noqa: F401"]
    return "\n".join(lines) + "\n"


def _check_or_finish(
    plan: Plan, state: State, turn: AgentTurn, calls: list[Call], targets: list[str]
) -> Reply:
    changed = [p for p in state.patched if p.endswith(".py")]
    if changed and state.command is None and "run_command" in turn.tools:
        command = (
            "python3 -m py_compile " + " ".join(_quote(p) for p in changed) + " && echo compiled"
        )
        return Reply(
            "Checking that every changed file still compiles.",
            [_call("run_command", command=command)],
        )
    return Reply("", [_call("finish", summary=_summary(plan, state, targets))])


def _quote(path: str) -> str:
    return path if re.fullmatch(r"[\w./-]+", path) else "'" + path.replace("'", "'\\''") + "'"


def _summary(plan: Plan, state: State, targets: list[str]) -> str:
    lines = [f"Demo model: {plan.describe()}."]
    if state.patched:
        count = len(state.patched)
        lines.append(
            f"Changed {count} file{'s' if count > 1 else ''}: {', '.join(sorted(state.patched))}."
        )
    else:
        lines.append("Changed no files.")
    for path, why in sorted(state.skipped.items()):
        lines.append(f"Left {path} as it was: {why}.")
    for path, why in sorted(state.failed.items()):
        lines.append(f"Could not patch {path}: {why}")
    for path, why in sorted(state.unreadable.items()):
        lines.append(f"Could not read {path}: {why}")
    if plan.kind == "rename" and not targets:
        lines.append(f"`{plan.old}` occurs in no Python or JavaScript file.")
    if state.command is not None:
        status = state.command[1].splitlines()[0] if state.command[1] else ""
        verdict = (
            "they compile"
            if status == "exit code 0"
            else f"the check said: {state.command[1][:300]}"
        )
        lines.append(f"Checked with `{state.command[0]}`: {verdict}.")
    return " ".join(lines)

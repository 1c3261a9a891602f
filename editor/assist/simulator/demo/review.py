"""Review: comments anchored to lines, from static analysis of the files sent.

Python files get ruff's findings, functions and classes without a docstring, and
functions longer than LONG_FUNCTION lines. The answer is the JSON list the review tier
asks for ({path, line, severity, body}); every comment says it came from the demo model.
"""

from __future__ import annotations

import ast
import json

from editor.assist.simulator.demo import lint, pysource
from editor.assist.simulator.demo.requests import Review

LONG_FUNCTION = 40
MAX_PER_FILE = 40
# ruff codes worth more than a note: names that do not exist, syntax, mutable defaults.
_ERRORS = {"F821", "F822", "F823", "E999", "F811"}
_WARNINGS_PREFIX = ("F", "B", "E7", "E9")
SOURCE = "(demo model: static analysis)"


def _severity(code: str) -> str:
    if code in _ERRORS or code.startswith("E9"):
        return "error"
    if code.startswith(_WARNINGS_PREFIX):
        return "warning"
    return "info"


def _python_comments(path: str, text: str) -> list[dict]:
    comments: list[dict] = []
    found = lint.findings(path, text)
    if found is None:
        body = (
            "ruff is not installed where the demo model runs, so only docstrings and "
            f"function length were checked. {SOURCE}"
        )
        comments.append({"path": path, "line": 1, "severity": "info", "body": body})
    for finding in found or []:
        fix = " ruff can fix this (`ruff check --fix`)." if finding.fixable else ""
        comments.append({
            "path": path, "line": finding.line, "severity": _severity(finding.code),
            "body": f"ruff {finding.code}: {finding.message}.{fix} {SOURCE}",
        })  # fmt: skip
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return comments  # ruff reported the syntax error
    for node in ast.walk(tree):
        definition = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        if definition and not pysource.has_docstring(node) and not node.name.startswith("_"):
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
            body = (
                f"The {kind} `{node.name}` has no docstring: say what it is for (select it, "
                f"Ctrl-K, “add a docstring”). {SOURCE}"
            )
            comments.append({"path": path, "line": node.lineno, "severity": "info", "body": body})
    for function, length in pysource.long_functions(tree, LONG_FUNCTION):
        comments.append({
            "path": path, "line": function.lineno, "severity": "warning",
            "body": f"`{function.name}` is {length} lines long (over {LONG_FUNCTION}): split "
                    f"it into smaller functions that each do one thing. {SOURCE}",
        })  # fmt: skip
    comments.sort(key=lambda c: c["line"])
    return comments[:MAX_PER_FILE]


def review(request: Review) -> str:
    comments: list[dict] = []
    for path, text in request.files.items():
        if path.endswith((".py", ".pyi")):
            comments.extend(_python_comments(path, text))
    return json.dumps(comments, indent=1, ensure_ascii=False)

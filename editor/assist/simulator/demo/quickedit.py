"""Quick edit: the instructions the demo model knows, done on the selection.

The answer is the new code alone, as the edit prompt asks. When the demo model cannot do
(all of) what was asked, it answers the code in a fence followed by a note saying why
and what it knows; the room page shows the note under the proposed diff.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from editor.assist.simulator.demo import jsedits, pyedits
from editor.assist.simulator.demo.pyedits import CannotEdit
from editor.assist.simulator.demo.requests import Edit

KNOWN = (
    "add docstrings, add type hints (where the code proves them), rename `old` to `new`, "
    "convert %-formatting and .format() to f-strings, sort imports, wrap in try/except "
    "with logging, remove comments (Python; for JavaScript: docstrings as JSDoc, rename, "
    "remove comments)"
)
NOTE_HEAD = "Demo model:"
_RENAME = re.compile(r"\brename\s+`?([\w$]+)`?\s+(?:to|as|into|->)\s+`?([\w$]+)`?", re.I)


@dataclass
class Step:
    name: str
    python: Callable[[str, Edit], str] | None
    javascript: Callable[[str, Edit], str] | None


def _python(edit: Callable) -> Callable[[str, Edit], str]:
    return lambda text, request: pyedits.on_fragment(text, edit)


def _rename_py(text: str, request: Edit) -> str:
    old, new = _RENAME.search(request.instruction).groups()  # type: ignore[union-attr]
    pyedits.check_identifier(new)
    return pyedits.rename(text, old, new)


def _rename_js(text: str, request: Edit) -> str:
    old, new = _RENAME.search(request.instruction).groups()  # type: ignore[union-attr]
    return jsedits.rename(text, old, new)


def _wrap(text: str, request: Edit) -> str:
    context = request.before + "\n" + request.after
    return pyedits.on_fragment(text, lambda s, t: pyedits.wrap_try(s, t, context=context))


# Order matters when one instruction asks for several: hints before docstrings, imports
# sorted last; each step works on the previous one's output.
_STEPS: list[tuple[re.Pattern[str], Step]] = [
    (re.compile(r"(remove|delete|strip|drop)\b.*\bcomments?", re.I),
     Step("remove comments", lambda t, r: pyedits.remove_comments(t),
          lambda t, r: jsedits.remove_comments(t))),
    (_RENAME, Step("rename", _rename_py, _rename_js)),
    (re.compile(r"f-?strings?|\bformat strings?", re.I),
     Step("f-strings", _python(pyedits.to_fstrings), None)),
    (re.compile(r"type[- ]?hints?|type annotations?|annotate|\btyping\b|\badd types\b", re.I),
     Step("type hints", _python(pyedits.add_type_hints), None)),
    (re.compile(r"docstrings?|jsdoc|document|doc comments?", re.I),
     Step("docstrings", _python(pyedits.add_docstrings), lambda t, r: jsedits.add_jsdoc(t))),
    (re.compile(r"\btry\b|\bexcept|error handling|exceptions?|\bcatch\b", re.I),
     Step("try/except", _wrap, None)),
    (re.compile(r"(sort|order|organi[sz]e)\b.*\bimports?|\bimports?\b.*\bsort|isort", re.I),
     Step("sort imports", _python(pyedits.sort_imports), None)),
]  # fmt: skip


def language(path: str) -> str:
    lowered = path.lower()
    if lowered.endswith((".py", ".pyi")):
        return "python"
    if lowered.endswith((".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx")):
        return "javascript"
    return ""


def quick_edit(request: Edit) -> str:
    lang = language(request.path)
    steps = [step for pattern, step in _STEPS if pattern.search(request.instruction)]
    if not steps:
        return with_note(
            request,
            request.selection,
            f"this instruction is not one the demo model knows. It can: {KNOWN}. "
            "A real model (docs/MODELS.md) can do anything you ask.",
        )
    text, problems = request.selection, []
    for step in steps:
        do = step.python if lang == "python" else step.javascript if lang else None
        if do is None:
            problems.append(f"{step.name}: not for {lang or 'this kind of'} file")
            continue
        try:
            text = do(text, request)
        except CannotEdit as exc:
            problems.append(f"{step.name}: {exc}")
    if not problems:
        return text
    return with_note(request, text, "; ".join(problems) + f". It knows how to: {KNOWN}.")


def with_note(request: Edit, code: str, note: str) -> str:
    fence = "```" + language(request.path)
    body = code[:-1] if code.endswith("\n") else code
    return f"{fence}\n{body}\n```\n\n{NOTE_HEAD} {note}"

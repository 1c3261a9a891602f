"""Q&A: the project's lines that match the question, quoted with paths and line numbers.

The demo model does not reason; it retrieves. Each line of the files in the prompt (the
open file and the files Flint's retrieval picked) is scored by the question's words
(identifiers split like retrieval.terms: `parseHeader` also counts as parse, header);
a definition of a word asked about counts most and is quoted whole (up to a screenful).
"""

from __future__ import annotations

import re

from editor.assist.retrieval import terms
from editor.assist.simulator.demo.requests import Question

MAX_PLACES = 4
MAX_QUOTE_LINES = 14
_DEFINITION = re.compile(
    r"^\s*(?:async\s+)?(?:def|class|function|const|let|var|export\s+(?:default\s+)?"
    r"(?:function|class|const))\s+([A-Za-z_$][\w$]*)"
    r"|^([A-Za-z_][\w]*)\s*(?::[^=]+)?=[^=]"
)
_FENCES = {
    ".py": "python", ".js": "javascript", ".ts": "typescript", ".md": "markdown",
    ".html": "html", ".css": "css", ".json": "json", ".toml": "toml", ".sh": "sh",
}  # fmt: skip
HEADER = (
    "*Retrieved by the demo model* (Flint's simulator): it quotes the places in this project "
    "that match your question; it does not reason about them."
)


def _fence(path: str) -> str:
    for ending, name in _FENCES.items():
        if path.endswith(ending):
            return name
    return ""


def _block_end(lines: list[str], start: int) -> int:
    """The last line (0-based) of the definition starting at `start`: until the indent
    drops back, at most MAX_QUOTE_LINES lines."""
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start
    for i in range(start + 1, min(len(lines), start + MAX_QUOTE_LINES)):
        line = lines[i]
        if (
            line.strip()
            and len(line) - len(line.lstrip()) <= indent
            and not line.strip().startswith((")", "]", "}"))
        ):
            break
        if line.strip():
            end = i
        if line.strip() in ("}", "};") and len(line) - len(line.lstrip()) == indent:
            end = i
            break
    return end


def answer(question: Question) -> str:
    wanted = set(terms(question.question + " " + question.selection))
    if not wanted:
        return (
            f"{HEADER}\n\nYour question has no words to look for. Ask about a function, a "
            "class or a file by name, e.g. “where is `area` computed?”."
        )
    scored: list[tuple[float, str, int, int, str]] = []
    for path, text in question.files.items():
        lines = text.split("\n")
        path_bonus = 0.5 if wanted & set(terms(path)) else 0.0
        for number, line in enumerate(lines):
            found = wanted & set(terms(line))
            if not found:
                continue
            score = len(found) + path_bonus
            definition = _DEFINITION.match(line)
            name = definition and (definition.group(1) or definition.group(2))
            end = number
            if name and name.lower() in wanted:
                score += 3
                end = _block_end(lines, number)
            scored.append((score, path, number, end, name or ""))
    if not scored:
        looked = ", ".join(f"`{t}`" for t in sorted(wanted)[:8])
        return (
            f"{HEADER}\n\nNothing in the files I was given mentions {looked}. Ask about a "
            "name that appears in the project (a function, a class, a file), or open the "
            "file you mean so it is sent with the question."
        )
    scored.sort(key=lambda s: (-s[0], s[1], s[2]))
    places: list[tuple[float, str, int, int, str]] = []
    for item in scored:
        if any(p[1] == item[1] and p[2] - 2 <= item[2] <= p[3] + 2 for p in places):
            continue  # inside or next to a place already quoted
        places.append(item)
        if len(places) == MAX_PLACES:
            break
    out = [HEADER, "", f"Looked for: {', '.join(f'`{t}`' for t in sorted(wanted)[:8])}."]
    for _, path, start, end, name in places:
        lines = question.files[path].split("\n")
        first, last = (
            (start, end) if end > start else (max(0, start - 1), min(len(lines) - 1, start + 1))
        )
        span = f"lines {start + 1}-{end + 1}" if end > start else f"line {start + 1}"
        what = f" — where `{name}` is defined" if name and end > start else ""
        quote = "\n".join(lines[first : last + 1]).strip("\n")
        out += ["", f"**{path}, {span}**{what}:", f"```{_fence(path)}", quote, "```"]
    return "\n".join(out)

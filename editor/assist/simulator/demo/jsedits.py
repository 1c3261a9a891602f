"""The few JavaScript edits that are cheap to do correctly without a JS parser.

A small scanner tells code from strings, template literals, regular expression literals
and comments; the edits only touch code: remove comments, rename a name, add a JSDoc
block above each `function name(…)` declaration that has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from editor.assist.simulator.demo.pyedits import CannotEdit
from editor.assist.simulator.demo.pysource import words

_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_KEYWORDS_BEFORE_REGEX = {
    "return",
    "typeof",
    "case",
    "do",
    "else",
    "in",
    "of",
    "new",
    "delete",
    "void",
    "throw",
}
_FUNCTION = re.compile(
    r"^(?P<indent>[ \t]*)(?:export\s+(?:default\s+)?)?(?:async\s+)?function\s*\*?\s*"
    r"(?P<name>[A-Za-z_$][\w$]*)\s*\((?P<params>[^)]*)\)",
    re.M,
)


@dataclass
class Piece:
    kind: str  # code | string | comment
    text: str
    start: int


def scan(source: str) -> list[Piece]:
    pieces: list[Piece] = []
    i, code_start, n = 0, 0, len(source)
    last_significant = ""

    def flush(end: int) -> None:
        if end > code_start:
            pieces.append(Piece("code", source[code_start:end], code_start))

    while i < n:
        char, pair = source[i], source[i : i + 2]
        if pair in ("//", "/*"):
            flush(i)
            end = source.find("\n", i) if pair == "//" else source.find("*/", i + 2)
            end = n if end < 0 else (end if pair == "//" else end + 2)
            pieces.append(Piece("comment", source[i:end], i))
            i = code_start = end
            continue
        regex = char == "/" and (
            last_significant == "" or last_significant in "(,=:[!&|?{};+-*%<>~^"
        )
        if char in "'\"`" or regex:
            flush(i)
            end = _string_end(source, i, "/" if regex else char)
            pieces.append(Piece("string", source[i:end], i))
            i = code_start = end
            last_significant = "a"
            continue
        if not char.isspace():
            word = _IDENT.match(source, i)
            if word:
                last_significant = "(" if word.group(0) in _KEYWORDS_BEFORE_REGEX else "a"
                i = word.end()
                continue
            last_significant = char
        i += 1
    flush(n)
    return pieces


def _string_end(source: str, start: int, quote: str) -> int:
    i, n, in_class = start + 1, len(source), False
    while i < n:
        char = source[i]
        if char == "\\":
            i += 2
            continue
        if quote == "/" and char == "[":
            in_class = True
        elif quote == "/" and char == "]":
            in_class = False
        elif char == quote and not in_class:
            end = i + 1
            if quote == "/":
                while end < n and source[end].isalpha():
                    end += 1  # flags
            return end
        elif char == "\n" and quote in "'\"/":
            return i  # unterminated: stop at the line end
        i += 1
    return n


def remove_comments(source: str) -> str:
    comments = [p for p in scan(source) if p.kind == "comment"]
    if not comments:
        raise CannotEdit("there are no comments to remove")
    out = source
    for comment in reversed(comments):
        start, end = comment.start, comment.start + len(comment.text)
        line_start = out.rfind("\n", 0, start) + 1
        line_end = out.find("\n", end)
        line_end = len(out) if line_end < 0 else line_end
        if not out[line_start:start].strip() and not out[end:line_end].strip():
            out = out[:line_start] + out[min(len(out), line_end + 1) :]  # the whole line
        else:
            kept = out[:start].rstrip(" \t")
            out = kept + out[end:]
    return out


def rename(source: str, old: str, new: str) -> str:
    if not _IDENT.fullmatch(new):
        raise CannotEdit(f"{new!r} is not a valid JavaScript name")
    pattern = re.compile(rf"(?<![\w$.]){re.escape(old)}(?![\w$])|(?<=\.){re.escape(old)}(?![\w$])")
    count = 0
    out = []
    for piece in scan(source):
        if piece.kind == "code":
            text, found = pattern.subn(new, piece.text)
            count += found
            out.append(text)
        elif piece.kind == "string" and piece.text.startswith("`"):
            text, found = re.subn(
                r"\$\{([^}]*)\}", lambda m: "${" + pattern.sub(new, m.group(1)) + "}", piece.text
            )
            count += piece.text != text
            out.append(text)
        else:
            out.append(piece.text)
    if not count:
        raise CannotEdit(f"the name {old!r} does not occur in the code")
    return "".join(out)


def add_jsdoc(source: str) -> str:
    code_only = "".join(p.text if p.kind == "code" else " " * len(p.text) for p in scan(source))
    inserts = []
    for match in _FUNCTION.finditer(code_only):
        before = source[: match.start()].rstrip()
        if before.endswith("*/"):
            continue  # documented already
        indent, name = match["indent"], match["name"]
        params = [p.strip().split("=")[0].strip() for p in match["params"].split(",") if p.strip()]
        sentence = " ".join(words(name)) or name
        lines = [f"{indent}/**", f"{indent} * {sentence[0].upper()}{sentence[1:]}."]
        for param in params:
            shown = param.lstrip(".")
            lines.append(f"{indent} * @param {shown} {' '.join(words(shown)) or shown}.")
        lines.append(f"{indent} */")
        inserts.append((match.start(), "\n".join(lines) + "\n"))
    if not inserts:
        raise CannotEdit("there is no undocumented `function name(…)` declaration in the selection")
    out = source
    for at, text in reversed(inserts):
        out = out[:at] + text + out[at:]
    return out

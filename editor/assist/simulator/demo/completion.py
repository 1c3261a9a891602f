"""Inline completion from the project's own code: what followed the same tokens elsewhere.

The corpus is what the prompt carries: the file around the cursor and the snippets of
the other open files. The last few tokens before the cursor are looked up in it (the
longest context that occurs wins, the most frequent continuation after it, the nearest
one on a tie), and the rest of that line is offered. A word being typed is completed to
an identifier of the project first. On an empty line, the line that followed the same
previous line elsewhere is offered. Nothing matches: nothing is offered (an empty
answer), never invented text.
"""

from __future__ import annotations

import re
from collections import Counter

from editor.assist.simulator.demo.requests import Completion

_TOKEN = re.compile(r"[A-Za-z_$][\w$]*|\d[\w.]*|\S")
_MAX_CONTEXT = 6
_MAX_CHARS = 160


def complete(request: Completion) -> str:
    prefix, suffix = request.prefix, request.suffix
    line_before = prefix[prefix.rfind("\n") + 1 :]
    line_after = suffix.split("\n", 1)[0]
    # Sources: the other open files, then the file itself minus the spot being typed.
    sources = [*request.snippets.values(), prefix, suffix]
    continued = line_before.strip()
    text = _continue_line(prefix, sources) if continued else _next_line(prefix, sources)
    text = text[:_MAX_CHARS]
    if line_after.strip() and text.rstrip().endswith(line_after.strip()):
        text = text.rstrip()[: -len(line_after.strip())]  # the rest is already there
    if text.strip() and suffix.startswith(text):
        return ""
    return text


def _tokens(text: str) -> list[re.Match[str]]:
    return list(_TOKEN.finditer(text))


def _continue_line(prefix: str, sources: list[str]) -> str:
    before = _tokens(prefix)
    partial = ""
    if before and before[-1].end() == len(prefix) and re.match(r"[\w$]", before[-1].group()):
        partial = before[-1].group()  # a word being typed
        before = before[:-1]
    context = [m.group() for m in before[-_MAX_CONTEXT:]]
    for size in range(len(context), -1, -1):
        wanted = context[len(context) - size :]
        if size == 0 and not partial:
            break
        found = _continuations(wanted, partial, sources, own_end=len(prefix))
        if found:
            return _balanced(found, _open_brackets(prefix[prefix.rfind("\n") + 1 :]))
    return ""


_OPENERS, _CLOSERS = "([{", ")]}"


def _open_brackets(line: str) -> int:
    depth = 0
    for char in line:
        if char in _OPENERS:
            depth += 1
        elif char in _CLOSERS and depth:
            depth -= 1
    return depth


def _balanced(rest: str, open_here: int) -> str:
    """The continuation cut where it would close a bracket the cursor's line never
    opened, or go on to the next argument of a call the cursor is not in: the match came
    from inside a call elsewhere (`f(self.subtotal(), code)`), the cursor is not."""
    depth = 0
    for index, char in enumerate(rest):
        if char in _OPENERS:
            depth += 1
        elif char in _CLOSERS:
            if depth == 0:
                if open_here == 0:
                    return rest[:index].rstrip()
                open_here -= 1
            else:
                depth -= 1
        elif char == "," and depth == 0 and open_here == 0:
            return rest[:index].rstrip()
    return rest


def _continuations(
    wanted: list[str], partial: str, sources: list[str], *, own_end: int
) -> str | None:
    counts: Counter[str] = Counter()
    last_seen: dict[str, int] = {}
    order = 0
    for index, source in enumerate(sources):
        tokens = _tokens(source)
        texts = [t.group() for t in tokens]
        for i in range(len(wanted), len(tokens)):
            if texts[i - len(wanted) : i] != wanted:
                continue
            token = tokens[i]
            if partial and not (token.group().startswith(partial) and token.group() != partial):
                continue
            if not partial and index == len(sources) - 2 and token.start() >= own_end:
                continue
            if not wanted and not partial:
                continue
            start = token.start() + len(partial)
            end = source.find("\n", start)
            rest = source[start : len(source) if end < 0 else end].rstrip()
            if partial and len(wanted) < 2:
                rest = token.group()[len(partial) :]  # little context: only finish the word
            if not rest.strip() and not partial:
                continue
            order += 1
            counts[rest] += 1
            last_seen[rest] = order
    if not counts:
        return None
    # Most frequent; ties go to the one seen last (the cursor's own file comes last).
    return max(counts, key=lambda r: (counts[r], last_seen[r]))


def _next_line(prefix: str, sources: list[str]) -> str:
    lines = prefix.split("\n")
    indent = lines[-1]
    previous = next((line.strip() for line in reversed(lines[:-1]) if line.strip()), "")
    if not previous:
        return ""
    counts: Counter[str] = Counter()
    for source in sources[:-1]:  # not the text after the cursor: it is already there
        source_lines = source.split("\n")
        for i, line in enumerate(source_lines[:-1]):
            if line.strip() != previous:
                continue
            follower = next((s for s in source_lines[i + 1 :] if s.strip()), "")
            if follower:
                counts[follower.strip()] += 1
    if not counts:
        return ""
    best = max(counts, key=lambda line: counts[line])
    return best if indent.strip() == "" else ""

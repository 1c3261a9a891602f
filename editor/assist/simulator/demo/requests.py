"""What Flint asked: the feature behind a chat request, and the parts of its prompt.

The demo model reads the same messages a real model gets (editor/assist/prompts.py,
editor/agents/loop.py and review.py build them); tests/assist/demo/test_requests.py
builds each with Flint's own prompt builders, so a change there that this parser does
not follow fails a test instead of silently turning the demo into a different feature.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

COMPLETION_MARK = "inline code completion engine"
EDIT_MARK = "You rewrite the selected code as the instruction says"
QA_MARK = "You answer questions about the code in this room's project"
AGENT_MARK = "Flint's deep coding agent"
REVIEW_MARK = "You are a careful code reviewer"

_EDIT = re.compile(
    r"\AFile: (?P<path>[^\n]*)\n<before>\n(?P<before>.*?)</before>\n<selection>\n"
    r"(?P<selection>.*)\n</selection>\n<after>\n(?P<after>.*)</after>\nInstruction: "
    r"(?P<instruction>.*)\Z",
    re.S,
)
_SNIPPET = re.compile(r'<snippet path="(?P<path>[^"]*)">\n(?P<text>.*?)\n</snippet>\n', re.S)
_FILE_HEAD = re.compile(r'<file path="(?P<path>[^"]*)">\n')
_CONTEXT_FILE = re.compile(
    r'<(?P<tag>open_file|file) path="(?P<path>[^"]*)">\n(?P<text>.*?)\n</(?P=tag)>', re.S
)
_NUMBERED = re.compile(r"^\s*(\d+) (.*)$")


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


@dataclass
class Completion:
    path: str
    prefix: str
    suffix: str
    snippets: dict[str, str]


@dataclass
class Edit:
    path: str
    before: str
    selection: str
    after: str
    instruction: str


@dataclass
class Question:
    question: str
    selection: str
    path: str
    files: dict[str, str]  # path -> text (the open file first)


@dataclass
class Review:
    files: dict[str, str]


@dataclass
class AgentTurn:
    messages: list[dict[str, Any]]
    tools: list[str]
    prompt: str = ""
    paths: list[str] = field(default_factory=list)


def _system(messages: list[dict[str, Any]]) -> str:
    return "\n".join(text_of(m.get("content")) for m in messages if m.get("role") == "system")


def _last_user(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def classify(
    messages: list[dict[str, Any]], tools: list[str]
) -> Completion | Edit | Question | Review | AgentTurn | None:
    """The request as one of the features Flint has, or None for anything else."""
    system = _system(messages)
    if AGENT_MARK in system:
        return _agent(messages, tools)
    user = _last_user(messages)
    if COMPLETION_MARK in system:
        return _completion(user)
    if EDIT_MARK in system:
        return _edit(user)
    if QA_MARK in system:
        return _question(system, user)
    if REVIEW_MARK in system:
        return Review(files=parse_numbered(user))
    return None


def _completion(user: str) -> Completion | None:
    snippets = {m["path"]: m["text"] for m in _SNIPPET.finditer(user)}
    heads = list(_FILE_HEAD.finditer(user))
    if not heads or "<CURSOR>" not in user:
        return None
    head = heads[-1]
    body = user[head.end() :]
    body = body[: -len("\n</file>")] if body.endswith("\n</file>") else body
    prefix, _, suffix = body.partition("<CURSOR>")
    return Completion(path=head["path"], prefix=prefix, suffix=suffix, snippets=snippets)


def _edit(user: str) -> Edit | None:
    match = _EDIT.match(user)
    if match is None:
        return None
    return Edit(**match.groupdict())


def _question(system: str, user: str) -> Question:
    question = user.rsplit("Question: ", 1)[-1].strip()
    selection = ""
    selected = re.match(r"\ASelected in (?P<path>.*?):\n```\n(?P<text>.*?)\n```\n", user, re.S)
    if selected:
        selection = selected["text"]
    files: dict[str, str] = {}
    path = ""
    for match in _CONTEXT_FILE.finditer(system):
        files[match["path"]] = match["text"]
        if match["tag"] == "open_file":
            path = match["path"]
    return Question(question=question, selection=selection, path=path, files=files)


def parse_numbered(user: str) -> dict[str, str]:
    """The review prompt's files ("=== path" then numbered lines) back as plain text."""
    files: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in user.splitlines():
        if line.startswith("=== "):
            current = files.setdefault(line[4:].strip(), [])
            continue
        numbered = _NUMBERED.match(line)
        if current is not None and numbered:
            current.append(numbered.group(2))
        elif current is not None and re.fullmatch(r"\s*\d+", line):
            current.append("")  # an empty source line: the number and nothing after it
    return {path: "\n".join(lines) + ("\n" if lines else "") for path, lines in files.items()}


def _agent(messages: list[dict[str, Any]], tools: list[str]) -> AgentTurn:
    first_user = next((text_of(m.get("content")) for m in messages if m.get("role") == "user"), "")
    prompt, _, listing = first_user.partition("\nThe project has ")
    paths = [line.strip() for line in listing.splitlines()[1:] if line.strip()]
    prompt = re.sub(r"\nChange only files under: .*$", "", prompt.strip(), flags=re.M).strip()
    return AgentTurn(messages=messages, tools=tools, prompt=prompt, paths=paths)

"""Parsing `assist.*` messages from the room socket (docs/PROTOCOL.md): bad input → invalid."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from editor.assist import errors
from editor.assist.errors import ModelError

_REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_CODE_CHARS = 400_000  # a prefix or suffix: far more than any model context
MAX_SELECTION_CHARS = 200_000
MAX_INSTRUCTION_CHARS = 4_000
MAX_QUESTION_CHARS = 8_000
MAX_SNIPPETS = 8
MAX_SNIPPET_CHARS = 20_000
MAX_ANCHOR_CHARS = 4_000


def _invalid(message: str) -> ModelError:
    return ModelError(errors.INVALID, message)


def request_id_of(content: dict[str, Any]) -> str:
    value = content.get("request_id")
    if not isinstance(value, str) or not _REQUEST_ID.match(value):
        raise _invalid("request_id must be 1 to 64 letters, digits or _.:-")
    return value


def _text(content: dict[str, Any], name: str, limit: int, *, required: bool = False) -> str:
    value = content.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _invalid(f"{name} must be text.")
    if required and not value.strip():
        raise _invalid(f"{name} is empty.")
    if len(value) > limit:
        raise _invalid(f"{name} is too long ({len(value):,} characters; at most {limit:,}).")
    return value


def _tier(content: dict[str, Any]) -> str | None:
    tier = content.get("tier")
    if tier is not None and not isinstance(tier, str):
        raise _invalid("tier must be text.")
    return tier


@dataclass
class CompleteRequest:
    request_id: str
    path: str
    prefix: str
    suffix: str
    snippets: list[dict[str, str]] = field(default_factory=list)
    tier: str | None = None


@dataclass
class EditRequest:
    request_id: str
    path: str
    selection: str
    instruction: str
    before: str
    after: str
    anchor: Any = None
    tier: str | None = None


@dataclass
class AskRequest:
    request_id: str
    question: str
    path: str
    open_text: str
    selection: str
    tier: str | None = None


def parse_complete(content: dict[str, Any]) -> CompleteRequest:
    snippets = content.get("snippets") or []
    if not isinstance(snippets, list) or len(snippets) > MAX_SNIPPETS:
        raise _invalid(f"snippets must be a list of at most {MAX_SNIPPETS}.")
    parsed = []
    for snippet in snippets:
        if not isinstance(snippet, dict):
            raise _invalid("each snippet is {path, text}.")
        parsed.append(
            {
                "path": _text(snippet, "path", 1024),
                "text": _text(snippet, "text", MAX_SNIPPET_CHARS),
            }
        )
    return CompleteRequest(
        request_id=request_id_of(content),
        path=_text(content, "path", 1024),
        prefix=_text(content, "prefix", MAX_CODE_CHARS),
        suffix=_text(content, "suffix", MAX_CODE_CHARS),
        snippets=parsed,
        tier=_tier(content),
    )


def parse_edit(content: dict[str, Any]) -> EditRequest:
    anchor = content.get("anchor")
    if anchor is not None and len(repr(anchor)) > MAX_ANCHOR_CHARS:
        raise _invalid("anchor is too large.")
    return EditRequest(
        request_id=request_id_of(content),
        path=_text(content, "path", 1024),
        selection=_text(content, "selection", MAX_SELECTION_CHARS),
        instruction=_text(content, "instruction", MAX_INSTRUCTION_CHARS, required=True),
        before=_text(content, "before", MAX_CODE_CHARS),
        after=_text(content, "after", MAX_CODE_CHARS),
        anchor=anchor,
        tier=_tier(content),
    )


def parse_ask(content: dict[str, Any]) -> AskRequest:
    return AskRequest(
        request_id=request_id_of(content),
        question=_text(content, "question", MAX_QUESTION_CHARS, required=True),
        path=_text(content, "path", 1024),
        open_text=_text(content, "file_text", MAX_CODE_CHARS),
        selection=_text(content, "selection", MAX_SELECTION_CHARS),
        tier=_tier(content),
    )

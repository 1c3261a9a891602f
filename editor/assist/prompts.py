"""Prompts for inline completion, quick edit and Q&A, trimmed to fit the model's context.

Trimming keeps what matters most near the cursor: snippets of other files go first, then
the far ends of the prefix and suffix. What was cut is reported (`notes`) so the UI can
say so. The part the user chose (a selection to edit, a question) is never cut: when it
alone is too large, the request is refused as too_large.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from editor.assist import errors
from editor.assist.errors import ModelError, tier_label
from editor.assist.retrieval import excerpt
from editor.usage.tokens import count_message_tokens, count_tokens

# Output budgets; the prompt gets the rest of the context window.
QA_MAX_TOKENS = 1024
EDIT_MIN_TOKENS = 1024
EDIT_MAX_TOKENS = 8192
_MARGIN = 64

COMPLETION_SYSTEM = (
    "You are an inline code completion engine. Reply with only the text to insert at "
    "<CURSOR>: no explanation, no code fences, nothing repeated from around the cursor."
)
EDIT_SYSTEM = (
    "You rewrite the selected code as the instruction says. Reply with only the code that "
    "replaces the selection: no explanation, no code fences."
)
QA_SYSTEM = (
    "You answer questions about the code in this room's project, for a team working on it "
    "together. Be concise and concrete; put code in fenced blocks with the language."
)


@dataclass
class Prompt:
    messages: list[dict[str, Any]]
    max_tokens: int
    prompt_tokens: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def trimmed(self) -> bool:
        return bool(self.notes)


def _keep_end(text: str, budget_tokens: int) -> str:
    """The last part of `text` that fits in about `budget_tokens`, from a line start."""
    if budget_tokens <= 0:
        return ""
    tokens = count_tokens(text)
    if tokens <= budget_tokens:
        return text
    cut = text[len(text) - int(len(text) * budget_tokens / tokens) :]
    newline = cut.find("\n")
    return cut[newline + 1 :] if 0 <= newline < len(cut) // 4 else cut


def _keep_start(text: str, budget_tokens: int) -> str:
    if budget_tokens <= 0:
        return ""
    tokens = count_tokens(text)
    if tokens <= budget_tokens:
        return text
    cut = text[: int(len(text) * budget_tokens / tokens)]
    newline = cut.rfind("\n")
    return cut[: newline + 1] if newline > len(cut) * 3 // 4 else cut


def _lines(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def _budget(context_tokens: int, max_tokens: int) -> int:
    return context_tokens - max_tokens - _MARGIN


def completion_prompt(
    *,
    tier_name: str,
    context_tokens: int,
    path: str,
    prefix: str,
    suffix: str,
    snippets: list[dict[str, str]],
) -> Prompt:
    """Fill-in-the-middle through chat: the file around <CURSOR>, other open files before it."""
    max_tokens = int(getattr(settings, "FLINT_ASSIST_COMPLETION_MAX_TOKENS", 128))
    budget = _budget(context_tokens, max_tokens)
    notes: list[str] = []
    head = f'<file path="{path}">\n'
    fixed = count_message_tokens([{"content": COMPLETION_SYSTEM}, {"content": head + "</file>"}])
    available = budget - fixed
    if available <= 16:
        raise ModelError(errors.TOO_LARGE, f"The {tier_label(tier_name)}'s context is too small.")
    kept_snippets: list[str] = []
    snippet_budget = available // 4
    for snippet in snippets:
        block = f'<snippet path="{snippet["path"]}">\n{snippet["text"]}\n</snippet>\n'
        cost = count_tokens(block)
        if cost > snippet_budget:
            notes.append(f"left out the snippet of {snippet['path']}")
            continue
        kept_snippets.append(block)
        snippet_budget -= cost
        available -= cost
    prefix_tokens, suffix_tokens = count_tokens(prefix), count_tokens(suffix)
    if prefix_tokens + suffix_tokens > available:
        suffix_share = min(suffix_tokens, available // 4)
        prefix_share = min(prefix_tokens, available - suffix_share)
        suffix_share = min(suffix_tokens, available - prefix_share)
        new_prefix, new_suffix = _keep_end(prefix, prefix_share), _keep_start(suffix, suffix_share)
        if new_prefix != prefix:
            notes.append(f"used the last {_lines(new_prefix)} lines before the cursor")
        if new_suffix != suffix:
            notes.append(f"used the first {_lines(new_suffix)} lines after the cursor")
        prefix, suffix = new_prefix, new_suffix
    user = "".join(kept_snippets) + head + prefix + "<CURSOR>" + suffix + "\n</file>"
    messages = [
        {"role": "system", "content": COMPLETION_SYSTEM},
        {"role": "user", "content": user},
    ]
    return Prompt(messages, max_tokens, count_message_tokens(messages), notes)


def edit_prompt(
    *,
    tier_name: str,
    context_tokens: int,
    path: str,
    selection: str,
    instruction: str,
    before: str,
    after: str,
) -> Prompt:
    selection_tokens = count_tokens(selection)
    max_tokens = min(EDIT_MAX_TOKENS, max(EDIT_MIN_TOKENS, selection_tokens * 2))
    budget = _budget(context_tokens, max_tokens)
    core = f"File: {path}\n<selection>\n{selection}\n</selection>\nInstruction: {instruction}"
    fixed = count_message_tokens([{"content": EDIT_SYSTEM}, {"content": core}])
    if fixed > budget:
        raise ModelError(
            errors.TOO_LARGE,
            f"The selection is too large for the {tier_label(tier_name)}; select less.",
        )
    notes: list[str] = []
    available = budget - fixed - 16
    before_share = min(count_tokens(before), available * 2 // 3)
    after_share = min(count_tokens(after), available - before_share)
    kept_before, kept_after = _keep_end(before, before_share), _keep_start(after, after_share)
    if kept_before != before or kept_after != after:
        notes.append("used only the code nearest the selection as context")
    user = (
        f"File: {path}\n<before>\n{kept_before}</before>\n<selection>\n{selection}\n"
        f"</selection>\n<after>\n{kept_after}</after>\nInstruction: {instruction}"
    )
    messages = [{"role": "system", "content": EDIT_SYSTEM}, {"role": "user", "content": user}]
    return Prompt(messages, max_tokens, count_message_tokens(messages), notes)


def qa_prompt(
    *,
    tier_name: str,
    context_tokens: int,
    question: str,
    path: str,
    open_text: str,
    selection: str,
    files: list[tuple[str, str]],
    history: list[dict[str, str]],
) -> Prompt:
    """Question last; before it the open file, the selection, relevant files, recent turns."""
    budget = _budget(context_tokens, QA_MAX_TOKENS)
    ask = f"Question: {question}"
    if selection:
        ask = f"Selected in {path or 'the open file'}:\n```\n{selection}\n```\n{ask}"
    fixed = count_message_tokens([{"content": QA_SYSTEM}, {"content": ask}])
    if fixed > budget:
        raise ModelError(
            errors.TOO_LARGE,
            f"The question and selection are too large for the {tier_label(tier_name)}.",
        )
    notes: list[str] = []
    available = budget - fixed
    turns: list[dict[str, str]] = []
    for turn in reversed(history):
        cost = count_tokens(turn["content"]) + 4
        if cost > available // 4:
            break
        turns.insert(0, turn)
        available -= cost
    if len(turns) < len(history):
        notes.append(f"used the last {len(turns)} of {len(history)} earlier messages")
    context_parts: list[str] = []
    if open_text:
        share = available // 2
        kept = _keep_start(
            excerpt(open_text, question + " " + selection, max_chars=share * 4), share
        )
        if kept != open_text:
            notes.append(f"used part of {path or 'the open file'}")
        context_parts.append(f'<open_file path="{path}">\n{kept}\n</open_file>')
        available -= count_tokens(kept) + 8
    for file_path, text in files:
        if available < 64:
            notes.append(f"left out {file_path}")
            continue
        kept = _keep_start(excerpt(text, question, max_chars=available * 4), available - 16)
        if kept != text:
            notes.append(f"used part of {file_path}")
        context_parts.append(f'<file path="{file_path}">\n{kept}\n</file>')
        available -= count_tokens(kept) + 16
    messages: list[dict[str, Any]] = [{"role": "system", "content": QA_SYSTEM}]
    if context_parts:
        messages.append(
            {"role": "system", "content": "Project context:\n" + "\n".join(context_parts)}
        )
    messages.extend(turns)
    messages.append({"role": "user", "content": ask})
    return Prompt(messages, QA_MAX_TOKENS, count_message_tokens(messages), notes)

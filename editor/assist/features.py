"""The room socket's three features as jobs for the stream relay: what each asks the
model (its prompt, built for the tier it is routed to), who sees the answer and what is
kept of it.

Completions go to the asking socket only; quick edits and Q&A answers go to the whole
room, with who asked; a Q&A answer is saved with its usage row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from channels.db import database_sync_to_async

from editor.assist import protocol, retrieval, selectors, services
from editor.assist.prompts import Prompt, completion_prompt, edit_prompt, qa_prompt
from editor.assist.sources import project_texts
from editor.assist.tiers import Tier

QA_CONTEXT_FILES = 4

# (text, tier, model, status, error message) of a finished answer, saved in the usage
# row's transaction; or of a request refused before it streamed (a quota), saved alone.
Keep = Callable[[str, str, str, str, str], None]


@dataclass
class Job:
    feature: str
    request_id: str
    requested_tier: str | None
    prompt: Callable[[Tier], Awaitable[Prompt]]
    to_room: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # shown in the start frame
    keep: Keep | None = None


def completion_job(request: protocol.CompleteRequest) -> Job:
    async def prompt(tier: Tier) -> Prompt:
        return completion_prompt(
            tier_name=tier.name,
            context_tokens=tier.context_tokens,
            path=request.path,
            prefix=request.prefix,
            suffix=request.suffix,
            snippets=request.snippets,
        )

    return Job("inline_completion", request.request_id, request.tier, prompt)


def edit_job(request: protocol.EditRequest, *, who: dict[str, Any]) -> Job:
    async def prompt(tier: Tier) -> Prompt:
        return edit_prompt(
            tier_name=tier.name,
            context_tokens=tier.context_tokens,
            path=request.path,
            selection=request.selection,
            instruction=request.instruction,
            before=request.before,
            after=request.after,
        )

    extra = {
        "who": who,
        "path": request.path,
        "instruction": request.instruction,
        "selection": request.selection,
        "anchor": request.anchor,
    }
    return Job("quick_edit", request.request_id, request.tier, prompt, to_room=True, extra=extra)


def ask_job(
    request: protocol.AskRequest, *, who: dict[str, Any], room_id: int, user_id: int
) -> Job:
    async def prompt(tier: Tier) -> Prompt:
        files, history = await database_sync_to_async(_qa_context)(request, room_id, user_id)
        return qa_prompt(
            tier_name=tier.name,
            context_tokens=tier.context_tokens,
            question=request.question,
            path=request.path,
            open_text=request.open_text,
            selection=request.selection,
            files=files,
            history=history,
        )

    def keep(text: str, tier: str, model: str, status: str, error: str) -> None:
        services.qa_answer_add(
            room_id=room_id,
            author_id=user_id,
            request_id=request.request_id,
            text=text,
            tier=tier,
            model=model,
            status=status,
            error=error,
        )

    extra = {"who": who, "path": request.path, "question": request.question}
    return Job("qa", request.request_id, request.tier, prompt, True, extra, keep)


def _qa_context(
    request: protocol.AskRequest, room_id: int, user_id: int
) -> tuple[list[tuple[str, str]], list[dict[str, str]]]:
    history = selectors.qa_turns_for_prompt(room_id=room_id)
    services.qa_question_add(
        room_id=room_id,
        author_id=user_id,
        request_id=request.request_id,
        text=request.question,
        path=request.path,
    )
    texts = project_texts(room_id)
    texts.pop(request.path, None)  # the open file is sent as the user sees it
    ranked = retrieval.rank(
        request.question + " " + request.selection, texts, limit=QA_CONTEXT_FILES
    )
    return [(path, texts[path]) for path, _ in ranked], history

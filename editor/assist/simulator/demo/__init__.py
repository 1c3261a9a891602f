"""The demo model: deterministic answers that do real work on the project in the prompt.

`respond(messages, tools)` is independent of the wire: it takes a chat request's
messages and tool names and returns the answer's text and tool calls, for whichever
endpoint the simulator serves. One module per feature (docs/MODELS.md, "Demo mode").
"""

from __future__ import annotations

from typing import Any

from editor.assist.simulator.demo import agent, completion, qa, quickedit, review
from editor.assist.simulator.demo.agent import Reply
from editor.assist.simulator.demo.requests import (
    AgentTurn,
    Completion,
    Edit,
    Question,
    Review,
    classify,
)

__all__ = ["Reply", "respond"]


def respond(messages: list[dict[str, Any]], tools: list[str]) -> Reply | None:
    """The demo model's answer, or None when the request is none of Flint's features."""
    request = classify([m for m in messages if isinstance(m, dict)], tools)
    if isinstance(request, Completion):
        return Reply(completion.complete(request))
    if isinstance(request, Edit):
        return Reply(quickedit.quick_edit(request))
    if isinstance(request, Question):
        return Reply(qa.answer(request))
    if isinstance(request, Review):
        return Reply(review.review(request))
    if isinstance(request, AgentTurn):
        return agent.next_turn(request)
    return None

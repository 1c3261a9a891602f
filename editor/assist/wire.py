"""A wire: one way of talking to a model server, behind the gateway.

The gateway (editor/assist/gateway.py) owns everything around a call: the tier, retries
and their backoff, turning failures into ModelError (errors.classify), timing, and the
stream's text as the user saw it. A wire owns the bytes: how a `ModelRequest` becomes a
request to the server and how the response becomes text, tool calls, usage and a finish
reason. Callers (the metered path, the relay, the agent loop) never see a wire.

Requests and replies are in one shape whatever the wire, Chat Completions' (the first
wire): `messages` are chat messages (system / user / assistant with `tool_calls` / tool),
`tools` are chat function specs, a reply's `tool_calls` are chat tool calls
(`{"id", "type": "function", "function": {"name", "arguments": json text}}`) and its
`usage` has `prompt_tokens`, `completion_tokens` (and `total_tokens`), and the ints
`cached_tokens` (of the prompt, from the server's prompt cache) and `reasoning_tokens` (of
the completion), 0 when the server does not say. A wire that speaks another format
translates both ways.

A wire makes one attempt per method call and raises whatever went wrong (SDK, transport
or parsing errors, or a ModelError it already knows the kind of); it never retries and
never sleeps. Its streams must close the upstream response when closed or cancelled, and
read through editor/assist/transport.py (its clients, or `PACER` for a connection of its
own) so that the relay's pacing applies.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from editor.assist.tiers import Tier


@dataclass(frozen=True)
class ModelRequest:
    """What a caller asks of a model, whatever the wire."""

    messages: list[dict[str, Any]]
    max_tokens: int | None = None  # output tokens at most
    tools: list[dict[str, Any]] | None = None
    temperature: float | None = None
    extra_headers: dict[str, str] | None = None


@dataclass
class Reply:
    """What a model said besides streamed text, filled in by the wire.

    `text` is the whole text of a non-streamed answer (a stream's text is what it
    yielded). `message` is the assistant turn to append to the conversation (a wire may
    carry its own state there, e.g. the Responses output items). `reasoning` is the
    model's reasoning summary, when the wire has one (never raw reasoning); a stream
    also hands its pieces to `on_reasoning` as they arrive.
    """

    model: str = ""
    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    message: dict[str, Any] = field(default_factory=dict)
    reasoning: str = ""
    on_reasoning: Callable[[str], None] | None = None


class Wire(Protocol):
    name: str

    def stream(self, tier: Tier, request: ModelRequest, reply: Reply) -> AsyncGenerator[str, None]:
        """One streamed attempt: yield text as it arrives (several tokens per item when
        they came together) and fill `reply` as the stream goes. `reply.tool_calls`
        must grow as tool calls arrive (the gateway reads it: output was seen, so the
        call is not retried). On a clean end, set `finish_reason`, `usage`, `model`; if
        the server never said it finished, raise ModelError(CUT_OFF or MODEL_DOWN)."""
        ...

    async def complete(self, tier: Tier, request: ModelRequest) -> Reply:
        """One whole (non-streamed) answer, tool calls included."""
        ...

    def complete_sync(self, tier: Tier, request: ModelRequest) -> Reply:
        """`complete` for code without an event loop (Celery workers)."""
        ...

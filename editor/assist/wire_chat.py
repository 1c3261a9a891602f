"""The Chat Completions wire: `POST /chat/completions`, streamed as SSE or whole.

Streams are read raw through the SDK's `with_streaming_response` and parsed with jiter
(editor/assist/sse.py), several times faster than the SDK's per-chunk models. Whole
answers are read raw too and parsed by one reader for the async and the sync client.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import jiter

from editor.assist import errors
from editor.assist.errors import ModelError, tier_label
from editor.assist.responses_shape import OUTPUT_KEY
from editor.assist.sse import MalformedChunk, SSEParser
from editor.assist.tiers import Tier
from editor.assist.transport import async_client, sync_client
from editor.assist.wire import ModelRequest, Reply


def _chat_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages without what another wire kept on them (a conversation whose tier
    moved from the Responses API to this wire mid-way)."""
    if not any(OUTPUT_KEY in m for m in messages):
        return messages
    return [{k: v for k, v in m.items() if k != OUTPUT_KEY} for m in messages]


def _body(tier: Tier, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": tier.model, "messages": _chat_messages(request.messages)}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    if request.max_tokens is not None:
        body["max_completion_tokens"] = request.max_tokens
    if request.tools:
        body["tools"] = request.tools
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.extra_headers:
        body["extra_headers"] = request.extra_headers
    return body


def usage_of(raw: Any) -> dict[str, Any] | None:
    """The server's usage, plus the wire-neutral `cached_tokens` and `reasoning_tokens`
    (Chat Completions nests them under prompt/completion_tokens_details, when sent)."""
    if not isinstance(raw, dict):
        return None

    def detail(section: str, name: str) -> int:
        details = raw.get(section)
        found = details.get(name) if isinstance(details, dict) else None
        return found if isinstance(found, int) and found > 0 else 0

    return {
        **raw,
        "cached_tokens": detail("prompt_tokens_details", "cached_tokens"),
        "reasoning_tokens": detail("completion_tokens_details", "reasoning_tokens"),
    }


def _reply_of(tier: Tier, payload: Any) -> Reply:
    """The one reader of a whole answer (async and sync clients alike)."""
    if not isinstance(payload, dict) or not payload.get("choices"):
        raise MalformedChunk("completion has no choices")
    choice = payload["choices"][0]
    message = choice.get("message") or {}
    return Reply(
        model=payload.get("model") or tier.model,
        text=message.get("content") or "",
        tool_calls=message.get("tool_calls") or [],
        finish_reason=choice.get("finish_reason"),
        usage=usage_of(payload.get("usage")),
        message=message,
    )


class ChatWire:
    name = "chat"

    async def stream(
        self, tier: Tier, request: ModelRequest, reply: Reply
    ) -> AsyncGenerator[str, None]:
        create = async_client(tier).chat.completions.with_streaming_response.create
        parser = SSEParser()
        reply.tool_calls = parser.state.tool_calls  # grows as the deltas arrive
        said = False
        async with create(**_body(tier, request, stream=True)) as response:
            async for data in response.iter_bytes():
                batch = parser.feed(data)
                if batch.text:
                    said = True
                    yield batch.text
                if batch.done:
                    break
        state = parser.state
        reply.usage = usage_of(state.usage)
        reply.finish_reason = state.finish_reason
        reply.tool_calls = state.tool_calls
        reply.model = state.model or tier.model
        if not state.saw_done and state.finish_reason is None:
            # The body ended cleanly but the model never said it was finished.
            raise ModelError(
                errors.CUT_OFF if said else errors.MODEL_DOWN,
                f"The {tier_label(tier.name)}'s answer was cut off mid-way."
                + (" What arrived is kept." if said else ""),
                retryable=not said and not state.tool_calls,
            )

    async def complete(self, tier: Tier, request: ModelRequest) -> Reply:
        create = async_client(tier).chat.completions.with_raw_response.create
        raw = await create(**_body(tier, request, stream=False))
        return _reply_of(tier, jiter.from_json(raw.content))

    def complete_sync(self, tier: Tier, request: ModelRequest) -> Reply:
        create = sync_client(tier).chat.completions.with_raw_response.create
        raw = create(**_body(tier, request, stream=False))
        return _reply_of(tier, jiter.from_json(raw.content))

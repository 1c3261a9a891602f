"""The Responses API's stream events, read raw with jiter, over SSE or WebSocket frames.

Both transports carry the same JSON events (`{"type": "response.output_text.delta", …}`);
`ResponseReader.event` takes one parsed event and returns the text it carried, keeping
everything else (tool calls as they grow, reasoning summaries, the final response) in
its state. SSE bytes are split by `SSEEvents` (like editor/assist/sse.py for chat: one
batch per network read, not one item per token).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jiter

from editor.assist import errors
from editor.assist.errors import ModelError, tier_label
from editor.assist.responses_shape import (
    OUTPUT_KEY,
    finish_reason_of,
    reasoning_of,
    text_of,
    tool_call_of,
    usage_of,
)
from editor.assist.sse import MalformedChunk
from editor.assist.tiers import Tier
from editor.assist.wire import Reply

# response.failed / error codes that mean something the user can act on.
_FAILED_KINDS = {
    "rate_limit_exceeded": (errors.RATE_LIMITED, True),
    "server_error": (errors.MODEL_DOWN, True),
    "server_is_overloaded": (errors.MODEL_DOWN, True),
    "slow_down": (errors.RATE_LIMITED, True),
    "context_length_exceeded": (errors.TOO_LARGE, False),
}
CONNECTION_LIMIT = "websocket_connection_limit_reached"


def parse_event(payload: bytes | str) -> dict[str, Any]:
    try:
        event = jiter.from_json(payload.encode() if isinstance(payload, str) else payload)
    except ValueError as exc:
        raise MalformedChunk(f"unparseable stream event: {payload[:80]!r}") from exc
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise MalformedChunk("stream event is not an object with a type")
    return event


class ResponseError(Exception):
    """The server said the response failed (`response.failed` or an `error` event)."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class ResponseReader:
    """What one response said, built from its events."""

    on_reasoning: Callable[[str], None] | None = None
    response_id: str | None = None
    model: str | None = None
    items: dict[int, dict[str, Any]] = field(default_factory=dict)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    reasoning_parts: list[str] = field(default_factory=list)
    final: dict[str, Any] | None = None  # the response object of completed / incomplete
    _calls_at: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.final is not None

    def event(self, event: dict[str, Any]) -> str:
        kind = event["type"]
        if kind == "response.output_text.delta":
            return str(event.get("delta") or "")
        if kind in ("response.function_call_arguments.delta",
                    "response.custom_tool_call_input.delta"):  # fmt: skip
            call = self._calls_at.get(int(event.get("output_index", -1)))
            if call is not None:
                call["function"]["arguments"] += str(event.get("delta") or "")
            return ""
        if kind == "response.reasoning_summary_text.delta":
            delta = str(event.get("delta") or "")
            self.reasoning_parts.append(delta)
            if self.on_reasoning is not None and delta:
                self.on_reasoning(delta)
            return ""
        if kind == "response.reasoning_summary_part.done" and self.reasoning_parts:
            self.reasoning_parts.append("\n\n")
            if self.on_reasoning is not None:
                self.on_reasoning("\n\n")
            return ""
        if kind == "response.output_item.added":
            self._item_added(int(event.get("output_index", len(self.items))), event.get("item"))
            return ""
        if kind == "response.output_item.done":
            self._item_done(int(event.get("output_index", len(self.items))), event.get("item"))
            return ""
        if kind in ("response.created", "response.in_progress"):
            response = event.get("response") or {}
            self.response_id = self.response_id or response.get("id")
            self.model = self.model or response.get("model")
            return ""
        if kind in ("response.completed", "response.incomplete"):
            self.final = event.get("response") or {}
            self.response_id = self.final.get("id") or self.response_id
            self.model = self.final.get("model") or self.model
            return ""
        if kind == "response.failed":
            error = (event.get("response") or {}).get("error") or {}
            raise ResponseError(str(error.get("code") or "failed"), str(error.get("message") or ""))
        if kind == "error":
            error = event.get("error") if isinstance(event.get("error"), dict) else event
            status = event.get("status")
            raise ResponseError(
                str(error.get("code") or error.get("type") or "error"),
                str(error.get("message") or ""),
                int(status) if isinstance(status, int) else None,
            )
        return ""  # content_part, *.done, annotations, …: nothing new to say

    def _item_added(self, index: int, item: Any) -> None:
        if not isinstance(item, dict):
            raise MalformedChunk("output item is not an object")
        self.items[index] = item
        if item.get("type") in ("function_call", "custom_tool_call"):
            call = tool_call_of({**item, "arguments": "", "input": ""})
            if call is not None:
                call["function"]["arguments"] = ""  # grows with the deltas
                self._calls_at[index] = call
                self.tool_calls.append(call)

    def _item_done(self, index: int, item: Any) -> None:
        if not isinstance(item, dict):
            raise MalformedChunk("output item is not an object")
        self.items[index] = item
        whole = tool_call_of(item)
        if whole is None:
            return
        call = self._calls_at.get(index)
        if call is None:  # a call that came whole (apply_patch_call): no deltas before
            self._calls_at[index] = whole
            self.tool_calls.append(whole)
        else:
            call.update(whole)

    def output(self) -> list[dict[str, Any]]:
        """The response's output items: the final response's own when it sent them."""
        final = (self.final or {}).get("output")
        if isinstance(final, list) and final:
            return final
        return [self.items[i] for i in sorted(self.items)]

    @property
    def reasoning(self) -> str:
        return "".join(self.reasoning_parts).strip()


def failure(exc: ResponseError, tier_name: str, *, said: bool) -> ModelError:
    """A failed response as the gateway's error, its kind from the server's code."""
    label = tier_label(tier_name)
    kind, retryable = _FAILED_KINDS.get(exc.code, (errors.MODEL_DOWN, False))
    if said:
        return ModelError(errors.CUT_OFF, f"The {label} stopped with an error: {exc}. "
                          "What arrived is kept.")  # fmt: skip
    if kind == errors.RATE_LIMITED:
        message = f"The {label} is rate-limited right now; try again in a few seconds."
    elif kind == errors.TOO_LARGE:
        message = f"The request is too large for the {label}'s context; select less."
    else:
        message = f"The {label} failed: {exc}" + ("; try again shortly." if retryable else ".")
    return ModelError(kind, message, retryable=retryable, status=exc.status)


class SSEEvents:
    """Split raw SSE bytes into parsed events (only `data:` lines carry them)."""

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self.buffer += data
        if b"\n" not in data:
            return []
        lines = self.buffer.split(b"\n")
        self.buffer = lines.pop()
        payloads = (line[5:].strip() for line in lines if line.startswith(b"data:"))
        return [parse_event(p) for p in payloads if p != b"[DONE]"]  # some servers end so


# --- a whole response as the gateway's Reply ----------------------------------------------


def fill_reply(tier: Tier, reply: Reply, reader: ResponseReader, *, said: bool) -> None:
    """The finished response into `reply`; raise if the server never said it finished."""
    if not reader.done:
        raise ModelError(
            errors.CUT_OFF if said else errors.MODEL_DOWN,
            f"The {tier_label(tier.name)}'s answer was cut off mid-way."
            + (" What arrived is kept." if said else ""),
            retryable=not said and not reader.tool_calls,
        )
    final = reader.final or {}
    output = reader.output()
    calls = [call for call in (tool_call_of(item) for item in output) if call is not None]
    reply.tool_calls = calls or reader.tool_calls
    reply.model = reader.model or tier.model
    reply.usage = usage_of(final.get("usage"))
    reply.finish_reason = finish_reason_of(final, reply.tool_calls)
    reply.reasoning = reasoning_of(output) or reader.reasoning
    reply.text = text_of(output)
    reply.message = {"role": "assistant", "content": reply.text or None}
    if reply.tool_calls:
        reply.message["tool_calls"] = reply.tool_calls
    reply.message[OUTPUT_KEY] = {"id": reader.response_id, "items": output}


def read_events(
    tier: Tier, reader: ResponseReader, events: list[dict[str, Any]], *, said: bool
) -> str:
    """The text of a batch of events; a failed response raises the gateway's error."""
    parts = []
    for event in events:
        try:
            text = reader.event(event)
        except ResponseError as exc:
            raise failure(exc, tier.name, said=said or bool(parts)) from exc
        if text:
            parts.append(text)
    return "".join(parts)


def reply_of_whole(tier: Tier, payload: Any) -> Reply:
    """A non-streamed response object as a Reply (the HTTP `complete` calls)."""
    if not isinstance(payload, dict) or "output" not in payload:
        raise MalformedChunk("response has no output")
    if payload.get("status") == "failed":
        error = payload.get("error") or {}
        code, message = str(error.get("code") or "failed"), str(error.get("message") or "")
        raise failure(ResponseError(code, message), tier.name, said=False)
    reader = ResponseReader(final=payload, response_id=payload.get("id"),
                            model=payload.get("model"))  # fmt: skip
    reply = Reply()
    fill_reply(tier, reply, reader, said=False)
    return reply

"""The simulator's Responses API: a scripted answer as Responses events, and a Responses
request read back into the chat messages the script (script.py) decides on.

The same scripts drive both wires: text, tool calls (an `apply_patch` call becomes a
freeform custom tool call when the request offers that tool), reasoning summaries with
an opaque `encrypted_content` to carry back. Events are JSON bytes; the HTTP server
wraps them as SSE, the WebSocket session sends one per message.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from editor.assist.simulator.script import Answer, tokenize

_OUTPUT_TYPES = {"reasoning", "function_call", "custom_tool_call", "apply_patch_call", "message"}
# The real service's words for a codex model asked on Chat Completions.
_UNSUPPORTED = "This model is only supported in v1/responses and not in v1/chat/completions."


def unsupported_error() -> dict[str, Any]:
    return {"error": {"message": _UNSUPPORTED, "type": "invalid_request_error",
                      "param": "model", "code": "unsupported_api_for_model"}}  # fmt: skip


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def messages_of(body: dict[str, Any], before: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A Responses request as chat messages (after `before`, the conversation its
    `previous_response_id` continues): consecutive output items are one assistant turn."""
    messages = list(before)
    if body.get("instructions") and not before:
        messages.append({"role": "system", "content": str(body["instructions"])})
    raw = body.get("input")
    items = [{"role": "user", "content": raw}] if isinstance(raw, str) else list(raw or [])
    turn_open = False
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = item.get("type") or "message"
        role = item.get("role")
        if kind in _OUTPUT_TYPES and (kind != "message" or role == "assistant"):
            if not turn_open:
                messages.append({"role": "assistant", "content": ""})
                turn_open = True
            if kind == "message":
                messages[-1]["content"] += _text(item.get("content"))
            continue
        turn_open = False
        if kind.endswith("_output"):
            output = item.get("output")
            messages.append({"role": "tool", "content": output if isinstance(output, str)
                             else json.dumps(output)})  # fmt: skip
        else:
            messages.append({"role": role or "user", "content": _text(item.get("content"))})
    return messages


def offers_custom_patch(body: dict[str, Any]) -> bool:
    return any(
        isinstance(t, dict) and t.get("type") == "custom" and t.get("name") == "apply_patch"
        for t in body.get("tools") or ()
    )


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


@dataclass
class Plan:
    """One answer as Responses output: the items, and their events in order."""

    response_id: str
    model: str
    items: list[dict[str, Any]] = field(default_factory=list)
    # (event bytes or a list of delta pieces with their head/tail) in order
    parts: list[Any] = field(default_factory=list)
    output_tokens: int = 0
    reasoning_tokens: int = 0
    incomplete: bool = False


class Deltas:
    """A run of delta events of one item, encoded when sent (like server._Events)."""

    def __init__(self, pieces: list[str], head: bytes, tail: bytes = b"}") -> None:
        self.pieces, self.head, self.tail = pieces, head, tail

    def as_sse(self) -> Deltas:
        return Deltas(self.pieces, b"event: " + kind_of(self.head) + b"\ndata: " + self.head,
                      self.tail + b"\n\n")  # fmt: skip

    def __len__(self) -> int:
        return len(self.pieces)

    def __getitem__(self, span: slice) -> list[bytes]:
        head, tail = self.head, self.tail
        return [head + json.dumps(p).encode() + tail for p in self.pieces[span]]


def _delta_head(kind: str, item_id: str, index: int, **fields: Any) -> bytes:
    """A delta event up to its value: `{"type": …, "delta": ` (the value and `}` follow)."""
    whole = json.dumps({"type": kind, "item_id": item_id, "output_index": index, **fields,
                        "delta": ""})  # fmt: skip
    return whole[: -len('""}')].encode()


def _event(kind: str, **fields: Any) -> bytes:
    return json.dumps({"type": kind, **fields}).encode()


def plan(body: dict[str, Any], answer: Answer, *, limit_tokens: int | None) -> Plan:
    """The events of `answer`, cut at `limit_tokens` text tokens (max_output_tokens)."""
    result = Plan(response_id=_id("resp"), model=str(body.get("model") or "flint-simulator"))
    add = result.parts.append
    index = 0
    if answer.reasoning:
        item_id = _id("rs")
        pieces = tokenize(answer.reasoning)
        head = _event("response.output_item.added", output_index=index,
                      item={"type": "reasoning", "id": item_id, "summary": []})  # fmt: skip
        add(head)
        add(_event("response.reasoning_summary_part.added", item_id=item_id, output_index=index,
                   summary_index=0, part={"type": "summary_text", "text": ""}))  # fmt: skip
        add(Deltas(pieces, _delta_head("response.reasoning_summary_text.delta", item_id, index,
                                       summary_index=0)))  # fmt: skip
        done_part = {"type": "summary_text", "text": answer.reasoning}
        add(_event("response.reasoning_summary_part.done", item_id=item_id, output_index=index,
                   summary_index=0, part=done_part))  # fmt: skip
        sealed = base64.b64encode(f"sim-reasoning:{answer.reasoning}".encode()).decode()
        item = {"type": "reasoning", "id": item_id, "encrypted_content": sealed,
                "summary": [{"type": "summary_text", "text": answer.reasoning}]}  # fmt: skip
        add(_event("response.output_item.done", output_index=index, item=item))
        result.items.append(item)
        result.reasoning_tokens = len(pieces)
        index += 1
    pieces = tokenize(answer.text)
    if limit_tokens is not None and len(pieces) > limit_tokens:
        pieces, result.incomplete = pieces[:limit_tokens], True
    if pieces:
        item_id = _id("msg")
        add(_event("response.output_item.added", output_index=index, item={
            "type": "message", "id": item_id, "role": "assistant", "status": "in_progress",
            "content": []}))  # fmt: skip
        add(_event("response.content_part.added", item_id=item_id, output_index=index,
                   content_index=0, part={"type": "output_text", "text": ""}))  # fmt: skip
        add(Deltas(pieces, _delta_head("response.output_text.delta", item_id, index,
                                       content_index=0)))  # fmt: skip
        text = "".join(pieces)
        add(_event("response.output_text.done", item_id=item_id, output_index=index,
                   content_index=0, text=text))  # fmt: skip
        item = {"type": "message", "id": item_id, "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}  # fmt: skip
        add(_event("response.output_item.done", output_index=index, item=item))
        result.items.append(item)
        index += 1
    if not result.incomplete:
        for call in answer.tool_calls:
            _call(result, body, call, index)
            index += 1
    result.output_tokens = len(pieces) + result.reasoning_tokens + sum(
        len(tokenize(str(i.get("arguments") or i.get("input") or "")))
        for i in result.items if i["type"] in ("function_call", "custom_tool_call")
    )  # fmt: skip
    return result


def _call(result: Plan, body: dict[str, Any], call: dict[str, Any], index: int) -> None:
    add = result.parts.append
    if call.get("item"):
        item = {"id": _id("apc"), "call_id": _id("call"), "status": "completed", **call["item"]}
        add(_event("response.output_item.added", output_index=index, item=item))
        add(_event("response.output_item.done", output_index=index, item=item))
        result.items.append(item)
        return
    call_id, name, arguments = _id("call"), call["name"], call["arguments"]
    if name == "apply_patch" and offers_custom_patch(body):
        patch = str(json.loads(arguments).get("patch", ""))
        item = {"type": "custom_tool_call", "id": _id("ctc"), "call_id": call_id,
                "name": name, "input": patch}  # fmt: skip
        delta_kind, key, value = "response.custom_tool_call_input.delta", "input", patch
    else:
        item = {"type": "function_call", "id": _id("fc"), "call_id": call_id, "name": name,
                "arguments": arguments, "status": "completed"}  # fmt: skip
        delta_kind, key, value = "response.function_call_arguments.delta", "arguments", arguments
    add(_event("response.output_item.added", output_index=index, item={**item, key: ""}))
    add(Deltas(tokenize(value), _delta_head(delta_kind, item["id"], index)))
    add(_event("response.output_item.done", output_index=index, item=item))
    result.items.append(item)


def created(result: Plan) -> bytes:
    return _event("response.created", response={
        "id": result.response_id, "object": "response", "status": "in_progress",
        "model": result.model, "output": []})  # fmt: skip


def final(result: Plan, *, input_tokens: int, cached_tokens: int) -> tuple[bytes, dict]:
    """The closing event (completed or incomplete) and the response object it carries."""
    status = "incomplete" if result.incomplete else "completed"
    response = {
        "id": result.response_id, "object": "response", "status": status,
        "model": result.model, "output": result.items,
        "incomplete_details": {"reason": "max_output_tokens"} if result.incomplete else None,
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": cached_tokens},
            "output_tokens": result.output_tokens,
            "output_tokens_details": {"reasoning_tokens": result.reasoning_tokens},
            "total_tokens": input_tokens + result.output_tokens,
        },
    }  # fmt: skip
    return _event(f"response.{status}", response=response), response


def kind_of(event: bytes) -> bytes:
    """The type of an event this module encoded (its first key)."""
    start = len(b'{"type": "') if event.startswith(b'{"type": "') else len(b'{"type":"')
    return event[start : event.index(b'"', start)]


def as_sse(event: bytes) -> bytes:
    return b"event: " + kind_of(event) + b"\ndata: " + event + b"\n\n"


def error_event(status: int, code: str, message: str) -> bytes:
    kind = "rate_limit_error" if status == 429 else "invalid_request_error"
    if status >= 500:
        kind = "server_error"
    return _event("error", status=status, error={"type": kind, "code": code, "message": message})

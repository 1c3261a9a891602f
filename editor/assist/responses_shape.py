"""Chat-shaped requests and replies to and from the Responses API's items.

The gateway speaks one shape (editor/assist/wire.py: Chat Completions'); the Responses
wire translates at its edge. A conversation's assistant turns carry the response's own
output items under `OUTPUT_KEY` (with the response id), so the next request sends them
back verbatim: encrypted reasoning stays with the conversation when nothing is stored
on the provider, custom and apply_patch calls are answered with their own output item
type, and a stored or socket-held response can be continued by id with only what came
after it.

apply_patch is offered as a freeform custom tool: the model writes the `*** Begin Patch`
envelope itself instead of escaping it into JSON. Its calls, like OpenAI's built-in
`apply_patch_call` items, reach the caller as the chat tool call `apply_patch` with
`{"patch": envelope}`, which the agent's tools already take.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from editor.assist.tiers import Tier
    from editor.assist.wire import ModelRequest

OUTPUT_KEY = "responses_output"  # on an assistant message: {"id": response id, "items": [...]}
PATCH_TOOL = "apply_patch"
_CALL_TYPES = ("function_call", "custom_tool_call", "apply_patch_call")
_OUTPUT_TYPE = {
    "function_call": "function_call_output",
    "custom_tool_call": "custom_tool_call_output",
    "apply_patch_call": "apply_patch_call_output",
}
_PATCH_DESCRIPTION = (
    "Change files with a patch envelope, written as is (not JSON): '*** Begin Patch', then "
    "per file '*** Add File: path' (every line starting with '+'), '*** Delete File: path', "
    "or '*** Update File: path' (optionally '*** Move to: new/path') with hunks that start "
    "with '@@' (optionally followed by a line that anchors the hunk) and lines starting with "
    "' ' (context), '-' (removed) or '+' (added), then '*** End Patch'. All or nothing."
)


# --- requests ---------------------------------------------------------------------------


def tools_of(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Chat function specs as Responses tools; apply_patch becomes a freeform tool."""
    out = []
    for spec in tools or ():
        function = spec.get("function") or {}
        name = function.get("name")
        if name == PATCH_TOOL:
            out.append({"type": "custom", "name": PATCH_TOOL, "description": _PATCH_DESCRIPTION})
            continue
        tool = {"type": "function", "name": name, "parameters": function.get("parameters")}
        if function.get("description"):
            tool["description"] = function["description"]
        out.append(tool)
    return out


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def split_instructions(messages: list[dict[str, Any]]) -> tuple[str | None, list[dict]]:
    """The leading system messages as `instructions`, and the rest of the conversation."""
    head: list[str] = []
    index = 0
    while index < len(messages) and messages[index].get("role") in ("system", "developer"):
        head.append(_text(messages[index].get("content")))
        index += 1
    return ("\n\n".join(head) if head else None), messages[index:]


def last_response_at(messages: list[dict[str, Any]]) -> tuple[str | None, int]:
    """The id of the last response in the conversation and the index of its message."""
    for index in range(len(messages) - 1, -1, -1):
        carried = messages[index].get(OUTPUT_KEY)
        if isinstance(carried, dict) and carried.get("id"):
            return str(carried["id"]), index
    return None, -1


def input_items(
    messages: list[dict[str, Any]],
    *,
    stored: bool = False,
    call_types: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Chat messages as Responses input items.

    `call_types` maps call ids to their item type for calls made before `messages`
    (a continuation by id sends only what followed, but answers those calls)."""
    kinds = dict(call_types or {})
    items: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "tool":
            call_id = str(message.get("tool_call_id") or "")
            items.append(_call_output(kinds.get(call_id, "function_call"), call_id, message))
        elif role == "assistant":
            carried = message.get(OUTPUT_KEY)
            if isinstance(carried, dict) and isinstance(carried.get("items"), list):
                for item in carried["items"]:
                    if item.get("type") in _CALL_TYPES:
                        kinds[str(item.get("call_id"))] = item["type"]
                items.extend(_replayable(item, stored) for item in carried["items"])
                continue
            if message.get("content"):
                items.append({"role": "assistant", "content": _text(message["content"])})
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                items.append({
                    "type": "function_call", "call_id": call.get("id"),
                    "name": function.get("name"), "arguments": function.get("arguments") or "{}",
                })  # fmt: skip
        elif role in ("system", "developer"):
            items.append({"role": "developer", "content": _text(message.get("content"))})
        else:
            items.append({"role": "user", "content": _text(message.get("content"))})
    return items


def call_types_of(messages: list[dict[str, Any]]) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for message in messages:
        carried = message.get(OUTPUT_KEY)
        if isinstance(carried, dict):
            for item in carried.get("items") or ():
                if item.get("type") in _CALL_TYPES:
                    kinds[str(item.get("call_id"))] = item["type"]
    return kinds


def _replayable(item: dict[str, Any], stored: bool) -> dict[str, Any]:
    # Without storage the provider cannot look items up by id (it refuses ids it does not
    # hold); the reasoning travels in `encrypted_content` instead.
    return item if stored else {k: v for k, v in item.items() if k != "id"}


def _call_output(kind: str, call_id: str, message: dict[str, Any]) -> dict[str, Any]:
    output = _text(message.get("content"))
    if kind == "apply_patch_call":
        failed = output.startswith("Error:")
        return {"type": "apply_patch_call_output", "call_id": call_id,
                "status": "failed" if failed else "completed", "output": output}  # fmt: skip
    return {"type": _OUTPUT_TYPE.get(kind, "function_call_output"), "call_id": call_id,
            "output": output}  # fmt: skip


def request_body(tier: Tier, request: ModelRequest, *, held: str | None = None) -> dict[str, Any]:
    """The Responses body of `request`; `held` is a response id the server still holds
    (besides stored ones), so that a continuation of it sends only the new items."""
    instructions, rest = split_instructions(request.messages)
    last_id, at = last_response_at(rest)
    body: dict[str, Any] = {"model": tier.model, "store": tier.store}
    if last_id is not None and (tier.store or last_id == held):
        body["previous_response_id"] = last_id
        body["input"] = input_items(
            rest[at + 1 :], stored=tier.store, call_types=call_types_of(rest[: at + 1])
        )
    else:
        body["input"] = input_items(rest, stored=tier.store)
    if instructions:
        body["instructions"] = instructions
    if request.max_tokens is not None:
        body["max_output_tokens"] = request.max_tokens
    if request.tools:
        body["tools"] = tools_of(request.tools)
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if tier.reasoning_summary != "off":
        body["reasoning"] = {"summary": tier.reasoning_summary}
        if not tier.store:
            body["include"] = ["reasoning.encrypted_content"]
    return body


# --- replies ----------------------------------------------------------------------------


def tool_call_of(item: dict[str, Any]) -> dict[str, Any] | None:
    """A call item as the chat tool call the gateway's callers know, or None."""
    kind = item.get("type")
    call_id = str(item.get("call_id") or item.get("id") or "")
    if kind == "function_call":
        name, arguments = str(item.get("name") or ""), str(item.get("arguments") or "")
    elif kind == "custom_tool_call":
        name = str(item.get("name") or "")
        key = "patch" if name == PATCH_TOOL else "input"
        arguments = json.dumps({key: str(item.get("input") or "")})
    elif kind == "apply_patch_call":
        name, arguments = PATCH_TOOL, json.dumps({"patch": envelope_of(item.get("operation"))})
    else:
        return None
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def envelope_of(operation: Any) -> str:
    """OpenAI's built-in apply_patch operation as the envelope the agent applies."""
    if not isinstance(operation, dict):
        return ""
    kind, path = operation.get("type"), str(operation.get("path") or "")
    diff = str(operation.get("diff") or "")
    if diff and not diff.endswith("\n"):
        diff += "\n"
    if kind == "create_file":
        body = f"*** Add File: {path}\n{diff}"
    elif kind == "delete_file":
        body = f"*** Delete File: {path}\n"
    else:
        body = f"*** Update File: {path}\n{diff}"
    return f"*** Begin Patch\n{body}*** End Patch\n"


def text_of(items: list[dict[str, Any]]) -> str:
    parts = []
    for item in items:
        if item.get("type") == "message":
            for part in item.get("content") or ():
                if isinstance(part, dict) and part.get("type") == "output_text":
                    parts.append(part.get("text") or "")
    return "".join(parts)


def reasoning_of(items: list[dict[str, Any]]) -> str:
    """The reasoning summaries of a response (never the raw reasoning)."""
    parts = []
    for item in items:
        if item.get("type") == "reasoning":
            for part in item.get("summary") or ():
                if isinstance(part, dict) and part.get("text"):
                    parts.append(part["text"])
    return "\n\n".join(parts)


def usage_of(usage: Any) -> dict[str, int] | None:
    """Responses usage in the gateway's shape, with cached and reasoning tokens."""
    if not isinstance(usage, dict):
        return None
    prompt = int(usage.get("input_tokens") or 0)
    completion = int(usage.get("output_tokens") or 0)
    cached = (usage.get("input_tokens_details") or {}).get("cached_tokens") or 0
    reasoning = (usage.get("output_tokens_details") or {}).get("reasoning_tokens") or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": int(usage.get("total_tokens") or prompt + completion),
        "cached_tokens": int(cached),
        "reasoning_tokens": int(reasoning),
    }


def finish_reason_of(response: dict[str, Any], tool_calls: list[dict[str, Any]]) -> str:
    if response.get("status") == "incomplete":
        reason = (response.get("incomplete_details") or {}).get("reason")
        return "length" if reason == "max_output_tokens" else str(reason or "length")
    return "tool_calls" if tool_calls else "stop"

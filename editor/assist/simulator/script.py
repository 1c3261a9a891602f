"""What the simulator answers: scripted rules, per-request options, deterministic defaults.

A script (JSON, or YAML when PyYAML is installed) is a list of rules; the first that
matches the request decides the answer:

    {"rules": [
      {"match": "rename x to y", "reply": "def f(y):\n    return y\n"},
      {"regex": "^fix (\\w+)", "reply": "fixed"},
      {"marker": "task-42", "turn": 0,
       "tool_calls": [{"name": "read_file", "arguments": {"path": "a.py"}}]},
      {"marker": "task-42", "turn": 1, "reply": "All done."},
      {"match": "flaky", "fault": "500", "times": 1},
      {"match": "think", "reasoning": "Check the callers first.", "reply": "Done."}
    ]}

`match` is a substring and `regex` a regular expression of the last user message;
`marker` is a substring of any message; `turn` counts the assistant messages already in
the conversation, so multi-step tool use can be scripted turn by turn. A rule may also
set any request option below. `reasoning` is a reasoning summary the Responses API
streams before the answer (the chat wire has none). A tool call may carry `item`, a raw
Responses output item sent as is (OpenAI's built-in `apply_patch_call`, say); an
`apply_patch` call with a `patch` argument becomes a freeform custom tool call on the
Responses API when the request offers apply_patch as a custom tool.

Options can also be given per request, in a `[[sim:key=value ...]]` marker anywhere in
the last user message or in an `X-Sim` header: `fault` (429, 500, hang, malformed, cut,
slow; limit: WebSocket mode's "connection limit reached", which ends the socket),
`retry_after` (s, for 429), `after` (tokens sent before malformed/cut), `delay_ms`
(for slow), `times` (apply the fault to the first N requests carrying it), `tokens`
(length of the default answer), `tps` and `ttft_ms` (speed of this one answer).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOKEN_RE = re.compile(r"\s*\S{1,4}|\s+")
MARKER_RE = re.compile(r"\[\[sim:([^\]]*)\]\]")
FAULTS = {"429", "500", "hang", "malformed", "cut", "slow", "limit"}
_WORDS = (
    "value", "result", "items", "index", "count", "name", "path", "return", "self", "data",
    "node", "left", "right", "total", "buffer", "offset", "token", "parse", "emit", "build",
    "check", "update", "render", "config", "handler", "state",
)  # fmt: skip
_OPTION_TYPES = {
    "fault": str, "retry_after": float, "after": int, "delay_ms": float, "times": int,
    "tokens": int, "tps": float, "ttft_ms": float,
}  # fmt: skip


def tokenize(text: str) -> list[str]:
    """Split text into token-like pieces that join back to exactly the text."""
    return TOKEN_RE.findall(text)


def parse_options(raw: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in raw.split():
        key, _, value = item.partition("=")
        kind = _OPTION_TYPES.get(key)
        if kind is None:
            continue
        try:
            options[key] = kind(value)
        except ValueError:
            continue
    if "fault" in options and options["fault"] not in FAULTS:
        options.pop("fault")
    return options


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


@dataclass
class Answer:
    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    fault_key: str = ""
    scripted: bool = False  # a rule decided it (the demo model never overrides a rule)
    reasoning: str = ""


@dataclass
class Rule:
    reply: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    match: str | None = None
    regex: re.Pattern[str] | None = None
    marker: str | None = None
    turn: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    reasoning: str | None = None

    def matches(self, last_user: str, everything: str, turn: int) -> bool:
        if self.match is not None and self.match not in last_user:
            return False
        if self.regex is not None and not self.regex.search(last_user):
            return False
        if self.marker is not None and self.marker not in everything:
            return False
        return self.turn is None or self.turn == turn


def load_script(path: str | Path) -> list[Rule]:
    source = Path(path).read_text()
    if str(path).endswith((".yaml", ".yml")):
        import yaml  # optional: only needed for YAML scripts

        data = yaml.safe_load(source)
    else:
        data = json.loads(source)
    return rules_from(data)


def rules_from(data: Any) -> list[Rule]:
    items = data.get("rules", []) if isinstance(data, dict) else data
    rules = []
    for item in items:
        options = {key: _OPTION_TYPES[key](item[key]) for key in _OPTION_TYPES if key in item}
        rules.append(
            Rule(
                reply=item.get("reply"),
                tool_calls=item.get("tool_calls"),
                match=item.get("match"),
                regex=re.compile(item["regex"]) if item.get("regex") else None,
                marker=item.get("marker"),
                turn=item.get("turn"),
                options=options,
                reasoning=item.get("reasoning"),
            )
        )
    return rules


def _default_text(seed_text: str, tokens: int) -> str:
    """A deterministic, code-ish answer of exactly `tokens` pieces."""
    rng = random.Random(hashlib.sha256(seed_text.encode()).digest())  # noqa: S311
    words = [rng.choice(_WORDS) for _ in range(max(1, tokens))]
    text = " ".join(words)
    pieces = tokenize(text)
    return "".join(pieces[:tokens])


def decide(body: dict[str, Any], rules: list[Rule], header_options: str | None = None) -> Answer:
    messages = body.get("messages") or []
    last_user = ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            last_user = _text(message.get("content"))
            break
    everything = "\n".join(_text(m.get("content")) for m in messages if isinstance(m, dict))
    turn = sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "assistant")
    answer = Answer()
    markers = MARKER_RE.findall(last_user)
    for raw in markers:
        answer.options.update(parse_options(raw))
    if header_options:
        answer.options.update(parse_options(header_options))
    answer.fault_key = " ".join(markers) + "|" + (header_options or "")
    for rule in rules:
        if rule.matches(last_user, everything, turn):
            answer.options = {**rule.options, **answer.options}
            if rule.tool_calls:
                answer.tool_calls = [
                    {
                        "name": call["name"],
                        "arguments": call["arguments"]
                        if isinstance(call.get("arguments"), str)
                        else json.dumps(call.get("arguments", {})),
                        **({"item": call["item"]} if call.get("item") else {}),
                    }
                    for call in rule.tool_calls
                ]
            answer.reasoning = rule.reasoning or ""
            answer.text = rule.reply or ""
            answer.scripted = True
            answer.fault_key = f"rule:{rules.index(rule)}|{answer.fault_key}"
            return answer
    tokens = int(answer.options.get("tokens", 48))
    answer.text = _default_text(last_user, tokens)
    return answer

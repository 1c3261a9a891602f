"""Flint's agent loop: Chat Completions tool calling on the deep tier, within limits.

One step is one model call and the tool calls it asks for. Between steps the loop checks
the cancel flag and its limits (steps, wall clock). Each model call takes the metered
path (editor/assist/metered.py) with the runner's `meter`: admitted by the usage quotas
(the team's monthly budget, the task's own budget, which also caps the step's output),
released and recorded with what it used. When the conversation nears the model's
context window, older tool results are compacted.
A step whose model call fails is retried a few times with backoff (the gateway has
already retried before the first token); then the task fails with the gateway's words.
The loop knows nothing of Django rows: the Celery task gives it hooks (runner.py).

The room steers it between turns: `hooks.inbox` hands over messages from editors, which
enter the conversation as user messages before the next model call (steering.py). With
`hooks.output` the model's answer is streamed and shown as it arrives. A plan-first loop
may only look until it proposes a plan (plans.py): it then ends "waiting", and resumes
from its transcript once an editor approved the plan.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from editor.agents import plans
from editor.agents.tools import UNKNOWN_TOOL, ToolBox, tool_label, tool_quoted
from editor.agents.workcopy import ToolError, WorkingCopy
from editor.assist import errors as model_errors
from editor.assist import metered
from editor.assist.errors import ModelError
from editor.assist.gateway import ChatResult, ModelRequest, Tier
from editor.assist.responses_shape import OUTPUT_KEY
from editor.usage.quotas import QuotaExceeded
from editor.usage.tokens import count_message_tokens, count_tokens

_RETRY_KINDS = {
    model_errors.RATE_LIMITED,
    model_errors.MODEL_DOWN,
    model_errors.TIMEOUT,
    model_errors.CUT_OFF,
}
_COMPACT_KEEP = 4
_COMPACT_HEAD = 300

SYSTEM_PROMPT = """You are Flint's deep coding agent working on a team's project.
You work on a snapshot of the project; your changes become a changeset the team reviews
before it reaches their files. Use the tools: list_files, read_file, search to look,
apply_patch to change files (a unified diff or a '*** Begin Patch' envelope; hunks are
found by their context lines, so include a few unchanged lines around each change),
{commands}and finish(summary) when you are done. Paths are relative to the project root;
nothing outside the project exists. Keep changes focused on the request."""
_COMMANDS_ON = (
    "run_command to run a shell command in a sandbox (no network; the project is at "
    "/work; files it writes are kept), "
)
_COMMANDS_OFF = "(commands are disabled on this worker: there is no sandbox), "


@dataclass
class Limits:
    max_steps: int
    wall_seconds: float
    step_max_tokens: int
    step_retries: int
    compact_at: float


@dataclass
class Hooks:
    """What the loop tells its runner; defaults make it usable alone (tests)."""

    step: Callable[[str, str, str, int], None] = lambda kind, tool, text, tokens: None
    cancelled: Callable[[], bool] = lambda: False
    # Told of every model call's outcome (the metered path has recorded it already).
    usage: Callable[[ChatResult | None, ModelError | None, float], None] = lambda r, e, ms: None
    files_changed: Callable[[WorkingCopy], None] = lambda copy: None
    model_call: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
    sleep: Callable[[float], None] = time.sleep
    # Whom the calls are charged to; None (the loop alone): neither admitted nor recorded.
    meter: metered.Meter | None = None
    # Messages from the room since the last turn, as user messages for the model.
    inbox: Callable[[], list[dict[str, Any]]] = lambda: []
    # Given, the answer is streamed: (turn, text so far, estimated tokens) as it arrives.
    output: Callable[[int, str, int], None] | None = None
    # How long each tool ran, told with its result's log line (tool, ms).
    timed: Callable[[str, int], None] = lambda tool, ms: None


@dataclass
class Outcome:
    status: str  # succeeded | failed | cancelled
    summary: str = ""
    error_kind: str = ""
    error_message: str = ""
    steps: int = 0
    tokens: int = 0
    seconds: float = 0.0
    messages: list[dict[str, Any]] = field(default_factory=list)
    plan: dict[str, Any] | None = None  # status "waiting": the plan proposed


class Cancelled(Exception):
    pass


def compact(messages: list[dict[str, Any]], *, keep: int = _COMPACT_KEEP) -> int:
    """Shorten all but the last `keep` tool results in place; returns how many changed."""
    tool_indexes = [i for i, m in enumerate(messages) if m.get("role") == "tool"]
    changed = 0
    for i in tool_indexes[: max(0, len(tool_indexes) - keep)]:
        content = messages[i].get("content") or ""
        if content.startswith("[compacted"):
            continue
        messages[i]["content"] = (
            f"[compacted to save context; {len(content)} characters, started with:]\n"
            + content[:_COMPACT_HEAD]
        )
        changed += 1
    return changed


class AgentLoop:
    def __init__(
        self,
        *,
        tier: Tier,
        prompt: str,
        copy: WorkingCopy,
        limits: Limits,
        commands: bool,
        hooks: Hooks | None = None,
        messages: list[dict[str, Any]] | None = None,
        plan_first: bool = False,
        instructions: str = "",
        sandbox_extras: Any = None,
    ) -> None:
        self.tier = tier
        self.copy = copy
        self.limits = limits
        self.hooks = hooks or Hooks()
        self.tools = ToolBox(
            copy, commands=commands, cancelled=self.hooks.cancelled, extras=sandbox_extras
        )
        self.tokens = 0
        self.steps = 0
        self.planning = plan_first
        self.started = time.monotonic()
        self.instructions = instructions
        self.messages = messages or self._opening(prompt, commands)
        self._runner: asyncio.Runner | None = None

    def _opening(self, prompt: str, commands: bool) -> list[dict[str, Any]]:
        system = SYSTEM_PROMPT.format(commands=_COMMANDS_ON if commands else _COMMANDS_OFF)
        if self.planning:
            system += "\n\n" + plans.PLAN_INSTRUCTIONS
        if self.instructions:
            system += "\n\n" + self.instructions
        paths = sorted(self.copy.files)
        listing = "\n".join(paths[:200]) + (
            f"\n… {len(paths) - 200} more" if len(paths) > 200 else ""
        )
        scope = ""
        if self.copy.scope:
            scope = f"\nChange only files under: {', '.join(self.copy.scope)}."
        user = f"{prompt}\n{scope}\nThe project has {len(paths)} text files:\n{listing}"
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def _log(self, kind: str, text: str, tool: str = "") -> None:
        self.hooks.step(kind, tool, text, self.tokens)

    def _check(self) -> None:
        if self.hooks.cancelled():
            raise Cancelled

    def _outcome(self, status: str, **fields: Any) -> Outcome:
        return Outcome(
            status=status,
            steps=self.steps,
            tokens=self.tokens,
            seconds=time.monotonic() - self.started,
            messages=self.messages,
            **fields,
        )

    def _limit_reached(self) -> Outcome | None:
        kept = " The changes made so far are kept."
        if self.steps >= self.limits.max_steps:
            message = f"Stopped after {self.steps} steps, the limit per task.{kept}"
            return self._outcome("failed", error_kind="step_limit", error_message=message)
        if time.monotonic() - self.started >= self.limits.wall_seconds:
            message = (
                f"Stopped after {self.limits.wall_seconds:g} s, the time limit per task.{kept}"
            )
            return self._outcome("failed", error_kind="time_limit", error_message=message)
        return None

    def _fit_context(self, aggressive: bool = False) -> None:
        ceiling = self.tier.context_tokens * self.limits.compact_at
        if not aggressive and count_message_tokens(self.messages) < ceiling:
            return
        changed = compact(self.messages, keep=1 if aggressive else _COMPACT_KEEP)
        if count_message_tokens(self.messages) >= ceiling:
            changed += compact(self.messages, keep=0)
        if changed:
            self._log("info", f"compacted {changed} older tool results to fit the context")

    def _call_model(self) -> ChatResult:
        attempt = 0
        compacted = False
        while True:
            self._check()
            request = ModelRequest(
                messages=self.messages,
                tools=self._specs(),
                max_tokens=self.limits.step_max_tokens,
            )
            started = time.perf_counter()
            try:
                call = self._request(request)
            except QuotaExceeded as refused:
                # A rate or stream limit passes; a spent budget does not (the caller ends
                # the task with the refusal's message).
                if refused.reason not in ("rpm", "streams") or attempt >= self.limits.step_retries:
                    raise
                attempt += 1
                self._wait(refused.retry_after or min(8.0, 2.0**attempt), refused.message)
                continue
            except ModelError as error:
                self.hooks.usage(None, error, (time.perf_counter() - started) * 1000)
                if isinstance(error.__cause__, SoftTimeLimitExceeded):
                    # The gateway wraps any exception; an interrupted call (a stop, or the
                    # worker's soft time limit) must end the task, not count as a model error.
                    raise error.__cause__ from None
                if error.kind == model_errors.TOO_LARGE and not compacted:
                    compacted = True
                    self._fit_context(aggressive=True)
                    continue
                if error.kind not in _RETRY_KINDS or attempt >= self.limits.step_retries:
                    raise
                attempt += 1
                self._wait(min(8.0, 1.0 * 2 ** (attempt - 1)), error.message)
                continue
            self.hooks.usage(call.result, None, call.result.duration_ms)
            self.tokens += call.tokens.total
            return call.result

    def _specs(self) -> list[dict[str, Any]]:
        if self.planning:
            return plans.planning_specs(self.tools.specs())
        return self.tools.specs()

    def _request(self, request: ModelRequest) -> metered.Metered:
        """One model call: streamed into the log when someone watches, else whole."""
        if self.hooks.output is None:
            return metered.complete_sync(
                meter=self.hooks.meter, tier=self.tier, request=request,
                around=self.hooks.model_call,
            )  # fmt: skip
        if self._runner is None:
            self._runner = asyncio.Runner()
        turn, parts = self.steps + 1, []
        show = self.hooks.output

        def on_text(text: str) -> None:
            parts.append(text)
            so_far = "".join(parts)
            show(turn, so_far, self.tokens + count_tokens(so_far))

        try:
            return metered.stream_sync(
                meter=self.hooks.meter, tier=self.tier, request=request, runner=self._runner,
                on_text=on_text, cancelled=self.hooks.cancelled,
            )  # fmt: skip
        except metered.CallCancelled:
            raise Cancelled from None

    def _wait(self, seconds: float, why: str) -> None:
        self._log("error", f"{why} Retrying in {seconds:g} s.")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._check()
            self.hooks.sleep(0.1)

    def run(self) -> Outcome:
        try:
            return self._run()
        except Cancelled:
            return self._outcome("cancelled", error_message="Stopped by a user.")
        finally:
            if self._runner is not None:
                self._runner.close()
                self._runner = None

    def _take_inbox(self) -> None:
        """Messages from the room since the last turn join the conversation now."""
        for message in self.hooks.inbox():
            self.messages.append(message)

    def _run(self) -> Outcome:
        while True:
            self._check()
            limit = self._limit_reached()
            if limit is not None:
                return limit
            self._take_inbox()
            self._fit_context()
            try:
                result = self._call_model()
            except (ModelError, QuotaExceeded) as error:
                self._log("error", error.message)
                # A quota refusal says which limit (team_budget, task_budget, …).
                kind = getattr(error, "reason", "") or error.kind
                return self._outcome("failed", error_kind=kind, error_message=error.message)
            self.steps += 1
            message: dict[str, Any] = {"role": "assistant", "content": result.text or None}
            if result.tool_calls:
                message["tool_calls"] = result.tool_calls
            if OUTPUT_KEY in result.message:
                # The Responses wire's own items (encrypted reasoning, call types) go back
                # with the next request; the chat shape above is what Flint reads.
                message[OUTPUT_KEY] = result.message[OUTPUT_KEY]
            self.messages.append(message)
            if result.reasoning:
                self._log("reasoning", result.reasoning[:4000])  # a summary, never raw
            if result.text.strip():
                self._log("model_text", result.text.strip())
            if not result.tool_calls:
                # An answer without tool calls is the model saying it is done.
                return self._outcome("succeeded", summary=result.text.strip()[:4000])
            finished: str | None = None
            proposed: dict[str, Any] | None = None
            for call in result.tool_calls:
                if finished is not None or proposed is not None:
                    # Calls after finish or a plan are answered, not run: a chat
                    # conversation needs an answer for each.
                    self._answer(call, "Not run: the task already ended this turn.")
                elif self.planning and _name(call) == plans.PLAN_TOOL:
                    proposed = self._propose(call)
                else:
                    finished = self._tool(call)
            if proposed is not None:
                return self._outcome("waiting", plan=proposed)
            if finished is not None:
                return self._outcome("succeeded", summary=finished)

    def _answer(self, call: dict[str, Any], content: str) -> None:
        self.messages.append(
            {"role": "tool", "tool_call_id": call.get("id") or _name(call), "content": content}
        )

    def _propose(self, call: dict[str, Any]) -> dict[str, Any] | None:
        """The model's plan: kept (the loop then waits) or refused back to the model."""
        self._log("tool_call", "propose_plan", tool=plans.PLAN_TOOL)
        try:
            plan = plans.plan_parse((call.get("function") or {}).get("arguments"))
        except plans.PlanInvalid as exc:
            self._answer(call, f"Error: {exc}")
            self._log("tool_result", f"Error: {exc}", tool=plans.PLAN_TOOL)
            return None
        self._answer(call, "Plan proposed; waiting for an editor of the room to approve it.")
        return plan

    def _tool(self, call: dict[str, Any]) -> str | None:
        """Run one tool call, answer it in the conversation; the summary if it finished."""
        self._check()
        function = call.get("function") or {}
        name = str(function.get("name") or "")
        arguments = function.get("arguments") or "{}"
        # The log (and the room's pages) carry only our own tool names; anything else the
        # model names is data, shown quoted and cut short (ToolBox.call refuses it).
        label = tool_label(name)
        if label == UNKNOWN_TOOL:
            self._log("tool_call", f"{UNKNOWN_TOOL} {tool_quoted(name)}", tool=label)
        else:
            self._log("tool_call", _describe(name, arguments), tool=label)
        finished = None
        started = time.monotonic()
        try:
            if self.planning and name in plans.ACTING_TOOLS:
                raise ToolError(plans.NOT_YET)
            outcome = self.tools.call(name, arguments)
            content, short = outcome.content, outcome.short
            if outcome.changed_files:
                self.hooks.files_changed(self.copy)
            if outcome.finished:
                finished = outcome.short
        except ToolError as exc:
            content = short = f"Error: {exc}"
        self.messages.append(
            {"role": "tool", "tool_call_id": call.get("id") or name, "content": content}
        )
        self.hooks.timed(label, int((time.monotonic() - started) * 1000))
        self._log("tool_result", short[:2000], tool=label)
        return finished


def _name(call: dict[str, Any]) -> str:
    return str((call.get("function") or {}).get("name") or "")


def _diff_name(raw: str) -> str:
    """The project path a `+++ b/path` line names, as the log shows paths ("" for a delete)."""
    name = raw.split("\t", 1)[0].strip()
    if name == "/dev/null":
        return ""
    return name[2:] if name.startswith(("a/", "b/")) else name


def _describe(name: str, arguments: Any) -> str:
    """A one-line description of a call for the log."""
    try:
        args = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
        return f"{name}(…)"
    if not isinstance(args, dict):
        return name
    if name == "apply_patch":
        patch = str(args.get("patch") or "")
        files = [
            line.split(":", 1)[1].strip() if line.startswith("***") else _diff_name(line[4:])
            for line in patch.splitlines()
            if line.startswith(("*** Add File:", "*** Update File:", "*** Delete File:", "+++ "))
        ]
        return f"apply_patch {', '.join(f for f in files if f)}"
    if name == "run_command":
        return f"$ {str(args.get('command'))[:500]}"
    if name == "finish":
        return "finish"
    shown = ", ".join(f"{k}={v!r}" for k, v in args.items())
    return f"{name}({shown[:300]})"

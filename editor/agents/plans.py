"""Plan first: the model proposes a plan, an editor approves, edits or rejects it.

While planning the loop offers only the tools that look (list_files, read_file, search)
and `propose_plan(steps, files)`; anything that acts is refused as a tool error. A
proposed plan ends the run with the task `waiting` (no worker is held); a decision
(services below) either queues it again, resuming from its transcript with the approved
plan as the next user message, or ends it. A plan left undecided for
FLINT_AGENTS_PLAN_EXPIRE_S expires (the sweep): `failed`, `plan_expired`.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from editor.agents.models import Task, TaskStatus
from editor.agents.progress import status_send, step_add
from editor.core.errors import Conflict, Invalid
from editor.projects.paths import path_normalize
from editor.rooms.permissions import Action, require

PLAN_TOOL = "propose_plan"
ACTING_TOOLS = {"apply_patch", "run_command", "finish"}
NOT_YET = (
    "Not yet: this task plans first. Look around with list_files, read_file and search, "
    "then call propose_plan; you can change files once an editor approves the plan."
)
PLAN_INSTRUCTIONS = (
    "This task plans first: before changing anything, look at the project and call "
    "propose_plan with the steps you will take and the files you expect to touch. An editor "
    "of the room approves, edits or rejects it; you continue once it is approved."
)
STEPS_MAX = 30
STEP_CHARS = 500
FILES_MAX = 100
NOTE_MAX = 2000

PLAN_SPEC = {
    "type": "function",
    "function": {
        "name": PLAN_TOOL,
        "description": "Propose your plan: the steps and the files you expect to change. "
        "The task waits for an editor to approve it.",
        "parameters": {
            "type": "object",
            "properties": {
                "steps": {"type": "array", "items": {"type": "string"}},
                "files": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["steps"],
            "additionalProperties": False,
        },
    },
}


class PlanInvalid(ValueError):
    pass


def planning_specs(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tools offered while planning: the ones that look, and propose_plan."""
    looking = [s for s in specs if s.get("function", {}).get("name") not in ACTING_TOOLS]
    return [*looking, PLAN_SPEC]


def plan_parse(raw: Any) -> dict[str, Any]:
    """A plan from the model's arguments or an editor's edit; PlanInvalid says what is wrong."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise PlanInvalid("The plan is not valid JSON.") from None
    if not isinstance(raw, dict):
        raise PlanInvalid('A plan is an object: {"steps": [...], "files": [...]}.')
    steps = raw.get("steps")
    if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
        raise PlanInvalid("`steps` is a list of short sentences, one per step.")
    steps = [s.strip() for s in steps if s.strip()]
    if not steps:
        raise PlanInvalid("The plan has no steps: say at least one thing the task will do.")
    if len(steps) > STEPS_MAX:
        raise PlanInvalid(f"The plan has {len(steps)} steps; at most {STEPS_MAX}.")
    if any(len(s) > STEP_CHARS for s in steps):
        raise PlanInvalid(f"Each step is at most {STEP_CHARS} characters.")
    files = raw.get("files") or []
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise PlanInvalid("`files` is a list of project paths.")
    if len(files) > FILES_MAX:
        raise PlanInvalid(f"The plan names {len(files)} files; at most {FILES_MAX}.")
    cleaned = []
    for path in files:
        try:
            cleaned.append(path_normalize(path.strip(), portable=False))
        except Exception as exc:  # the paths module says what is wrong with it
            raise PlanInvalid(f"{path[:100]!r} is not a project path: {exc}") from None
    return {"steps": steps, "files": cleaned}


def plan_text(plan: dict[str, Any]) -> str:
    lines = [f"{i}. {step}" for i, step in enumerate(plan.get("steps") or [], start=1)]
    if plan.get("files"):
        lines.append("Files: " + ", ".join(plan["files"]))
    return "\n".join(lines)


def plan_proposed(task: Task, plan: dict[str, Any]) -> None:
    """The runner's end of a planning run: the task waits for a decision."""
    step_add(task=task, kind="plan", text=plan_text(plan))
    expires = float(settings.FLINT_AGENTS_PLAN_EXPIRE_S)
    step_add(
        task=task,
        kind="info",
        text=f"Waiting for an editor to approve, edit or reject the plan (it expires in "
        f"{_duration(expires)}).",
    )


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _waiting(task: Task) -> Task:
    task = Task.objects.select_for_update().select_related("room").get(pk=task.pk)
    if task.status != TaskStatus.WAITING:
        raise Conflict(
            f"Task #{task.pk} is not waiting for a plan decision (it is {task.status}).",
            code="not_waiting",
        )
    return task


def plan_decide(
    *,
    task: Task,
    actor: AbstractBaseUser,
    decision: str,
    plan: Any = None,
    message: str = "",
) -> Task:
    """An editor's decision on a waiting plan: "approve" (optionally with an edited `plan`)
    or "reject" (with a `message`, which ends the task)."""
    require(actor, Action.ROOM_EDIT, task.room)
    if decision not in ("approve", "reject"):
        raise Invalid('`decision` is "approve" or "reject".')
    message = (message or "").strip()[:NOTE_MAX] if isinstance(message, str) else ""
    who = actor.get_username()
    edited = None
    if decision == "approve" and plan is not None:
        try:
            edited = plan_parse(plan)
        except PlanInvalid as exc:
            # Shown in the log too (not rolled back): the room sees why the edit did not take.
            if task.status == TaskStatus.WAITING:
                step_add(task=task, kind="error", text=f"{who}'s plan edit was refused: {exc}")
            raise Invalid(f"That plan can't be used: {exc}", code="bad_plan") from None
    with transaction.atomic():
        return _decide(task, actor, decision, edited, message)


def _decide(
    task: Task, actor: AbstractBaseUser, decision: str, edited: dict | None, message: str
) -> Task:
    from editor.agents.services import enqueue_on_commit

    task = _waiting(task)
    who = actor.get_username()
    if decision == "reject":
        why = f"Plan rejected by {who}" + (f": {message}" if message else ".")
        Task.objects.filter(pk=task.pk).update(
            status=TaskStatus.CANCELLED, plan_status="rejected", plan_decided_by=actor,
            error_kind="plan_rejected", error_message=why[:500], finished_at=timezone.now(),
        )  # fmt: skip
        step_add(task=task, kind="plan", text=why, author=who)
        task.refresh_from_db()
        status_send(task)
        return task
    approved = edited or task.plan or {}
    # The run resumes from its transcript: the approval is the model's next user message.
    transcript = [*(task.transcript or []), approval_message(who, approved, message)]
    Task.objects.filter(pk=task.pk).update(
        status=TaskStatus.QUEUED, plan=approved, plan_status="approved", plan_decided_by=actor,
        heartbeat_at=None, transcript=transcript,
    )  # fmt: skip
    said = f"Plan approved by {who}" + (":\n" + plan_text(approved) if edited else ".")
    if message:
        said += f"\nNote: {message}"
    step_add(task=task, kind="plan", text=said, author=who)
    task.refresh_from_db()
    status_send(task)
    enqueue_on_commit(task)
    return task


def approval_message(who: str, plan: dict[str, Any], note: str = "") -> dict[str, str]:
    """What the model reads when it resumes after the approval."""
    text = f"{who} approved this plan; carry it out now (you may change files):\n"
    text += plan_text(plan)
    if note:
        text += f"\nTheir note: {note}"
    return {"role": "user", "content": text}


def plans_expire(now=None) -> int:
    """For the sweep: waiting plans nobody decided on in time end `failed`."""
    now = now or timezone.now()
    seconds = float(settings.FLINT_AGENTS_PLAN_EXPIRE_S)
    late = Task.objects.filter(
        status=TaskStatus.WAITING, finished_at__isnull=True,
        heartbeat_at__lt=now - timedelta(seconds=seconds),
    )  # fmt: skip
    ended = 0
    for task in late:
        why = (
            f"The plan waited {_duration(seconds)} without a decision and expired; start the "
            "task again to get a new plan."
        )
        done = Task.objects.filter(pk=task.pk, status=TaskStatus.WAITING).update(
            status=TaskStatus.FAILED, plan_status="expired", error_kind="plan_expired",
            error_message=why, finished_at=now,
        )  # fmt: skip
        if done:
            ended += 1
            task.refresh_from_db()
            step_add(task=task, kind="error", text=why)
            status_send(task)
    return ended

"""Follow-ups: continue a finished task with a new instruction, from its result.

The follow-up carries the first task's conversation (its transcript, then the new
instruction as a user message) and starts from its result, applied or not: a snapshot of
the live project with the task's pending (or conflicted) proposals laid over it (applied
files are live already; rejected ones stay out: the team turned them down). Its own
changeset is what it changes from there. The chain of tasks is one thread (`thread` is the
first task), which the room shows together.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from editor.agents.models import (
    FINISHED,
    ChangeFile,
    ChangeStatus,
    Snapshot,
    SnapshotFile,
    Task,
)
from editor.agents.services import PROMPT_MAX, _create_runs, snapshot_take
from editor.core.errors import Conflict, Invalid
from editor.rooms.permissions import Action, require

STOPPED_CALL = "Not run: the task stopped before this call."


def _stopped(calls: list[str]) -> list[dict[str, Any]]:
    return [{"role": "tool", "tool_call_id": c, "content": STOPPED_CALL} for c in calls]


def transcript_resumable(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The transcript with an answer for every tool call (a stop can leave some unanswered,
    which a chat conversation refuses), and no trailing half-done turn."""
    out: list[dict[str, Any]] = []
    open_calls: list[str] = []
    for message in messages:
        if message.get("role") != "tool" and open_calls:
            out += _stopped(open_calls)
            open_calls = []
        out.append(dict(message))
        if message.get("role") == "assistant":
            open_calls = [c.get("id") for c in message.get("tool_calls") or [] if c.get("id")]
        elif message.get("role") == "tool" and message.get("tool_call_id") in open_calls:
            open_calls.remove(message.get("tool_call_id"))
    return out + _stopped(open_calls)


def _snapshot_with_result(task: Task) -> Snapshot:
    snapshot = snapshot_take(room=task.room)
    proposals = ChangeFile.objects.filter(
        task=task, status__in=[ChangeStatus.PENDING, ChangeStatus.CONFLICT]
    )
    for change in proposals:
        SnapshotFile.objects.filter(snapshot=snapshot, path=change.path).delete()
        if change.proposed_text is not None:
            SnapshotFile.objects.create(
                snapshot=snapshot,
                path=change.path,
                file_id=change.file_id,
                doc_id=change.doc_id,
                text=change.proposed_text,
            )
    return snapshot


@transaction.atomic
def task_follow_up(*, task: Task, actor: AbstractBaseUser, prompt: str) -> Task:
    """A new task continuing `task` (finished) with `prompt`, from its conversation and result."""
    require(actor, Action.ROOM_EDIT, task.room)
    if not isinstance(prompt, str) or not prompt.strip():
        raise Invalid("Say what the follow-up should do: the instruction is empty.")
    if len(prompt) > PROMPT_MAX:
        raise Invalid(f"The instruction is {len(prompt)} characters; at most {PROMPT_MAX}.")
    if task.status not in FINISHED:
        raise Conflict(
            f"Task #{task.pk} is still {task.status}: send it a message instead, or wait for "
            "it to finish before following it up.",
            code="not_finished",
        )
    prompt = prompt.strip()
    messages = transcript_resumable(list(task.transcript or []))
    if not messages:
        raise Conflict(
            f"Task #{task.pk} has no conversation to continue (it never started); retry it "
            "instead.",
            code="no_transcript",
        )
    messages.append(
        {
            "role": "user",
            "content": f"Follow-up from {actor.get_username()}: {prompt}\n"
            "The project now holds your previous changes (whether or not the team applied "
            "them yet), plus whatever the team changed since. Continue from there.",
        }
    )
    return _create_runs(
        room=task.room,
        actor=actor,
        prompt=prompt,
        scope=list(task.scope or []),
        attempts=1,
        snapshot=_snapshot_with_result(task),
        follow_up_of=task,
        transcript=messages,
    )[0]

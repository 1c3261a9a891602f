"""A task's log and status: stored first, then sent to the room, so nothing live is lost.

Every send is `room_event_send`: Django's `transaction.on_commit(..., robust=True)` sends
after the surrounding transaction commits, or at once in a worker outside any (and a
broken relay is logged, never raised: the log is stored already). See docs/PROTOCOL.md,
"Deep tasks", for the events.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Max

from editor.agents.models import Task, TaskStep
from editor.agents.present import step_out, task_brief
from editor.rooms.events import room_event_send

STEP_TEXT_MAX = 4000
_TOOL_MAX = TaskStep._meta.get_field("tool").max_length


def step_add(
    *,
    task: Task,
    kind: str,
    text: str,
    tool: str = "",
    tokens: int = 0,
    author: str = "",
    elapsed_ms: int | None = None,
) -> TaskStep:
    """Store one log line of a task and tell the room (`task.step`)."""
    text = text if len(text) <= STEP_TEXT_MAX else text[: STEP_TEXT_MAX - 1] + "…"
    tool = tool[:_TOOL_MAX]  # PostgreSQL enforces the column's length (SQLite does not)
    for _ in range(5):
        seq = (TaskStep.objects.filter(task=task).aggregate(m=Max("seq"))["m"] or 0) + 1
        try:
            with transaction.atomic():
                step = TaskStep.objects.create(
                    task=task, seq=seq, kind=kind, tool=tool, text=text, tokens=tokens,
                    author=author[:150], elapsed_ms=elapsed_ms,
                )  # fmt: skip
            break
        except IntegrityError:  # two writers (a sweep and the worker) took the same seq
            continue
    else:
        raise RuntimeError("could not number a task step")
    payload = {"task": task.pk, "group": str(task.group), "variant": task.variant}
    payload["step"] = step_out(step)
    room_event_send(task.room_id, "task.step", payload)
    return step


def status_send(task: Task) -> None:
    """Tell the room a task's status (and counters) changed (`task.status`)."""
    payload = {"task": task_brief(task)}
    room_event_send(task.room_id, "task.status", payload)


def output_send(task: Task, *, turn: int, text: str, tokens: int) -> None:
    """The model's output so far in the turn it is writing (`task.output`, not stored: the
    whole text becomes a `model_text` step when the turn ends)."""
    payload = {"task": task.pk, "turn": turn, "text": text[-STEP_TEXT_MAX:], "tokens": tokens}
    room_event_send(task.room_id, "task.output", payload)

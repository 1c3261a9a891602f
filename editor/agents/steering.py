"""Messages to a running task: any editor of the room steers it between the model's turns.

A message is stored (`TaskMessage`), shown in the log at once (a `message` step with its
author) and taken by the runner before the next model call, where it enters the
conversation as a user message (an appended chat message; the Responses wire turns it into
an input item itself). Once delivered an `info` step says so; the model's next step is its
answer. A message to a finished task is refused with a message that says what to do
instead; one that arrives while the task is ending is reported as not delivered.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from editor.agents.models import FINISHED, Task, TaskMessage, TaskStatus
from editor.agents.progress import step_add
from editor.core.errors import Conflict, Invalid
from editor.rooms.permissions import Action, require

MESSAGE_MAX = 4000
PENDING_MAX = 20  # undelivered messages per task: a flood waits for the model to catch up


def _explain_finished(task: Task) -> str:
    ended = {
        TaskStatus.SUCCEEDED: "has finished",
        TaskStatus.FAILED: "has failed",
        TaskStatus.CANCELLED: "was stopped",
    }[TaskStatus(task.status)]
    return (
        f"Task #{task.pk} {ended}, so it can't take messages any more. "
        "Start a follow-up to continue from its result."
    )


def task_message_send(*, task: Task, actor: AbstractBaseUser, text: str) -> TaskMessage:
    """An editor's message to a queued, running or waiting task, for its next model turn."""
    require(actor, Action.ROOM_EDIT, task.room)
    if not isinstance(text, str) or not text.strip():
        raise Invalid("The message is empty: say what the task should do differently.")
    text = text.strip()
    if len(text) > MESSAGE_MAX:
        raise Invalid(f"The message is {len(text)} characters; at most {MESSAGE_MAX}.")
    with transaction.atomic():
        task = Task.objects.select_for_update().select_related("room").get(pk=task.pk)
        if task.status not in FINISHED:
            pending = TaskMessage.objects.filter(task=task, delivered_at__isnull=True).count()
            if pending >= PENDING_MAX:
                raise Conflict(
                    f"This task already has {pending} messages it has not read yet; wait "
                    "for its next step.",
                    code="too_many_messages",
                )
            message = TaskMessage.objects.create(
                task=task, author=actor, author_name=actor.get_username(), text=text
            )
            step_add(task=task, kind="message", text=text, author=actor.get_username())
            return message
    # Outside the transaction: the refusal is in the log for everyone, not rolled back.
    step_add(
        task=task,
        kind="info",
        text=f"A message from {actor.get_username()} arrived after the task ended and was "
        "not delivered; start a follow-up to continue.",
    )
    raise Conflict(_explain_finished(task), code="task_finished")


def inbox_take(task_id: int) -> list[TaskMessage]:
    """For the runner, between turns: the undelivered messages, marked delivered."""
    with transaction.atomic():
        pending = list(
            TaskMessage.objects.select_for_update()
            .filter(task_id=task_id, delivered_at__isnull=True)
            .order_by("id")
        )
        if pending:
            TaskMessage.objects.filter(pk__in=[m.pk for m in pending]).update(
                delivered_at=timezone.now()
            )
    return pending


def as_model_input(message: TaskMessage) -> dict[str, str]:
    """A steering message as the conversation's next user message."""
    return {
        "role": "user",
        "content": (
            f"Message from {message.author_name}, an editor in the room, while you work:\n"
            f"{message.text}\n"
            "Take it into account from now on, and say briefly how in your next step."
        ),
    }


def undelivered_report(task: Task) -> None:
    """After a task ended: messages it never read get a line in the log (nothing is lost
    silently), and are marked so a later look does not report them twice."""
    late = list(TaskMessage.objects.filter(task=task, delivered_at__isnull=True))
    if not late:
        return
    TaskMessage.objects.filter(pk__in=[m.pk for m in late]).update(delivered_at=timezone.now())
    names = ", ".join(sorted({m.author_name for m in late}))
    step_add(
        task=task,
        kind="info",
        text=f"{len(late)} message(s) from {names} arrived as the task ended and were not "
        "delivered; start a follow-up to continue.",
    )

"""Tasks, steps, changes and comments as JSON: the one shape for the API and the room socket.

Each shape is declared once, as the API's output schema; the presenters fill its fields
from a row (by name, or by the few values computed below), so the socket events and the
API answers cannot drift apart. Times are ISO 8601 strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema

from editor.agents.diffs import file_diff
from editor.agents.models import (
    ChangeFile,
    Checkpoint,
    ReviewComment,
    ReviewRun,
    Task,
    TaskStep,
)


class TaskOut(Schema):
    id: int
    room: int
    created_by: str | None
    prompt: str
    scope: list[str]
    status: str
    group: str
    variant: int
    variants: int
    picked: bool
    retry_of: int | None
    model: str
    steps_used: int
    tokens_used: int
    seconds_used: float
    summary: str
    error_kind: str
    error_message: str
    commands_enabled: bool | None
    plan_first: bool
    plan: dict[str, Any] | None
    plan_status: str
    plan_decided_by: str | None
    follow_up_of: int | None
    thread: int | None
    rules_used: list[str]
    cancel_requested: bool
    worker: str
    heartbeat_at: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None


class StepOut(Schema):
    seq: int
    kind: str
    tool: str
    text: str
    tokens: int
    author: str
    elapsed_ms: int | None
    at: str | None


class HunkOut(Schema):
    index: int
    header: str
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    lines: list[str]


class ChangeBriefOut(Schema):
    """A changed file without its diff (what the socket sends when its status changes)."""

    path: str
    file_id: int | None
    doc_id: str | None
    change: str
    status: str
    conflicts: list[dict[str, Any]]
    applied_hunks: list[int] | None
    applied_at: str | None
    applied_by: str | None


class ChangeOut(ChangeBriefOut):
    diff: str
    hunks: list[HunkOut]
    added: int
    removed: int


class TaskDetailOut(TaskOut):
    steps: list[StepOut]
    changes: list[ChangeOut]


class CheckpointFileOut(Schema):
    path: str
    change: str  # add | modify | delete
    added: int
    removed: int
    applied: bool  # still applied by this checkpoint (False once undone)


class CheckpointOut(Schema):
    """One applied change set on the room's timeline."""

    id: int
    task: int
    task_prompt: str
    task_started_by: str | None
    files: list[CheckpointFileOut]
    added: int
    removed: int
    applied_by: str | None
    applied_at: str | None
    undone: bool
    undone_by: str | None
    undone_at: str | None


class ReviewOut(Schema):
    id: int
    room: int
    target: str
    path: str
    task: int | None
    status: str
    model: str
    error_kind: str
    error_message: str
    created_at: str | None
    finished_at: str | None


class CommentOut(Schema):
    id: int
    run: int
    task: int | None
    path: str
    doc_id: str | None
    line: int
    line_text: str
    severity: str
    body: str
    resolved: bool
    resolved_by: str | None
    resolved_at: str | None
    created_at: str | None


class ReviewDetailOut(ReviewOut):
    comments: list[CommentOut]


def _shaped(shape: type[Schema], row: Any, **computed: Any) -> dict[str, Any]:
    """`shape`'s fields, each from `computed` or else the row's attribute of that name."""
    out: dict[str, Any] = {}
    for name in shape.model_fields:
        value = computed[name] if name in computed else getattr(row, name)
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def task_brief(task: Task) -> dict[str, Any]:
    return _shaped(
        TaskOut,
        task,
        room=task.room_id,
        created_by=_username(task.created_by) if task.created_by_id else None,
        group=str(task.group),
        retry_of=task.retry_of_id,
        seconds_used=round(task.seconds_used, 2),
        cancel_requested=task.cancel_requested_at is not None,
        plan_decided_by=_username(task.plan_decided_by) if task.plan_decided_by_id else None,
        follow_up_of=task.follow_up_of_id,
        thread=task.thread_id,
    )


def step_out(step: TaskStep) -> dict[str, Any]:
    return _shaped(StepOut, step, at=step.created_at)


def change_out(change: ChangeFile, *, with_diff: bool = True) -> dict[str, Any]:
    if change.base_text is None:
        kind = "add"
    elif change.proposed_text is None:
        kind = "delete"
    else:
        kind = "modify"
    computed: dict[str, Any] = {
        "doc_id": str(change.doc_id) if change.doc_id else None,
        "change": kind,
        "applied_by": _username(change.applied_by) if change.applied_by_id else None,
    }
    if not with_diff:
        return _shaped(ChangeBriefOut, change, **computed)
    diff = file_diff(change.path, change.base_text, change.proposed_text)
    return _shaped(
        ChangeOut,
        change,
        **computed,
        diff=diff.text,
        hunks=diff.hunks_out(),
        added=diff.added,
        removed=diff.removed,
    )


def checkpoint_out(checkpoint: Checkpoint, still_applied: set[str]) -> dict[str, Any]:
    """`still_applied`: the paths this checkpoint's files still hold applied."""
    files = [{**f, "applied": f["path"] in still_applied} for f in checkpoint.files]
    task = checkpoint.task
    return _shaped(
        CheckpointOut,
        checkpoint,
        task=checkpoint.task_id,
        task_prompt=task.prompt[:200],
        task_started_by=_username(task.created_by) if task.created_by_id else None,
        files=files,
        added=sum(f["added"] for f in files),
        removed=sum(f["removed"] for f in files),
        applied_by=_username(checkpoint.applied_by) if checkpoint.applied_by_id else None,
        undone=checkpoint.undone_at is not None,
        undone_by=_username(checkpoint.undone_by) if checkpoint.undone_by_id else None,
    )


def run_out(run: ReviewRun) -> dict[str, Any]:
    return _shaped(ReviewOut, run, room=run.room_id, task=run.task_id)


def comment_out(comment: ReviewComment) -> dict[str, Any]:
    return _shaped(
        CommentOut,
        comment,
        run=comment.run_id,
        task=comment.task_id,
        doc_id=str(comment.doc_id) if comment.doc_id else None,
        resolved_by=_username(comment.resolved_by) if comment.resolved_by_id else None,
    )

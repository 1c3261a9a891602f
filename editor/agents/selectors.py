"""Reads of tasks, their logs and changesets, and review comments (already authorized)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from editor.agents.models import (
    ChangeFile,
    ChangeStatus,
    Checkpoint,
    ReviewComment,
    ReviewRun,
    Task,
    TaskStep,
)
from editor.agents.present import (
    change_out,
    checkpoint_out,
    comment_out,
    run_out,
    step_out,
    task_brief,
)
from editor.core.errors import NotFound
from editor.rooms.models import Room
from editor.rooms.permissions import Action, require

LIST_MAX = 200


def task_list(*, room: Room, actor: AbstractBaseUser) -> list[dict[str, Any]]:
    """The room's tasks, newest first (the caller sweeps lost ones first: tasks_sweep)."""
    require(actor, Action.ROOM_VIEW, room)
    rows = Task.objects.filter(room=room).select_related("created_by")[:LIST_MAX]
    return [task_brief(t) for t in rows]


def task_get(*, room: Room, actor: AbstractBaseUser, task_id: int) -> Task:
    require(actor, Action.ROOM_VIEW, room)
    task = Task.objects.filter(room=room, pk=task_id).select_related("room", "created_by").first()
    if task is None:
        raise NotFound("No such task in this room.")
    return task


def task_detail(*, room: Room, actor: AbstractBaseUser, task_id: int) -> dict[str, Any]:
    """A task with its whole log and its changeset (unified diff and hunks per file)."""
    task = task_get(room=room, actor=actor, task_id=task_id)
    steps = TaskStep.objects.filter(task=task).order_by("seq")
    changes = ChangeFile.objects.filter(task=task).select_related("applied_by")
    return {
        **task_brief(task),
        "steps": [step_out(s) for s in steps],
        "changes": [change_out(c) for c in changes],
    }


def checkpoint_list(*, room: Room, actor: AbstractBaseUser) -> list[dict[str, Any]]:
    """The room's applied change sets, newest first: what, by whom, when, undone or not."""
    require(actor, Action.ROOM_VIEW, room)
    rows = list(
        Checkpoint.objects.filter(room=room).select_related(
            "task", "task__created_by", "applied_by", "undone_by"
        )[:LIST_MAX]
    )
    still: dict[int, set[str]] = {row.pk: set() for row in rows}
    applied = ChangeFile.objects.filter(
        checkpoint__in=[row.pk for row in rows], status=ChangeStatus.APPLIED
    ).values_list("checkpoint_id", "path")
    for checkpoint_id, path in applied:
        still[checkpoint_id].add(path)
    return [checkpoint_out(row, still[row.pk]) for row in rows]


def comment_get(*, room: Room, actor: AbstractBaseUser, comment_id: int) -> ReviewComment:
    require(actor, Action.ROOM_VIEW, room)
    comment = ReviewComment.objects.filter(room=room, pk=comment_id).select_related("room").first()
    if comment is None:
        raise NotFound("No such comment in this room.")
    return comment


def comments_list(
    *,
    room: Room,
    actor: AbstractBaseUser,
    path: str | None = None,
    task_id: int | None = None,
    resolved: bool | None = None,
) -> list[dict[str, Any]]:
    require(actor, Action.ROOM_VIEW, room)
    rows = ReviewComment.objects.filter(room=room).select_related("resolved_by")
    if path is not None:
        rows = rows.filter(path=path)
    if task_id is not None:
        rows = rows.filter(task_id=task_id)
    if resolved is not None:
        rows = rows.filter(resolved=resolved)
    return [comment_out(c) for c in rows[:1000]]


def review_get(*, room: Room, actor: AbstractBaseUser, run_id: int) -> dict[str, Any]:
    require(actor, Action.ROOM_VIEW, room)
    run = ReviewRun.objects.filter(room=room, pk=run_id).first()
    if run is None:
        raise NotFound("No such review in this room.")
    comments = ReviewComment.objects.filter(run=run).select_related("resolved_by")
    return {**run_out(run), "comments": [comment_out(c) for c in comments]}

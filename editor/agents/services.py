"""Writes of deep tasks: start (snapshot + enqueue), cancel, retry, pick a variant, sweep.

Applying and undoing changesets live in changesets.py; review runs in review.py.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from editor.agents.models import (
    FINISHED,
    ChangeFile,
    ChangeStatus,
    Snapshot,
    SnapshotFile,
    Task,
    TaskStatus,
)
from editor.agents.progress import status_send, step_add
from editor.core.errors import Conflict, Invalid
from editor.projects.models import ProjectFile
from editor.projects.paths import path_key, path_normalize
from editor.projects.selectors import file_text_current
from editor.rooms.models import Room
from editor.rooms.permissions import Action, require

log = logging.getLogger(__name__)
PROMPT_MAX = 20_000
SCOPE_MAX = 50
ATTEMPTS_MAX = 4
WORKER_LOST = (
    "The worker running this task stopped (worker lost). The changes so far are kept; "
    "retry to run it again."
)


def _scope_clean(room: Room, scope: list[str] | None) -> list[str]:
    if scope is None:
        return []
    if not isinstance(scope, list) or not all(isinstance(s, str) for s in scope):
        raise Invalid("`scope` is a list of file or folder paths.")
    if len(scope) > SCOPE_MAX:
        raise Invalid(f"A task's scope names at most {SCOPE_MAX} paths.")
    cleaned = []
    keys = set(ProjectFile.objects.filter(room=room).values_list("path_key", flat=True))
    for raw in scope:
        path = path_normalize(raw, is_dir=raw.endswith("/"), portable=False)  # existing paths
        key = path_key(path)
        if key not in keys and not any(k.startswith(key + "/") for k in keys):
            raise Invalid(f"{path}: no such file or folder in this project.", code="bad_scope")
        cleaned.append(path)
    return cleaned


def snapshot_take(*, room: Room) -> Snapshot:
    """Copy the live text of every editable file; bounded by the project's own limits."""
    snapshot = Snapshot.objects.create(room=room)
    rows = []
    for file in ProjectFile.objects.filter(room=room, editable=True).order_by("path"):
        text = file_text_current(file)
        if text is None:
            continue
        rows.append(
            SnapshotFile(
                snapshot=snapshot, path=file.path, file_id=file.pk, doc_id=file.doc_id, text=text
            )
        )
    SnapshotFile.objects.bulk_create(rows, batch_size=200)
    return snapshot


def _enqueue(task: Task) -> None:
    from editor.agents.tasks import run_task

    run_task.apply_async(args=[task.pk], task_id=task.celery_id, queue=settings.FLINT_AGENTS_QUEUE)


def enqueue_on_commit(task: Task) -> None:
    """Queue a task (again: an approved plan) on a fresh Celery id once this commits."""
    celery_id = str(uuid.uuid4())
    Task.objects.filter(pk=task.pk).update(celery_id=celery_id)
    task.celery_id = celery_id
    transaction.on_commit(lambda: _enqueue(task))


def _create_runs(
    *,
    room: Room,
    actor: AbstractBaseUser,
    prompt: str,
    scope: list[str],
    attempts: int,
    retry_of: Task | None = None,
    plan_first: bool = False,
    snapshot: Snapshot | None = None,
    follow_up_of: Task | None = None,
    transcript: list | None = None,
) -> list[Task]:
    busy = Task.objects.filter(room=room, status__in=[TaskStatus.QUEUED, TaskStatus.RUNNING])
    limit = int(settings.FLINT_AGENTS_MAX_RUNNING_PER_ROOM)
    if busy.count() + attempts > limit:
        raise Conflict(
            f"This room already has {busy.count()} tasks queued or running; at most {limit} "
            "at once. Stop one or wait for it to finish.",
            code="busy",
        )
    snapshot = snapshot or snapshot_take(room=room)
    group = uuid.uuid4()
    tasks = []
    for variant in range(attempts):
        task = Task.objects.create(
            room=room,
            created_by=actor,
            prompt=prompt,
            scope=scope,
            group=group,
            variant=variant,
            variants=attempts,
            snapshot=snapshot,
            retry_of=retry_of,
            celery_id=str(uuid.uuid4()),
            plan_first=plan_first,
            follow_up_of=follow_up_of,
            thread=(follow_up_of.thread or follow_up_of) if follow_up_of else None,
            transcript=transcript or [],
        )
        tasks.append(task)
        status_send(task)
        transaction.on_commit(lambda t=task: _enqueue(t))
    return tasks


@transaction.atomic
def task_start(
    *,
    room: Room,
    actor: AbstractBaseUser,
    prompt: str,
    scope: list[str] | None = None,
    attempts: int = 1,
    plan_first: bool = False,
) -> list[Task]:
    """Queue a deep task (or `attempts` variants of it) on a snapshot of the live project;
    `plan_first`: it proposes a plan and waits for an editor's approval (plans.py)."""
    require(actor, Action.ROOM_EDIT, room)
    if not isinstance(prompt, str) or not prompt.strip():
        raise Invalid("Say what the task should do: the prompt is empty.")
    if len(prompt) > PROMPT_MAX:
        raise Invalid(f"The prompt is {len(prompt)} characters; at most {PROMPT_MAX}.")
    if isinstance(attempts, bool) or not isinstance(attempts, int):
        raise Invalid("`attempts` is a whole number from 1 to 4.")
    if not 1 <= attempts <= ATTEMPTS_MAX:
        raise Invalid(f"`attempts` is from 1 to {ATTEMPTS_MAX}, got {attempts}.")
    cleaned = _scope_clean(room, scope)
    return _create_runs(
        room=room, actor=actor, prompt=prompt.strip(), scope=cleaned, attempts=attempts,
        plan_first=bool(plan_first),
    )  # fmt: skip


def _revoke(celery_id: str, *, terminate: bool = False) -> None:
    if not celery_id:
        return
    control = current_app.control  # the project's app (webapp/celery.py)
    try:
        if terminate:
            control.revoke(celery_id, terminate=True, signal="SIGKILL")
        else:
            control.revoke(celery_id)
    except Exception:
        log.warning("could not revoke Celery task %s", celery_id, exc_info=True)


def task_cancel(*, task: Task, actor: AbstractBaseUser) -> Task:
    """Stop a task: at once when queued; a running one stops within 2 s (runner.py)."""
    require(actor, Action.ROOM_EDIT, task.room)
    now = timezone.now()
    with transaction.atomic():
        # A waiting plan holds no worker: it stops at once, like a queued task.
        dropped = Task.objects.filter(
            pk=task.pk, status__in=[TaskStatus.QUEUED, TaskStatus.WAITING]
        ).update(
            status=TaskStatus.CANCELLED,
            cancel_requested_at=now,
            finished_at=now,
            error_message="Stopped by a user before it started.",
        )
        if not dropped:
            Task.objects.filter(
                pk=task.pk, status=TaskStatus.RUNNING, cancel_requested_at__isnull=True
            ).update(cancel_requested_at=now)
        task.refresh_from_db()
        if dropped:
            step_add(task=task, kind="info", text="Stopped by a user before it started.")
            status_send(task)
            transaction.on_commit(lambda: _revoke(task.celery_id))
    return task


@transaction.atomic
def task_retry(*, task: Task, actor: AbstractBaseUser) -> Task:
    """Run a failed or cancelled task again, as a new run on a fresh snapshot."""
    require(actor, Action.ROOM_EDIT, task.room)
    if task.status not in (TaskStatus.FAILED, TaskStatus.CANCELLED):
        raise Conflict("Only a failed or stopped task can be retried.", code="not_finished")
    return _create_runs(
        room=task.room,
        actor=actor,
        prompt=task.prompt,
        scope=list(task.scope or []),
        attempts=1,
        retry_of=task,
        plan_first=task.plan_first,
    )[0]


@transaction.atomic
def variant_pick(*, task: Task, actor: AbstractBaseUser) -> Task:
    """Choose this variant of its group: the other variants' pending changes are rejected."""
    require(actor, Action.ROOM_EDIT, task.room)
    if task.status not in FINISHED:
        raise Conflict("Wait for this variant to finish before picking it.", code="not_finished")
    siblings = Task.objects.filter(group=task.group).exclude(pk=task.pk)
    siblings.update(picked=False)
    ChangeFile.objects.filter(task__in=siblings, status=ChangeStatus.PENDING).update(
        status=ChangeStatus.REJECTED
    )
    Task.objects.filter(pk=task.pk).update(picked=True)
    task.refresh_from_db()
    for each in [task, *siblings]:
        status_send(each)
    return task


def _mark_lost(task: Task, message: str = WORKER_LOST) -> bool:
    done = Task.objects.filter(pk=task.pk, status=TaskStatus.RUNNING).update(
        status=TaskStatus.FAILED,
        error_kind="worker_lost",
        error_message=message[:500],
        finished_at=timezone.now(),
    )
    if done:
        task.refresh_from_db()
        step_add(task=task, kind="error", text=message, tokens=task.tokens_used)
        status_send(task)
    return bool(done)


def task_mark_lost(*, task_id: int, message: str = WORKER_LOST) -> bool:
    """The worker holding this task is gone (Celery's worker-lost failure or the sweep)."""
    task = Task.objects.filter(pk=task_id).first()
    return task is not None and _mark_lost(task, message)


def tasks_sweep(*, room: Room | None = None) -> int:
    """End tasks whose worker stopped beating, and cancellations the worker did not take.

    Runs from Celery beat (agents.sweep) and from the task list and detail endpoints
    before they read, so no task stays "running" forever.
    """
    from editor.agents.plans import plans_expire

    now = timezone.now()
    ended = plans_expire(now)
    running = Task.objects.filter(status=TaskStatus.RUNNING)
    if room is not None:
        running = running.filter(room=room)
    stale = now - timedelta(seconds=float(settings.FLINT_AGENTS_STALE_S))
    for task in running.filter(heartbeat_at__lt=stale):
        ended += _mark_lost(task)
    # A cancel the worker has not acted on in 5 s: kill its process as a last resort.
    late = now - timedelta(seconds=5)
    for task in running.filter(cancel_requested_at__lt=late):
        done = Task.objects.filter(pk=task.pk, status=TaskStatus.RUNNING).update(
            status=TaskStatus.CANCELLED,
            error_message="Stopped by a user (the worker was terminated).",
            finished_at=now,
        )
        if done:
            ended += 1
            _revoke(task.celery_id, terminate=True)
            task.refresh_from_db()
            step_add(task=task, kind="info", text="Stopped by a user; the worker was terminated.")
            status_send(task)
    return ended

"""Running one claimed task on a worker: the loop with its hooks into rows, room and usage.

A monitor thread beside the loop keeps the heartbeat fresh and watches the cancel flag
every 0.2 s. The loop checks that flag between steps and the sandbox while it waits;
during a model call (which can last minutes) the monitor interrupts the call with the
pool's own soft-time-limit signal (SIGUSR1 raises SoftTimeLimitExceeded in a prefork
child), sent once and only while the call is in flight.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from editor.agents import environments, plans, rules, sandbox, steering
from editor.agents.loop import AgentLoop, Hooks, Limits, Outcome
from editor.agents.models import ChangeFile, ChangeStatus, SnapshotFile, Task, TaskStatus
from editor.agents.progress import output_send, status_send, step_add
from editor.agents.room_settings import settings_of
from editor.agents.workcopy import WorkingCopy
from editor.assist.metered import Meter
from editor.assist.tiers import tier_get

log = logging.getLogger(__name__)
_TRANSCRIPT_CONTENT_MAX = 20_000


class Monitor:
    """Heartbeat and cancel watch for one running task (a thread of the pool child)."""

    def __init__(self, task_id: int) -> None:
        self.task_id = task_id
        self.cancel = threading.Event()
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.in_call = False
        self.signalled = False
        self.thread = threading.Thread(target=self._watch, name=f"task-{task_id}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)

    def cancelled(self) -> bool:
        return self.cancel.is_set()

    @contextlib.contextmanager
    def model_call(self) -> Iterator[None]:
        with self.lock:
            self.in_call = True
        try:
            yield
        finally:
            with self.lock:
                self.in_call = False

    def _interrupt_call(self) -> None:
        handler = signal.getsignal(signal.SIGUSR1)
        with self.lock:
            if self.in_call and not self.signalled and callable(handler):
                self.signalled = True
                os.kill(os.getpid(), signal.SIGUSR1)

    def _watch(self) -> None:
        beat_every = float(settings.FLINT_AGENTS_HEARTBEAT_S)
        last_beat = time.monotonic()
        try:
            while not self.stopped.wait(0.2):
                try:
                    rows = Task.objects.filter(pk=self.task_id)
                    row = rows.values("cancel_requested_at").first()
                    # A deleted task (its room or team was deleted) stops like a cancel.
                    if row is None or row["cancel_requested_at"] is not None:
                        self.cancel.set()
                        self._interrupt_call()
                    if time.monotonic() - last_beat >= beat_every:
                        rows.filter(status=TaskStatus.RUNNING).update(heartbeat_at=timezone.now())
                        last_beat = time.monotonic()
                except Exception:
                    log.warning("task %s monitor could not reach the database", self.task_id)
        finally:
            connection.close()


def _limits() -> Limits:
    return Limits(
        max_steps=int(settings.FLINT_AGENTS_MAX_STEPS),
        wall_seconds=float(settings.FLINT_AGENTS_WALL_SECONDS),
        step_max_tokens=int(settings.FLINT_AGENTS_STEP_MAX_TOKENS),
        step_retries=int(settings.FLINT_AGENTS_STEP_RETRIES),
        compact_at=float(settings.FLINT_AGENTS_COMPACT_AT),
    )


def changes_save(task: Task, copy: WorkingCopy, ids: dict[str, tuple[Any, Any]]) -> None:
    """Make the task's pending ChangeFile rows match the working copy (partial work kept)."""
    changed = copy.changed()
    with transaction.atomic():
        existing = {c.path: c for c in ChangeFile.objects.filter(task=task)}
        for path, proposed in changed.items():
            file_id, doc_id = ids.get(path, (None, None))
            row = existing.pop(path, None)
            if row is None:
                ChangeFile.objects.create(
                    task=task,
                    path=path,
                    file_id=file_id,
                    doc_id=doc_id,
                    base_text=copy.base.get(path),
                    proposed_text=proposed,
                )
            elif row.proposed_text != proposed and row.status == ChangeStatus.PENDING:
                row.proposed_text = proposed
                row.save(update_fields=["proposed_text", "updated_at"])
        ChangeFile.objects.filter(
            task=task, path__in=list(existing), status=ChangeStatus.PENDING
        ).delete()


def _transcript(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for message in messages:
        item = dict(message)
        content = item.get("content")
        if isinstance(content, str) and len(content) > _TRANSCRIPT_CONTENT_MAX:
            item["content"] = content[:_TRANSCRIPT_CONTENT_MAX] + "\n… (cut)"
        out.append(item)
    return out


def _plan_wait(task: Task, outcome: Outcome) -> bool:
    """A planning run ended with a plan: the task waits (no worker held) for a decision."""
    done = Task.objects.filter(pk=task.pk, status=TaskStatus.RUNNING).update(
        status=TaskStatus.WAITING,
        plan=outcome.plan,
        plan_status="proposed",
        steps_used=outcome.steps,
        tokens_used=outcome.tokens,
        seconds_used=outcome.seconds,
        transcript=_transcript(outcome.messages),
        heartbeat_at=timezone.now(),  # waiting since: the sweep expires it from here
    )
    task.refresh_from_db()
    if done:
        plans.plan_proposed(task, outcome.plan or {})
        status_send(task)
    return bool(done)


def task_finish(task: Task, outcome: Outcome) -> bool:
    """Write the end state unless someone (the sweep) already ended the task."""
    if outcome.status == TaskStatus.WAITING:
        return _plan_wait(task, outcome)
    done = Task.objects.filter(pk=task.pk, status=TaskStatus.RUNNING).update(
        status=outcome.status,
        summary=outcome.summary,
        error_kind=outcome.error_kind,
        error_message=outcome.error_message[:500],
        steps_used=outcome.steps,
        tokens_used=outcome.tokens,
        seconds_used=outcome.seconds,
        transcript=_transcript(outcome.messages),
        finished_at=timezone.now(),
    )
    task.refresh_from_db()
    if done:
        if outcome.status == TaskStatus.CANCELLED:
            step_add(task=task, kind="info", text="Stopped by a user; the changes so far are kept.")
        elif outcome.status == TaskStatus.FAILED:
            step_add(task=task, kind="error", text=outcome.error_message, tokens=outcome.tokens)
        status_send(task)
        steering.undelivered_report(task)
    return bool(done)


class Watchers:
    """The loop's hooks into the room: the log with elapsed times, live output, the inbox."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.loop: AgentLoop | None = None
        self.elapsed: int | None = None
        self.every = float(settings.FLINT_AGENTS_OUTPUT_EVERY_S)
        self.lock = threading.Lock()
        self.latest: tuple[int, str, int] | None = None
        self.wake = threading.Event()
        self.done = threading.Event()
        self.sender: threading.Thread | None = None

    def step(self, kind: str, tool: str, text: str, tokens: int) -> None:
        elapsed, self.elapsed = (self.elapsed if kind == "tool_result" else None), None
        step_add(task=self.task, kind=kind, tool=tool, text=text, tokens=tokens,
                 elapsed_ms=elapsed)  # fmt: skip
        steps = self.loop.steps if self.loop is not None else 0
        Task.objects.filter(pk=self.task.pk).update(
            steps_used=steps, tokens_used=tokens, heartbeat_at=timezone.now()
        )

    def timed(self, tool: str, ms: int) -> None:
        self.elapsed = ms

    def output(self, turn: int, text: str, tokens: int) -> None:
        # Called on the stream's event loop, where a sync send to the room can't run:
        # a thread sends the latest text, at most every FLINT_AGENTS_OUTPUT_EVERY_S. The
        # whole of it is stored as a model_text step when the turn ends.
        with self.lock:
            self.latest = (turn, text, tokens)
        if self.sender is None:
            self.sender = threading.Thread(target=self._send_outputs, daemon=True,
                                           name=f"task-{self.task.pk}-output")  # fmt: skip
            self.sender.start()
        self.wake.set()

    def _send_outputs(self) -> None:
        while not self.done.is_set():
            self.wake.wait(timeout=1.0)
            self.wake.clear()
            with self.lock:
                latest, self.latest = self.latest, None
            if latest is not None:
                turn, text, tokens = latest
                output_send(self.task, turn=turn, text=text, tokens=tokens)
                self.done.wait(self.every)

    def close(self) -> None:
        self.done.set()
        self.wake.set()
        if self.sender is not None:
            self.sender.join(timeout=2)

    def inbox(self) -> list[dict[str, Any]]:
        taken = steering.inbox_take(self.task.pk)
        for message in taken:
            step_add(
                task=self.task,
                kind="info",
                text=f"{message.author_name}'s message was given to the model.",
            )
        return [steering.as_model_input(m) for m in taken]


def _instructions(task: Task, copy: WorkingCopy) -> str:
    """The project's AGENTS.md files and the room's rules; records which were used."""
    text, used = rules.instructions(copy.base, settings_of(task.room).rules)
    Task.objects.filter(pk=task.pk).update(rules_used=used)
    task.rules_used = used
    if used:
        shown = ", ".join(used)
        step_add(task=task, kind="info", text=f"Project rules given to the model: {shown}")
    return text


def task_run(*, task_id: int, celery_id: str = "", hostname: str = "") -> str | None:
    """Claim the task (queued → running) and run it; None when it was not ours to run."""
    now = timezone.now()
    claimed = Task.objects.filter(pk=task_id, status=TaskStatus.QUEUED).update(
        status=TaskStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        celery_id=celery_id,
        worker=hostname[:255],
    )
    if not claimed:
        return None
    task = Task.objects.select_related("room", "created_by").get(pk=task_id)
    files = list(SnapshotFile.objects.filter(snapshot_id=task.snapshot_id))
    ids = {f.path: (f.file_id, f.doc_id) for f in files}
    copy = WorkingCopy(
        base={f.path: f.text for f in files},
        scope=list(task.scope or []),
        max_bytes=settings.FLINT_EDITABLE_MAX_BYTES,
    )
    commands, why = sandbox.probe()
    tier = tier_get("deep")
    Task.objects.filter(pk=task_id).update(commands_enabled=commands, model=tier.model)
    task.commands_enabled, task.model = commands, tier.model
    status_send(task)
    if not commands:
        step_add(
            task=task, kind="info", text=f"commands disabled: no sandbox on this worker ({why})"
        )
    monitor = Monitor(task_id)
    team_id = task.room.team_id
    loop: AgentLoop | None = None
    watchers = Watchers(task)
    resumed = list(task.transcript or [])
    if resumed and not task.rules_used and task.follow_up_of_id:
        Task.objects.filter(pk=task_id).update(rules_used=task.follow_up_of.rules_used)

    hooks = Hooks(
        step=watchers.step,
        timed=watchers.timed,
        output=watchers.output,
        inbox=watchers.inbox,
        cancelled=monitor.cancelled,
        files_changed=lambda c: changes_save(task, c, ids),
        model_call=monitor.model_call,
        # Charged to whoever started the task, against the team's and the task's budgets.
        meter=Meter(
            feature="task", user_id=task.created_by_id, team_id=team_id, room_id=task.room_id,
            task_id=task.pk,
        ),
    )  # fmt: skip
    monitor.start()
    try:
        try:
            with environments.prepared(task=task, commands=commands, files=copy.base,
                                       cancelled=monitor.cancelled) as prepared:  # fmt: skip
                outcome = prepared.failure
                if outcome is None:
                    loop = AgentLoop(
                        tier=tier,
                        prompt=task.prompt,
                        copy=copy,
                        limits=_limits(),
                        commands=commands,
                        hooks=hooks,
                        messages=resumed or None,
                        plan_first=task.plan_first and not resumed,
                        instructions="" if resumed else _instructions(task, copy),
                        sandbox_extras=prepared.extras,
                    )
                    watchers.loop = loop
                    outcome = loop.run()
        except SoftTimeLimitExceeded:
            if monitor.cancelled():
                outcome = Outcome("cancelled", error_message="Stopped by a user.")
            else:
                message = "Stopped: the worker's time limit for a task was reached."
                outcome = Outcome("failed", error_kind="time_limit", error_message=message)
            if loop is not None:
                outcome = loop._outcome(outcome.status, error_kind=outcome.error_kind,
                                        error_message=outcome.error_message)  # fmt: skip
    except Exception as exc:
        log.exception("task %s failed on the worker", task_id)
        outcome = Outcome(
            status="failed",
            error_kind="internal",
            error_message=f"The task failed unexpectedly on the worker ({type(exc).__name__}).",
            steps=loop.steps if loop else 0,
            tokens=loop.tokens if loop else 0,
            messages=loop.messages if loop else [],
        )
    finally:
        monitor.stop()
        watchers.close()
    close_old_connections()
    if not Task.objects.filter(pk=task_id).exists():
        log.info("task %s was deleted with its room while it ran", task_id)
        return None
    changes_save(task, copy, ids)
    task_finish(task, outcome)
    return outcome.status

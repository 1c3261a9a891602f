"""Deep tasks (their log, snapshot and changeset) and review runs with their comments."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from editor.projects.models import PATH_MAX


class TaskStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    # A plan-first task whose plan waits for an editor's decision (editor/agents/plans.py).
    WAITING = "waiting", "Waiting for plan approval"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED = (TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED)


class Snapshot(models.Model):
    """The project's live text when a task (or all variants of one) started."""

    room = models.ForeignKey("rooms.Room", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"snapshot {self.pk} of room {self.room_id}"


class SnapshotFile(models.Model):
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=PATH_MAX)
    file_id = models.BigIntegerField(null=True)
    doc_id = models.UUIDField(null=True)
    text = models.TextField()

    class Meta:
        ordering = ["path"]

    def __str__(self) -> str:
        return self.path


class Task(models.Model):
    """One run of the agent on one snapshot; `attempts` > 1 makes a group of variants."""

    room = models.ForeignKey("rooms.Room", on_delete=models.CASCADE, related_name="agent_tasks")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    prompt = models.TextField()
    scope = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default="queued")
    group = models.UUIDField(default=uuid.uuid4, db_index=True)
    variant = models.PositiveSmallIntegerField(default=0)
    variants = models.PositiveSmallIntegerField(default=1)
    picked = models.BooleanField(default=False)
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # CASCADE: a snapshot and its tasks belong to one room and go with it (PROTECT made
    # every room or team that had run a task undeletable). Usage rows keep plain ids.
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="tasks")
    model = models.CharField(max_length=200, blank=True)
    steps_used = models.PositiveIntegerField(default=0)
    tokens_used = models.PositiveIntegerField(default=0)
    seconds_used = models.FloatField(default=0)
    summary = models.TextField(blank=True)
    error_kind = models.CharField(max_length=32, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    commands_enabled = models.BooleanField(null=True)
    # Plan first (plans.py): the model proposes a plan; an editor approves it before it acts.
    plan_first = models.BooleanField(default=False)
    plan = models.JSONField(null=True, blank=True)  # {"steps": [...], "files": [...]}
    plan_status = models.CharField(max_length=16, blank=True)  # proposed|approved|rejected|expired
    plan_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Follow-ups (followups.py): a task continuing another's conversation and result; the
    # first task of the chain is the thread every follow-up points to.
    follow_up_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    thread = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Which AGENTS.md files (and "room rules") the model was given (rules.py).
    rules_used = models.JSONField(default=list, blank=True)
    transcript = models.JSONField(default=list, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    celery_id = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=255, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "variant"]
        indexes = [
            models.Index(fields=["room", "created_at"], name="agents_task_room_time"),
            models.Index(fields=["status", "heartbeat_at"], name="agents_task_status_beat"),
        ]

    def __str__(self) -> str:
        return f"task {self.pk} ({self.status})"


class StepKind(models.TextChoices):
    MODEL_TEXT = "model_text", "Model text"
    REASONING = "reasoning", "Reasoning summary"
    TOOL_CALL = "tool_call", "Tool call"
    TOOL_RESULT = "tool_result", "Tool result"
    ERROR = "error", "Error"
    INFO = "info", "Info"
    MESSAGE = "message", "Message from the room"  # steering.py
    PLAN = "plan", "Plan"  # plans.py: proposed, and each decision
    SETUP = "setup", "Set-up script"  # environments.py


class TaskStep(models.Model):
    """One line of a task's log, as the room saw it live."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="steps")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=StepKind.choices)
    tool = models.CharField(max_length=32, blank=True)
    text = models.TextField(blank=True)
    tokens = models.PositiveIntegerField(default=0)
    # Who wrote it (a steering message, a plan decision); empty: the task itself.
    author = models.CharField(max_length=150, blank=True)
    # A tool result: how long the tool ran.
    elapsed_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task", "seq"]
        constraints = [models.UniqueConstraint("task", "seq", name="agents_step_seq_unique")]

    def __str__(self) -> str:
        return f"{self.task_id}#{self.seq} {self.kind}"


class TaskMessage(models.Model):
    """A steering message from an editor to a task: given to the model before its next turn."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=150)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["task", "id"]

    def __str__(self) -> str:
        return f"message {self.pk} to task {self.task_id}"


class RoomAgentSettings(models.Model):
    """A room's settings for deep tasks, set by its owners: rules, set-up script, hosts."""

    room = models.OneToOneField("rooms.Room", on_delete=models.CASCADE, related_name="+")
    rules = models.TextField(blank=True)
    setup_script = models.TextField(blank=True)
    setup_hosts = models.JSONField(default=list, blank=True)
    command_hosts = models.JSONField(default=list, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"agent settings of room {self.room_id}"


class ChangeStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPLIED = "applied", "Applied"
    REJECTED = "rejected", "Rejected"
    CONFLICT = "conflict", "Conflict"


class Checkpoint(models.Model):
    """One apply of a task's changes: a unit the room's timeline can undo.

    `files` is what that apply did, per file: {path, change, added, removed}. The files it
    still holds applied are the ChangeFile rows pointing here; when an undo has taken the
    last of them back, `undone_at` is set.
    """

    room = models.ForeignKey("rooms.Room", on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="checkpoints")
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    applied_at = models.DateTimeField(auto_now_add=True)
    files = models.JSONField(default=list, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-applied_at", "-pk"]
        indexes = [models.Index(fields=["room", "-applied_at"], name="agents_checkpoint_room")]

    def __str__(self) -> str:
        return f"checkpoint {self.pk} of task {self.task_id}"


class ChangeFile(models.Model):
    """One file of a task's changeset: its snapshot text and what the agent proposes.

    `base_text` None: a new file; `proposed_text` None: the agent deleted it.
    `before_text`/`after_text` are the live text around an apply, kept for undo.
    """

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="changes")
    path = models.CharField(max_length=PATH_MAX)
    file_id = models.BigIntegerField(null=True)
    doc_id = models.UUIDField(null=True)
    base_text = models.TextField(null=True)  # noqa: DJ001 - None: a new file
    proposed_text = models.TextField(null=True)  # noqa: DJ001 - None: deleted
    status = models.CharField(max_length=16, choices=ChangeStatus.choices, default="pending")
    conflicts = models.JSONField(default=list, blank=True)
    applied_hunks = models.JSONField(null=True, blank=True)
    before_text = models.TextField(null=True)  # noqa: DJ001
    after_text = models.TextField(null=True)  # noqa: DJ001
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    applied_at = models.DateTimeField(null=True, blank=True)
    checkpoint = models.ForeignKey(
        Checkpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["task", "path"]
        constraints = [models.UniqueConstraint("task", "path", name="agents_change_path_unique")]

    def __str__(self) -> str:
        return f"{self.task_id}:{self.path} ({self.status})"


class ReviewTarget(models.TextChoices):
    FILE = "file", "File"
    TASK = "task", "Task changeset"


class ReviewRun(models.Model):
    room = models.ForeignKey("rooms.Room", on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    target = models.CharField(max_length=8, choices=ReviewTarget.choices)
    path = models.CharField(max_length=PATH_MAX, blank=True)
    file_id = models.BigIntegerField(null=True, blank=True)
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.CASCADE)
    sources = models.JSONField(default=dict, blank=True)  # path -> text reviewed
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default="queued")
    model = models.CharField(max_length=200, blank=True)
    error_kind = models.CharField(max_length=32, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"review {self.pk} ({self.status})"


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


class ReviewComment(models.Model):
    """A review remark anchored to a line (1-based) of the text that was reviewed."""

    run = models.ForeignKey(ReviewRun, on_delete=models.CASCADE, related_name="comments")
    room = models.ForeignKey("rooms.Room", on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.CASCADE)
    path = models.CharField(max_length=PATH_MAX)
    doc_id = models.UUIDField(null=True, blank=True)
    line = models.PositiveIntegerField()
    line_text = models.TextField(blank=True)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    body = models.TextField()
    resolved = models.BooleanField(default=False)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["path", "line", "id"]
        indexes = [models.Index(fields=["room", "path"], name="agents_comment_room_path")]

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.severity}"

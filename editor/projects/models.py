"""A room's project: its files, explicitly created empty folders, and staged uploads."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from editor.rooms.models import Room

PATH_MAX = 1024


class FileKind(models.TextChoices):
    TEXT = "text", "Text"
    BINARY = "binary", "Binary"


class ProjectFile(models.Model):
    """One file. Editable text lives in `text`; everything else in blob storage by sha256.

    `path` keeps the spelling the user gave; `path_key` (NFC, case-folded) is what must be
    unique, so that an exported project unpacks the same on macOS and Windows.
    `doc_id` never changes on rename or move: the collaborative editor opens
    /ws/docs/<doc_id>.
    """

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=PATH_MAX)
    path_key = models.CharField(max_length=PATH_MAX)
    doc_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=8, choices=FileKind.choices)
    editable = models.BooleanField(default=False)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    language = models.CharField(max_length=32, blank=True)
    text = models.TextField(null=True, blank=True)  # noqa: DJ001 - None: not editable
    blob = models.CharField(max_length=64, blank=True, help_text="sha256 of the stored blob")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint("room", "path_key", name="project_file_path_unique"),
        ]
        ordering = ["path"]

    def __str__(self) -> str:
        return self.path


class ProjectFolder(models.Model):
    """An empty folder the user created (or an archive held); folders with files are implied."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="folders")
    path = models.CharField(max_length=PATH_MAX)
    path_key = models.CharField(max_length=PATH_MAX)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint("room", "path_key", name="project_folder_path_unique"),
        ]
        ordering = ["path"]

    def __str__(self) -> str:
        return self.path + "/"


class UploadStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready to confirm"
    APPLIED = "applied", "Applied"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


class Upload(models.Model):
    """A staged upload: validated and stored aside until the user confirms its plan."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="uploads")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=UploadStatus.choices, default=UploadStatus.QUEUED
    )
    source_name = models.CharField(max_length=255)
    source_kind = models.CharField(max_length=16)  # zip, tar, tar.gz, folder
    source_size = models.BigIntegerField(default=0)
    skip_ignored = models.BooleanField(default=True)
    background = models.BooleanField(default=False)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    plan = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "expires_at"])]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"upload {self.source_name} ({self.status})"


class UploadEntry(models.Model):
    """One staged file of an upload; copied into ProjectFile on confirm, then deleted."""

    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="entries")
    path = models.CharField(max_length=PATH_MAX)
    path_key = models.CharField(max_length=PATH_MAX)
    kind = models.CharField(max_length=8, choices=FileKind.choices)
    editable = models.BooleanField(default=False)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    language = models.CharField(max_length=32, blank=True)
    text = models.TextField(null=True, blank=True)  # noqa: DJ001 - None: not editable
    blob = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return self.path

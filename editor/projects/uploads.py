"""Upload services: start (stage + plan), process in the background, confirm, cancel, purge.

An upload is staged aside (UploadEntry rows and blobs) and produces a plan: added,
changed, unchanged, skipped (upload_plan.py). Nothing in the project changes until
`upload_confirm` applies the plan in one transaction (upload_apply.py). Uploads merge into
the project: files the upload does not mention are kept. Uploads up to
FLINT_UPLOAD_INLINE_MAX_BYTES are staged inside the request; larger ones are saved to the
staging folder (upload_staging.py) and staged by a Celery worker, which reports
"upload.progress" events to the room. An upload small in bytes but large in work (more
than FLINT_UPLOAD_INLINE_MAX_ENTRIES entries, more than
FLINT_UPLOAD_INLINE_MAX_EXPANDED_BYTES expanded) goes to the worker too, as soon as that
shows: a zip's entries are counted from its end record, before its directory is parsed.
"""

from __future__ import annotations

import logging
import shutil
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from editor.core.errors import Conflict, FlintError, Gone, Invalid, NotFound
from editor.projects.archives import Reader, archive_kind
from editor.projects.blobs import blobs_collect
from editor.projects.ingest import Limits, MoveToWorker, ProgressFn, StageResult, size_text, stage
from editor.projects.models import Upload, UploadEntry, UploadStatus
from editor.projects.paths import shown
from editor.projects.upload_apply import staged_files_apply
from editor.projects.upload_plan import upload_plan
from editor.projects.upload_staging import (
    archive_reader,
    folder_reader,
    source_persist,
    staged_reader,
    staging_dir,
)
from editor.rooms.events import room_event_send
from editor.rooms.models import Room
from editor.rooms.permissions import Action, require

log = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 0.3


class UploadCancelled(Exception):
    """Raised inside a background ingest when the user cancelled it meanwhile."""


# --- start --------------------------------------------------------------------------------------


def upload_start(
    *,
    room: Room,
    actor: AbstractBaseUser,
    files: list[File],
    paths: list[str] | None = None,
    skip_ignored: bool = True,
    extract: bool = True,
) -> Upload:
    """Stage an upload and return it: READY with its plan, or QUEUED for a worker.

    One file named .zip/.tar.gz/.tgz/.tar is expanded (unless `extract` is false);
    anything else is a folder upload where `paths` gives each file's relative path.
    """
    require(actor, Action.ROOM_EDIT, room)
    uploads_purge_expired()
    limits = Limits.from_settings()
    if not files:
        raise Invalid("Choose a file, an archive or a folder to upload.")
    if paths is not None and len(paths) != len(files):
        raise Invalid(
            f"Each uploaded file needs its relative path: got {len(paths)} paths for "
            f"{len(files)} files."
        )
    total = sum(f.size or 0 for f in files)
    if total > limits.max_bytes:
        raise Invalid(
            f"The upload is {size_text(total)}; at most {size_text(limits.max_bytes)} can be "
            "uploaded at once.",
            code="too_large",
        )
    if len(files) > limits.max_files:
        raise Invalid(
            f"The upload has {len(files)} files; a project holds at most {limits.max_files}.",
            code="too_many_files",
        )
    names = paths if paths is not None else [f.name or "" for f in files]
    kind = archive_kind(names[0]) if len(files) == 1 and extract else None
    source_name = names[0] if len(files) == 1 else _common_root(names)
    background = total > settings.FLINT_UPLOAD_INLINE_MAX_BYTES
    upload = Upload.objects.create(
        room=room,
        created_by=actor,
        status=UploadStatus.QUEUED if background else UploadStatus.PROCESSING,
        source_name=shown(source_name)[:255],
        source_kind=kind or "folder",
        source_size=total,
        skip_ignored=skip_ignored,
        background=background,
        expires_at=timezone.now() + timedelta(minutes=settings.FLINT_UPLOAD_STAGE_TTL_MINUTES),
    )
    folder = staging_dir(upload.id)
    folder.mkdir(parents=True, exist_ok=True)
    if not background:
        try:
            inline_limits = Limits.from_settings(inline=True)
            if kind:
                handle = files[0].open("rb")
                reader = archive_reader(handle, kind=kind, name=names[0], limits=inline_limits)
            else:
                reader = folder_reader(files, names, name=source_name)
            _ingest(upload, reader, progress=None, limits=inline_limits)
            upload.refresh_from_db()
            return upload
        except MoveToWorker:
            # More work than a request should do: _ingest dropped what it staged.
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            Upload.objects.filter(pk=upload.pk).update(
                status=UploadStatus.QUEUED, background=True, progress_done=0, progress_total=0
            )
            upload.refresh_from_db()
        except UploadCancelled:
            upload.delete()
            raise Gone("This upload was cancelled.") from None
        except BaseException:
            # A refused inline upload leaves no trace at all, not even a failed row.
            upload.delete()
            raise
        finally:
            if not upload.background:
                shutil.rmtree(folder, ignore_errors=True)
    try:
        source_persist(folder, files, names, kind)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        upload.delete()
        raise
    from editor.projects.tasks import upload_process_task

    upload_id = str(upload.id)
    transaction.on_commit(lambda: upload_process_task.delay(upload_id))
    return upload


def _common_root(names: list[str]) -> str:
    first = {n.replace("\\", "/").split("/", 1)[0] for n in names}
    return first.pop() if len(first) == 1 else f"{len(names)} files"


# --- staging (in the request or a worker) ---------------------------------------------------------


def _ingest(
    upload: Upload, reader: Reader, *, progress: ProgressFn | None, limits: Limits | None = None
) -> None:
    result: StageResult | None = None
    try:
        result = stage(
            upload=upload,
            reader=reader,
            limits=limits or Limits.from_settings(),
            tmp_dir=staging_dir(upload.id),
            progress=progress,
        )
        plan = upload_plan(upload=upload, result=result)
    except BaseException as exc:
        new_blobs = getattr(exc, "new_blobs", None) or (result.new_blobs if result else set())
        UploadEntry.objects.filter(upload=upload).delete()
        blobs_collect(new_blobs)
        raise
    ready = Upload.objects.filter(pk=upload.pk, status=UploadStatus.PROCESSING).update(
        status=UploadStatus.READY,
        plan=plan,
        progress_done=result.files,
        progress_total=result.files,
        expires_at=timezone.now() + timedelta(minutes=settings.FLINT_UPLOAD_STAGE_TTL_MINUTES),
    )
    if not ready:  # cancelled while the last files were read
        UploadEntry.objects.filter(upload=upload).delete()
        blobs_collect(result.new_blobs)
        raise UploadCancelled()


# --- background ----------------------------------------------------------------------


def upload_process(*, upload_id: str) -> None:
    """Stage a queued upload (the Celery task's body); failures end in a visible state."""
    claimed = Upload.objects.filter(pk=upload_id, status=UploadStatus.QUEUED).update(
        status=UploadStatus.PROCESSING
    )
    if not claimed:
        return  # cancelled, expired, or another worker has it
    upload = Upload.objects.select_related("room").get(pk=upload_id)
    room_id = upload.room_id
    last = {"at": 0.0}

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last["at"] < PROGRESS_EVERY_SECONDS:
            return
        last["at"] = now
        still = Upload.objects.filter(pk=upload_id, status=UploadStatus.PROCESSING).update(
            progress_done=done, progress_total=total
        )
        if not still:
            raise UploadCancelled()
        room_event_send(
            room_id,
            "upload.progress",
            {"upload_id": upload_id, "phase": "ingest", "done": done, "total": total},
        )

    try:
        _ingest(
            upload,
            staged_reader(staging_dir(upload.id), source_name=upload.source_name),
            progress=progress,
        )
    except UploadCancelled:
        return
    except FlintError as exc:
        _fail(upload_id, room_id, exc.message)
        return
    except Exception as exc:
        log.exception("upload %s failed", upload_id)
        _fail(upload_id, room_id, f"The upload could not be processed ({type(exc).__name__}).")
        return
    finally:
        shutil.rmtree(staging_dir(upload_id), ignore_errors=True)
    upload.refresh_from_db()
    room_event_send(
        room_id, "upload.ready", {"upload_id": upload_id, "counts": upload.plan["counts"]}
    )


def _fail(upload_id: str, room_id: int, message: str) -> None:
    Upload.objects.filter(pk=upload_id).exclude(status=UploadStatus.CANCELLED).update(
        status=UploadStatus.FAILED, error=message, finished_at=timezone.now()
    )
    room_event_send(room_id, "upload.failed", {"upload_id": upload_id, "error": message})


# --- confirm, cancel, purge ----------------------------------------------------------------------


def _upload_for(*, room: Room, upload_id: Any, lock: bool = False) -> Upload:
    qs = Upload.objects.filter(pk=upload_id, room=room)
    if lock:
        qs = qs.select_for_update()
    try:
        upload = qs.first()
    except (ValueError, TypeError):  # not a UUID
        upload = None
    if upload is None:
        raise NotFound("No such upload in this room.")
    return upload


def upload_get(*, room: Room, actor: AbstractBaseUser, upload_id: Any) -> Upload:
    require(actor, Action.ROOM_VIEW, room)
    return _upload_for(room=room, upload_id=upload_id)


_NOT_CONFIRMABLE = {
    UploadStatus.QUEUED: (Conflict, "This upload is still being processed."),
    UploadStatus.PROCESSING: (Conflict, "This upload is still being processed."),
    UploadStatus.APPLIED: (Conflict, "This upload has already been applied."),
    UploadStatus.CANCELLED: (Gone, "This upload was cancelled. Upload again."),
    UploadStatus.EXPIRED: (Gone, "This upload expired before it was confirmed. Upload again."),
}


@transaction.atomic
def upload_confirm(*, room: Room, actor: AbstractBaseUser, upload_id: Any) -> dict[str, Any]:
    """Apply a staged upload to the project, all at once; returns what was applied."""
    require(actor, Action.ROOM_EDIT, room)
    upload = _upload_for(room=room, upload_id=upload_id, lock=True)
    if upload.status == UploadStatus.FAILED:
        raise Conflict(f"This upload failed: {upload.error}")
    if upload.status in _NOT_CONFIRMABLE:
        error, message = _NOT_CONFIRMABLE[upload.status]
        raise error(message)
    if upload.expires_at <= timezone.now():
        raise Gone("This upload expired before it was confirmed. Upload again.")
    try:  # the project may have changed since the preview
        plan = upload_plan(upload=upload)
    except Invalid as exc:
        raise Conflict(exc.message, code=exc.code) from None

    now = timezone.now()
    old_blobs = staged_files_apply(room=room, actor=actor, upload=upload, plan=plan, now=now)
    UploadEntry.objects.filter(upload=upload).delete()
    upload.status = UploadStatus.APPLIED
    upload.plan = plan
    upload.finished_at = now
    upload.save(update_fields=["status", "plan", "finished_at"])
    transaction.on_commit(lambda: blobs_collect(old_blobs))
    room_event_send(
        room.pk,
        "files.changed",
        {"reason": "upload", "upload_id": str(upload.id), **plan["counts"]},
    )
    return plan


def _discard(upload: Upload, *, status: str, error: str = "") -> None:
    blobs = set(
        UploadEntry.objects.filter(upload=upload).exclude(blob="").values_list("blob", flat=True)
    )
    with transaction.atomic():
        UploadEntry.objects.filter(upload=upload).delete()
        Upload.objects.filter(pk=upload.pk).update(
            status=status, error=error, finished_at=timezone.now()
        )
    blobs_collect(blobs)
    shutil.rmtree(staging_dir(upload.pk), ignore_errors=True)


def upload_cancel(*, room: Room, actor: AbstractBaseUser, upload_id: Any) -> Upload:
    """Throw a staged upload away; a background ingest stops at its next progress report."""
    require(actor, Action.ROOM_EDIT, room)
    upload = _upload_for(room=room, upload_id=upload_id)
    if upload.status in {UploadStatus.APPLIED}:
        raise Conflict("This upload has already been applied.")
    if upload.status in {UploadStatus.QUEUED, UploadStatus.PROCESSING, UploadStatus.READY}:
        _discard(upload, status=UploadStatus.CANCELLED)
        room_event_send(room.pk, "upload.cancelled", {"upload_id": str(upload.id)})
    upload.refresh_from_db()
    return upload


def uploads_purge_expired() -> int:
    """Discard staged uploads nobody confirmed in time, and mark lost background ones failed."""
    now = timezone.now()
    stale = list(Upload.objects.filter(status=UploadStatus.READY, expires_at__lt=now)[:50])
    for upload in stale:
        _discard(upload, status=UploadStatus.EXPIRED)
    # A queued or processing upload past its expiry lost its worker (time limits are shorter).
    lost = list(
        Upload.objects.filter(
            status__in=[UploadStatus.QUEUED, UploadStatus.PROCESSING], expires_at__lt=now
        )[:50]
    )
    for upload in lost:
        _discard(upload, status=UploadStatus.FAILED, error="failed: worker lost or timed out")
    return len(stale) + len(lost)

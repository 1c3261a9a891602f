"""Upload services: start (stage + plan), process in the background, confirm, cancel, purge.

An upload is staged aside (UploadEntry rows and blobs) and produces a plan: added,
changed, unchanged, skipped. Nothing in the project changes until `upload_confirm`
applies the plan in one transaction. Uploads merge into the project: files the upload
does not mention are kept. Uploads up to FLINT_UPLOAD_INLINE_MAX_BYTES are staged inside
the request; larger ones are saved to the staging folder and staged by a Celery worker,
which reports "upload.progress" events to the room. An upload small in bytes but large in
work (more than FLINT_UPLOAD_INLINE_MAX_ENTRIES entries, more than
FLINT_UPLOAD_INLINE_MAX_EXPANDED_BYTES expanded) goes to the worker too, as soon as that
shows: a zip's entries are counted from its end record, before its directory is parsed.

A changed file that is open in the editor (it has a live document) is changed through
that document, as the smallest edit, so connected people see the new content at once;
a text file replaced by a binary one has its document dropped and its sockets closed.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from editor.collab.selectors import docs_with_state
from editor.collab.services import FILE_NOT_TEXT, doc_text_replace, documents_forget
from editor.core.errors import Conflict, FlintError, Gone, Invalid, NotFound
from editor.projects.archives import (
    FolderItem,
    FolderReader,
    Reader,
    TarReader,
    ZipReader,
    archive_kind,
    check_magic,
    zip_entry_count,
)
from editor.projects.blobs import blob_exists, blobs_collect
from editor.projects.ingest import (
    Limits,
    MoveToWorker,
    ProgressFn,
    StageResult,
    _mb,
    stage,
    too_many_entries,
)
from editor.projects.models import ProjectFile, ProjectFolder, Upload, UploadEntry, UploadStatus
from editor.projects.paths import parents, path_key, shown
from editor.projects.selectors import file_hashes_current
from editor.rooms.events import room_event_send
from editor.rooms.models import Room
from editor.rooms.permissions import Action, require

log = logging.getLogger(__name__)

PLAN_LISTED_MAX = 1000
PROGRESS_EVERY_SECONDS = 0.3


class UploadCancelled(Exception):
    """Raised inside a background ingest when the user cancelled it meanwhile."""


def staging_dir(upload_id: Any) -> Path:
    return Path(settings.FLINT_UPLOAD_STAGING_DIR) / str(upload_id)


class _Reopenable:
    """An uploaded file handed to a reader: 'closing' it only rewinds, the request owns it."""

    def __init__(self, fh: File) -> None:
        self.fh = fh
        fh.seek(0)

    def read(self, size: int = -1) -> bytes:
        return self.fh.read(size)

    def __enter__(self) -> _Reopenable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.fh.seek(0)


def _archive_reader(fh: BinaryIO, *, kind: str, name: str, limits: Limits) -> Reader:
    if kind == "zip":
        check_magic(fh, kind="zip", name=name)
        inline = limits.inline_entries
        bound = min(limits.member_cap, inline) if inline is not None else limits.member_cap
        counts = zip_entry_count(fh, limit=bound)
        if counts is not None:
            claimed, counted = counts
            if claimed > limits.member_cap:
                raise too_many_entries(limits)
            if inline is not None and max(claimed, counted) > inline:
                raise MoveToWorker()
            if counted > limits.member_cap:
                raise too_many_entries(limits)
        return ZipReader(fh, name=name)
    return TarReader(fh, name=name, gzip=kind == "tar.gz")


def _folder_reader(files: list[File], names: list[str], *, name: str) -> FolderReader:
    items = [
        FolderItem(path=n, size=f.size, open=lambda f=f: _Reopenable(f))
        for f, n in zip(files, names, strict=True)
    ]
    return FolderReader(items, name=name)


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
            f"The upload is {_mb(total)}; at most {_mb(limits.max_bytes)} can be uploaded at once.",
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
                reader = _archive_reader(handle, kind=kind, name=names[0], limits=inline_limits)
            else:
                reader = _folder_reader(files, names, name=source_name)
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
        _persist_source(folder, files, names, kind)
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


def _persist_source(folder: Path, files: list[File], names: list[str], kind: str | None) -> None:
    """Copy what the request received where a worker can read it (never at a user's path)."""
    if kind:
        with open(folder / "source", "wb") as out:
            for chunk in files[0].chunks():
                out.write(chunk)
        manifest: dict[str, Any] = {"kind": kind, "name": names[0]}
    else:
        (folder / "files").mkdir()
        for index, f in enumerate(files):
            with open(folder / "files" / f"{index:06d}", "wb") as out:
                for chunk in f.chunks():
                    out.write(chunk)
        manifest = {"kind": None, "names": names}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _staged_reader(upload: Upload) -> Reader:
    folder = staging_dir(upload.id)
    manifest = json.loads((folder / "manifest.json").read_text())
    if manifest["kind"]:
        return _archive_reader(
            open(folder / "source", "rb"),
            kind=manifest["kind"],
            name=manifest["name"],
            limits=Limits.from_settings(),
        )
    items = []
    for index, name in enumerate(manifest["names"]):
        file_path = folder / "files" / f"{index:06d}"
        size = file_path.stat().st_size
        items.append(FolderItem(path=name, size=size, open=lambda p=file_path: p.open("rb")))
    return FolderReader(items, name=upload.source_name)


# --- staging and the plan ------------------------------------------------------------------------


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


def upload_plan(*, upload: Upload, result: StageResult | None = None) -> dict[str, Any]:
    """Compare the staged entries with the project; Invalid if a file would meet a folder.

    Open files are compared by their live text, not the row's possibly older copy.
    """
    existing = file_hashes_current(room_id=upload.room_id)
    folder_keys = {path_key(p) for path, _ in existing.values() for p in parents(path)}
    folder_keys |= set(
        ProjectFolder.objects.filter(room_id=upload.room_id).values_list("path_key", flat=True)
    )
    lists: dict[str, list[str]] = {"added": [], "changed": [], "unchanged": []}
    counts = {"added": 0, "changed": 0, "unchanged": 0}
    total_bytes = 0
    entries = UploadEntry.objects.filter(upload=upload).values_list(
        "path", "path_key", "sha256", "size"
    )
    for path, key, sha, size in entries.order_by("path").iterator(chunk_size=2000):
        total_bytes += size
        if key in folder_keys:
            raise Invalid(
                f"{shown(path)} is a folder in the project but a file in the upload: rename "
                "or delete the folder first.",
                code="path_clash",
            )
        for parent in parents(path):
            if path_key(parent) in existing:
                raise Invalid(
                    f"{shown(parent)} is a file in the project but a folder in the upload "
                    f"(which holds {shown(path)}): rename or delete the file first.",
                    code="path_clash",
                )
        current = existing.get(key)
        if current is None:
            bucket = "added"
        elif current[1] == sha and current[0] == path:
            bucket = "unchanged"
        else:
            bucket = "changed"
        counts[bucket] += 1
        if len(lists[bucket]) < PLAN_LISTED_MAX:
            lists[bucket].append(path)
    plan: dict[str, Any] = {"counts": counts, **lists, "bytes": total_bytes}
    if result is not None:
        counts["skipped"] = result.skipped_total
        plan["skipped"] = result.skipped
        plan["empty_folders"] = result.empty_folders
    else:
        counts["skipped"] = upload.plan.get("counts", {}).get("skipped", 0)
        plan["skipped"] = upload.plan.get("skipped", [])
        plan["empty_folders"] = upload.plan.get("empty_folders", [])
    plan["listed_max"] = PLAN_LISTED_MAX
    return plan


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
        _ingest(upload, _staged_reader(upload), progress=progress)
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

    existing = {
        f.path_key: f
        for f in ProjectFile.objects.filter(room=room).only(
            "id", "path", "path_key", "sha256", "blob", "doc_id", "editable"
        )
    }
    hashes = file_hashes_current(room_id=room.pk)
    live = docs_with_state(f.doc_id for f in existing.values())
    fields = ["path", "kind", "editable", "size", "sha256", "language", "text", "blob"]
    now = timezone.now()
    to_create: list[ProjectFile] = []
    to_update: list[ProjectFile] = []
    old_blobs: set[str] = set()
    no_longer_text: list[Any] = []
    for entry in UploadEntry.objects.filter(upload=upload).iterator(chunk_size=500):
        if entry.blob and not blob_exists(entry.blob):
            raise Conflict(f"The stored content of {shown(entry.path)} is missing. Upload again.")
        values = {name: getattr(entry, name) for name in fields}
        current = existing.get(entry.path_key)
        if current is None:
            to_create.append(
                ProjectFile(room=room, path_key=entry.path_key, updated_by=actor, **values)
            )
        elif (
            hashes.get(entry.path_key, ("", current.sha256))[1] != entry.sha256
            or current.path != entry.path
        ):
            if current.blob and current.blob != entry.blob:
                old_blobs.add(current.blob)
            to_update.append(ProjectFile(id=current.id, updated_by=actor, updated_at=now, **values))
            if current.doc_id in live:
                # Forgetting the history instead would let connected clients sync the old
                # text straight back; write the new text through the live document.
                if entry.editable and entry.text is not None:
                    doc_text_replace(
                        doc_id=current.doc_id, text=entry.text, origin=f"upload:{upload.id}"
                    )
                else:
                    no_longer_text.append(current.doc_id)
        if len(to_create) >= 500:
            ProjectFile.objects.bulk_create(to_create)
            to_create = []
        if len(to_update) >= 200:
            ProjectFile.objects.bulk_update(to_update, [*fields, "updated_by", "updated_at"])
            to_update = []
    ProjectFile.objects.bulk_create(to_create)
    ProjectFile.objects.bulk_update(to_update, [*fields, "updated_by", "updated_at"])
    documents_forget(doc_ids=no_longer_text, reason=FILE_NOT_TEXT)
    file_keys = set(existing) | set(
        UploadEntry.objects.filter(upload=upload).values_list("path_key", flat=True)
    )
    ProjectFolder.objects.bulk_create(
        [
            ProjectFolder(room=room, path=f, path_key=path_key(f), created_by=actor)
            for f in plan["empty_folders"]
            if path_key(f) not in file_keys
        ],
        ignore_conflicts=True,
    )
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

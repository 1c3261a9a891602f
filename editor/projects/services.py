"""File operations on a room's project: create, write, move/rename, delete.

Uploads live in uploads.py. Every write here is authorized with ROOM_EDIT, runs in one
transaction and tells the room "files.changed" after commit. Folders are implied by file
paths; an empty folder the user creates is kept as a ProjectFolder row until it is deleted
or something is put in it (the row may stay; listing merges both).

Text goes into the live shared document (editor/collab/services.py), which is the source
of truth once a file has one; the row keeps a copy (text, size, sha256) for listings.
Deleting files drops their documents and closes their sockets in every process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from editor.collab.services import doc_text_replace, documents_forget
from editor.core.errors import Conflict, Invalid, NotFound
from editor.projects.blobs import blobs_collect
from editor.projects.languages import language_for
from editor.projects.models import PATH_MAX, FileKind, ProjectFile, ProjectFolder
from editor.projects.paths import parents, path_key, path_normalize, shown
from editor.projects.selectors import file_text_current
from editor.rooms.events import room_event_send
from editor.rooms.models import Room
from editor.rooms.permissions import Action, require


def _changed(room: Room, action: str, **payload: object) -> None:
    room_event_send(room.pk, "files.changed", {"reason": action, **payload})


def _file_at(room: Room, key: str) -> ProjectFile | None:
    return ProjectFile.objects.filter(room=room, path_key=key).first()


def _folder_exists(room: Room, key: str) -> bool:
    folders = ProjectFolder.objects.filter(room=room)
    return (
        folders.filter(path_key=key).exists()
        or folders.filter(path_key__startswith=key + "/").exists()
        or ProjectFile.objects.filter(room=room, path_key__startswith=key + "/").exists()
    )


def _check_free(room: Room, path: str, *, moving_key: str | None = None) -> None:
    """Refuse a new path that is taken, or whose parent folders are files."""
    key = path_key(path)
    if key != moving_key:
        if _file_at(room, key) is not None:
            raise Conflict(f"{shown(path)} already exists.")
        if _folder_exists(room, key):
            raise Conflict(f"{shown(path)} already exists as a folder.")
    for parent in parents(path):
        if _file_at(room, path_key(parent)) is not None:
            raise Conflict(f"{shown(parent)} is a file, so it cannot hold {shown(path)}.")


@contextmanager
def _unique(path: str) -> Iterator[None]:
    """Writes that the checks above cleared; a concurrent writer that took the path first
    trips the unique index instead, which is the same Conflict, not a 500."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError:
        raise Conflict(f"{shown(path)} already exists.") from None


def _text_bytes(text: str) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    if "\x00" in text:
        raise Invalid("Text files cannot contain NUL characters.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid("The text is not valid Unicode.") from None
    if len(data) > settings.FLINT_EDITABLE_MAX_BYTES:
        raise Invalid(
            f"The text is {len(data)} bytes; an editable file holds at most "
            f"{settings.FLINT_EDITABLE_MAX_BYTES} bytes.",
            code="too_large",
        )
    return data


@transaction.atomic
def file_create(*, room: Room, actor: AbstractBaseUser, path: str, text: str = "") -> ProjectFile:
    require(actor, Action.ROOM_EDIT, room)
    path = path_normalize(path)
    data = _text_bytes(text)
    _check_free(room, path)
    if ProjectFile.objects.filter(room=room).count() >= settings.FLINT_UPLOAD_MAX_FILES:
        raise Invalid(f"A project holds at most {settings.FLINT_UPLOAD_MAX_FILES} files.")
    with _unique(path):
        created = ProjectFile.objects.create(
            room=room,
            path=path,
            path_key=path_key(path),
            kind=FileKind.TEXT,
            editable=True,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            language=language_for(path),
            text=text,
            updated_by=actor,
        )
    _changed(room, "create", path=path, file_id=created.pk)
    return created


@transaction.atomic
def folder_create(*, room: Room, actor: AbstractBaseUser, path: str) -> str:
    require(actor, Action.ROOM_EDIT, room)
    path = path_normalize(path, is_dir=True)
    _check_free(room, path)
    with _unique(path):
        ProjectFolder.objects.create(
            room=room, path=path, path_key=path_key(path), created_by=actor
        )
    _changed(room, "create_folder", path=path)
    return path


@transaction.atomic
def file_write(
    *,
    room: Room,
    actor: AbstractBaseUser,
    file_id: int,
    text: str,
    expected_sha256: str | None = None,
    origin: str | None = None,
    presence: dict[str, Any] | None = None,
) -> ProjectFile:
    """Replace an editable file's text; `expected_sha256` turns a lost update into Conflict.

    `origin` names the writer in the document's history (default: the API user), e.g.
    "task:<id>" when a deep task's changeset is applied; `presence` shows that writer's
    cursor to people with the file open (collab's `doc_text_replace`).

    The change reaches the live document as the smallest edit, so people typing in the
    file elsewhere keep their edits (a full replacement would wipe them). `expected_sha256`
    is compared with the text as users see it now, as `file_get` reports it.
    """
    require(actor, Action.ROOM_EDIT, room)
    target = ProjectFile.objects.select_for_update().filter(room=room, pk=file_id).first()
    if target is None:
        raise NotFound("No such file in this room.")
    if not target.editable:
        why = "binary" if target.kind == FileKind.BINARY else "larger than the editable limit"
        raise Conflict(f"{shown(target.path)} is read-only: it is {why}.", code="read_only")
    data = _text_bytes(text)
    if expected_sha256:
        current = (file_text_current(target) or "").encode("utf-8", "surrogatepass")
        if expected_sha256 != hashlib.sha256(current).hexdigest():
            raise Conflict(
                f"{shown(target.path)} changed since you read it. Reload it and try again.",
                code="stale",
            )
    doc_text_replace(
        doc_id=target.doc_id, text=text, origin=origin or f"api:{actor.pk}", presence=presence
    )
    target.text = text
    target.size = len(data)
    target.sha256 = hashlib.sha256(data).hexdigest()
    target.updated_by = actor
    target.save(update_fields=["text", "size", "sha256", "updated_by", "updated_at"])
    _changed(room, "write", path=target.path, file_id=target.pk, sha256=target.sha256)
    return target


def _moved(path: str, *, depth: int, dst: str) -> str:
    """`path` with its first `depth` segments replaced by `dst`.

    Segments, never characters: the source may be spelled differently from the stored
    path (`straße` names `STRASSE`), and case folding may change a name's length.
    """
    rest = path.split("/")[depth:]
    return "/".join([dst, *rest])


def _check_fits(path: str) -> None:
    if len(path) > PATH_MAX or len(path_key(path)) > PATH_MAX:
        raise Invalid(
            f"{shown(path)}: the path would be longer than {PATH_MAX} characters.",
            code="bad_name",
        )


@transaction.atomic
def path_move(*, room: Room, actor: AbstractBaseUser, src: str, dst: str) -> str:
    """Rename or move a file or a whole folder; files keep their ids and doc_ids.

    A destination that is taken answers Conflict, whoever took it first: the checks
    below, or the unique index when another move won the race.
    """
    require(actor, Action.ROOM_EDIT, room)
    src = path_normalize(src, portable=False)  # it exists: stored names may predate the rules
    dst = path_normalize(dst)
    with _unique(dst):
        return _path_move(room=room, actor=actor, src=src, dst=dst)


def _path_move(*, room: Room, actor: AbstractBaseUser, src: str, dst: str) -> str:
    src_key, dst_key = path_key(src), path_key(dst)
    moving = ProjectFile.objects.select_for_update().filter(room=room, path_key=src_key).first()
    if moving is not None:
        _check_free(room, dst, moving_key=src_key if dst_key == src_key else None)
        moving.path = dst
        moving.path_key = dst_key
        moving.language = language_for(dst)
        moving.updated_by = actor
        moving.save(update_fields=["path", "path_key", "language", "updated_by", "updated_at"])
        _changed(room, "move", src=src, dst=dst)
        return dst
    if not _folder_exists(room, src_key):
        raise NotFound(f"{shown(src)} does not exist.")
    if dst_key.startswith(src_key + "/"):
        raise Invalid(f"{shown(src)} cannot be moved into itself.")
    _check_free(room, dst, moving_key=src_key if dst_key == src_key else None)
    prefix = src_key + "/"
    depth = src.count("/") + 1
    now = timezone.now()
    files = list(
        ProjectFile.objects.select_for_update()
        .filter(room=room, path_key__startswith=prefix)
        .only("id", "path", "path_key")
    )
    for f in files:
        f.path = _moved(f.path, depth=depth, dst=dst)
        _check_fits(f.path)
        f.path_key = path_key(f.path)
        f.language = language_for(f.path)
        f.updated_by = actor
        f.updated_at = now
    # Two passes so that a case-only rename never meets its own old keys in the index;
    # real keys never hold control characters, so the placeholders cannot collide.
    ProjectFile.objects.bulk_update(
        [ProjectFile(id=f.id, path_key=f"\x01moving/{f.id}") for f in files], ["path_key"]
    )
    ProjectFile.objects.bulk_update(
        files, ["path", "path_key", "language", "updated_by", "updated_at"], batch_size=500
    )
    folders = list(
        ProjectFolder.objects.filter(room=room).filter(path_key__startswith=prefix)
    ) + list(ProjectFolder.objects.filter(room=room, path_key=src_key))
    moved_folders = [_moved(f.path, depth=depth, dst=dst) for f in folders]
    for path in moved_folders:
        _check_fits(path)
    ProjectFolder.objects.filter(pk__in=[f.pk for f in folders]).delete()
    ProjectFolder.objects.bulk_create(
        [
            ProjectFolder(
                room=room, path=path, path_key=path_key(path), created_by_id=f.created_by_id
            )
            for f, path in zip(folders, moved_folders, strict=True)
        ]
    )
    _changed(room, "move", src=src, dst=dst)
    return dst


@transaction.atomic
def path_delete(*, room: Room, actor: AbstractBaseUser, path: str) -> int:
    """Delete a file, or a folder with everything in it; returns how many files went."""
    require(actor, Action.ROOM_EDIT, room)
    path = path_normalize(path, portable=False)  # it exists: stored names may predate the rules
    key = path_key(path)
    single = ProjectFile.objects.filter(room=room, path_key=key)
    files = (
        single
        if single.exists()
        else ProjectFile.objects.filter(room=room, path_key__startswith=key + "/")
    )
    folders = ProjectFolder.objects.filter(room=room, path_key=key) | ProjectFolder.objects.filter(
        room=room, path_key__startswith=key + "/"
    )
    blobs = set(files.exclude(blob="").values_list("blob", flat=True))
    documents_forget(doc_ids=list(files.values_list("doc_id", flat=True)))
    count, _ = files.delete()
    folder_count, _ = folders.delete()
    if not count and not folder_count:
        raise NotFound(f"{shown(path)} does not exist.")
    transaction.on_commit(lambda: blobs_collect(blobs))
    _changed(room, "delete", path=path, files=count)
    return count

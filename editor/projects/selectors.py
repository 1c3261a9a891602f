"""Reads of a room's project, already authorized; file content goes through one place.

The text of an editable file is its live shared document once it has one (it was opened
in the editor or written since): `file_text_current` reads it through the collab app.
Before that, the row's `text` is the content. Many files at once: `files_with_text`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from editor.collab.selectors import doc_texts_current
from editor.core.errors import NotFound
from editor.projects.blobs import blob_chunks
from editor.projects.models import ProjectFile, ProjectFolder
from editor.projects.paths import parents
from editor.rooms.models import Room
from editor.rooms.permissions import Action, require

TEXT_CHUNK = 256 * 1024
# files_with_text loads current texts this many files (or about this many bytes) at a time.
TEXT_BATCH_FILES = 100
TEXT_BATCH_BYTES = 16 * 1024 * 1024
_CURRENT = "_text_current"  # where files_text_prefetch leaves a file's current text


def files_for_room(*, room: Room) -> QuerySet[ProjectFile]:
    """A room's files without their content (which can be large)."""
    return ProjectFile.objects.filter(room=room).defer("text").order_by("path")


def project_tree(*, room: Room, actor: AbstractBaseUser) -> dict[str, Any]:
    """Files (metadata only) and every folder, implied or empty, plus the limits to show."""
    require(actor, Action.ROOM_VIEW, room)
    files = list(files_for_room(room=room).select_related("updated_by"))
    folders = {p for f in files for p in parents(f.path)}
    folders |= set(ProjectFolder.objects.filter(room=room).values_list("path", flat=True))
    for folder in list(folders):
        folders.update(parents(folder))
    return {"files": files, "folders": sorted(folders), "limits": project_limits()}


def project_limits() -> dict[str, int]:
    return {
        "upload_max_bytes": settings.FLINT_UPLOAD_MAX_BYTES,
        "upload_max_expanded_bytes": settings.FLINT_UPLOAD_MAX_EXPANDED_BYTES,
        "upload_max_files": settings.FLINT_UPLOAD_MAX_FILES,
        "editable_max_bytes": settings.FLINT_EDITABLE_MAX_BYTES,
    }


def file_get(*, room: Room, actor: AbstractBaseUser, file_id: int) -> ProjectFile:
    """A file as users see it now: for an editable one, `size` and `sha256` describe the
    current (live) text, so a reader can send that sha256 back as `expected_sha256`."""
    require(actor, Action.ROOM_VIEW, room)
    found = ProjectFile.objects.filter(room=room, pk=file_id).first()
    if found is None:
        raise NotFound("No such file in this room.")
    text = file_text_current(found)
    if text is not None:
        found.__dict__[_CURRENT] = text
        data = text.encode("utf-8", "surrogatepass")
        found.size, found.sha256 = len(data), hashlib.sha256(data).hexdigest()
    return found


def file_text_current(file: ProjectFile) -> str | None:
    """The text of an editable file as users see it now; None for read-only files.

    The one place export, reads and agents take text from: the live document (this
    process's copy if open, else the store) when the file has collaborative state, else
    the stored text.
    """
    if not file.editable:
        return None
    if _CURRENT in file.__dict__:
        return file.__dict__[_CURRENT]
    live = doc_texts_current([file.doc_id])
    if file.doc_id in live:
        return live[file.doc_id]
    return file.text


def files_text_prefetch(files: Iterable[ProjectFile]) -> None:
    """Load the current text of many files at once (two queries, not two per file).

    Afterwards `file_text_current(f)` answers from memory for each of them.
    """
    editable = [f for f in files if f.editable]
    live = doc_texts_current(f.doc_id for f in editable)
    deferred = [
        f.pk for f in editable if f.doc_id not in live and "text" in f.get_deferred_fields()
    ]
    stored: dict[int, str | None] = {}
    for start in range(0, len(deferred), 500):
        chunk = deferred[start : start + 500]
        stored.update(ProjectFile.objects.filter(pk__in=chunk).values_list("pk", "text"))
    for f in editable:
        if f.doc_id in live:
            f.__dict__[_CURRENT] = live[f.doc_id]
        elif f.pk in stored:
            f.__dict__[_CURRENT] = stored[f.pk]
        else:
            f.__dict__[_CURRENT] = f.text


def files_with_text(files: QuerySet[ProjectFile]) -> Iterator[ProjectFile]:
    """The files of a queryset, each with its current text loaded, in bounded batches.

    For readers of whole projects (export, retrieval). A file's text is dropped from
    memory once the caller has moved on to the next one.
    """
    batch: list[ProjectFile] = []
    size = 0
    for f in files.iterator(chunk_size=500):
        batch.append(f)
        size += f.size if f.editable else 0
        if len(batch) >= TEXT_BATCH_FILES or size >= TEXT_BATCH_BYTES:
            yield from _drain(batch)
            batch, size = [], 0
    yield from _drain(batch)


def _drain(batch: list[ProjectFile]) -> Iterator[ProjectFile]:
    files_text_prefetch(batch)
    for f in batch:
        yield f
        f.__dict__.pop(_CURRENT, None)


def file_hashes_current(*, room_id: int) -> dict[str, tuple[str, str]]:
    """path_key -> (path, sha256 of the content users see now) for every file of a room.

    Rows keep a copy of the live text that can lag behind typing; uploads compare against
    this instead, so that "unchanged" means unchanged from what is in the editor.
    """
    rows = list(
        ProjectFile.objects.filter(room_id=room_id).values_list(
            "path_key", "path", "sha256", "doc_id", "editable"
        )
    )
    hashes = {key: (path, sha) for key, path, sha, _, _ in rows}
    editable = [(key, doc_id) for key, _, _, doc_id, is_editable in rows if is_editable]
    for start in range(0, len(editable), TEXT_BATCH_FILES):
        chunk = dict(editable[start : start + TEXT_BATCH_FILES])
        live = doc_texts_current(chunk.values())
        for key, doc_id in chunk.items():
            if doc_id in live:
                data = live[doc_id].encode("utf-8", "surrogatepass")
                hashes[key] = (hashes[key][0], hashlib.sha256(data).hexdigest())
    return hashes


def file_chunks(file: ProjectFile) -> Iterator[bytes]:
    """The current bytes of any file, in chunks (text through `file_text_current`)."""
    text = file_text_current(file)
    if text is not None:
        data = text.encode("utf-8")
        for start in range(0, len(data), TEXT_CHUNK):
            yield data[start : start + TEXT_CHUNK]
        return
    if file.blob:
        yield from blob_chunks(file.blob)
    elif file.text is not None:  # not editable but kept as text (never written today)
        yield file.text.encode("utf-8")

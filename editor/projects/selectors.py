"""Reads of a room's project, already authorized; file content goes through one place."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from editor.core.errors import NotFound
from editor.projects.blobs import blob_chunks
from editor.projects.models import ProjectFile, ProjectFolder
from editor.projects.paths import parents
from editor.rooms.models import Room
from editor.rooms.permissions import Action, require

TEXT_CHUNK = 256 * 1024


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
    require(actor, Action.ROOM_VIEW, room)
    found = ProjectFile.objects.filter(room=room, pk=file_id).first()
    if found is None:
        raise NotFound("No such file in this room.")
    return found


def file_text_current(file: ProjectFile) -> str | None:
    """The text of an editable file as users see it now; None for read-only files.

    The one place export, reads and agents take text from: when the collaborative editor
    lands, the live Yjs document replaces the stored text here.
    """
    return file.text if file.editable else None


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

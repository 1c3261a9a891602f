"""Confirming an upload, the writing half: its staged entries become the project's files.

A changed file that is open in the editor (it has a live document) is changed through
that document, as the smallest edit, so connected people see the new content at once;
a text file replaced by a binary one has its document dropped and its sockets closed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from editor.collab.selectors import docs_with_state
from editor.collab.services import FILE_NOT_TEXT, doc_text_replace, documents_forget
from editor.core.errors import Conflict
from editor.projects.blobs import blob_exists
from editor.projects.models import ProjectFile, ProjectFolder, Upload, UploadEntry
from editor.projects.paths import path_key, shown
from editor.projects.selectors import file_hashes_current
from editor.rooms.models import Room


def staged_files_apply(
    *, room: Room, actor: AbstractBaseUser, upload: Upload, plan: dict[str, Any], now: datetime
) -> set[str]:
    """Write the upload's entries into the project (inside the caller's transaction).

    Returns the blobs no file refers to any more, for the caller to collect after commit.
    """
    existing = {
        f.path_key: f
        for f in ProjectFile.objects.filter(room=room).only(
            "id", "path", "path_key", "sha256", "blob", "doc_id", "editable"
        )
    }
    hashes = file_hashes_current(room_id=room.pk)
    live = docs_with_state(f.doc_id for f in existing.values())
    fields = ["path", "kind", "editable", "size", "sha256", "language", "text", "blob"]
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
    return old_blobs

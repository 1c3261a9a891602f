"""The one place that maps a doc_id to its file: its room, its initial text, editability.

Everything else in collab asks `document_get`, so a change in how files are modelled
(editor/projects/models.py) is absorbed here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID

from django.utils import timezone
from pycrdt import Doc, Text

from editor.rooms.models import Room

# The name of the shared Y.Text holding a file's content; the browser editor binds
# `ydoc.getText("content")` to CodeMirror.
TEXT_NAME = "content"

# Every process turns a file's stored text into the same first update, written by this
# client id at clock 0: two processes loading one file at once then produce identical
# structs and merging them is a no-op, instead of doubling the text.
BASE_CLIENT_ID = 1


@dataclass(frozen=True)
class DocumentInfo:
    doc_id: UUID
    room: Room
    path: str
    text: str
    editable: bool


def document_get(*, doc_id: UUID) -> DocumentInfo | None:
    """The file behind a doc id, or None when there is no such file."""
    from editor.projects.models import ProjectFile

    return _info(ProjectFile.objects.select_related("room").filter(doc_id=doc_id).first())


def document_lock(*, doc_id: UUID) -> DocumentInfo | None:
    """`document_get` under a row lock (inside a transaction) that serializes the first
    load of a document with writes into it; None when there is no such file."""
    from editor.projects.models import ProjectFile

    rows = ProjectFile.objects.select_related("room").select_for_update(of=("self",))
    return _info(rows.filter(doc_id=doc_id).first())


def document_text_mirror(*, doc_id: UUID, text: str, updated_by_id: int | None = None) -> bool:
    """Copy a document's text into its file row (text, size, sha256) when it differs;
    True if it did. `updated_by_id`: who edited last (the row's "updated by").

    The row is a cache for listings (sizes, hashes) once a document has live state; the
    live document stays the source of truth (`doc_text_current`).
    """
    from editor.projects.models import ProjectFile

    data = text.encode("utf-8", "surrogatepass")
    sha256 = hashlib.sha256(data).hexdigest()
    fields: dict = {"text": text, "size": len(data), "sha256": sha256, "updated_at": timezone.now()}
    if updated_by_id is not None:
        fields["updated_by_id"] = updated_by_id
    rows = ProjectFile.objects.filter(doc_id=doc_id, editable=True).exclude(sha256=sha256)
    return rows.update(**fields) > 0


def document_facts_mirror(*, doc_id: UUID, text: str, updated_by_id: int | None) -> None:
    """Mirror the text after an edit and tell the room the file's new facts (its size,
    when and by whom it changed), so the file tree follows typing without a reload."""
    from editor.projects.models import ProjectFile
    from editor.rooms.events import room_event_send

    if not document_text_mirror(doc_id=doc_id, text=text, updated_by_id=updated_by_id):
        return
    row = (
        ProjectFile.objects.filter(doc_id=doc_id)
        .select_related("updated_by")
        .values("id", "room_id", "path", "size", "updated_at", "updated_by__username")
        .first()
    )
    if row is not None:
        room_event_send(row["room_id"], "file.facts", {
            "id": row["id"], "doc_id": str(doc_id), "path": row["path"], "size": row["size"],
            "updated_at": row["updated_at"].isoformat(), "updated_by": row["updated_by__username"],
        })  # fmt: skip


def _info(row) -> DocumentInfo | None:
    if row is None:
        return None
    return DocumentInfo(
        doc_id=row.doc_id,
        room=row.room,
        path=row.path,
        text=row.text or "",
        editable=bool(row.editable and row.text is not None),
    )


def base_update(text: str) -> bytes:
    """The deterministic first update of a document holding `text`."""
    doc = Doc(client_id=BASE_CLIENT_ID)
    doc[TEXT_NAME] = Text(text)
    return doc.get_update()


def text_of(doc: Doc) -> str:
    return str(doc.get(TEXT_NAME, type=Text))

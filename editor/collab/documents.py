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


def document_text_mirror(*, doc_id: UUID, text: str) -> None:
    """Copy a document's text into its file row (text, size, sha256) when it differs.

    The row is a cache for listings (sizes, hashes) once a document has live state; the
    live document stays the source of truth (`doc_text_current`).
    """
    from editor.projects.models import ProjectFile

    data = text.encode("utf-8", "surrogatepass")
    sha256 = hashlib.sha256(data).hexdigest()
    ProjectFile.objects.filter(doc_id=doc_id, editable=True).exclude(sha256=sha256).update(
        text=text, size=len(data), sha256=sha256, updated_at=timezone.now()
    )


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

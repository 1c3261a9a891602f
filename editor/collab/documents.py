"""The one place that maps a doc_id to its file: its room, its initial text, editability.

Everything else in collab asks `document_get`; the answer comes from the registered
`DocumentSource` (projects' files), so collab knows nothing of how files are modelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

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


class DocumentSource(Protocol):
    """Where documents come from and where their text is copied back (hocuspocus's
    fetch / store extension hooks). Projects registers its files as the source
    (editor/projects/documents.py, from ProjectsConfig.ready), so collab never imports
    the file model."""

    def load(self, *, doc_id: UUID, lock: bool) -> DocumentInfo | None:
        """The file behind a doc id, or None; `lock`: under a row lock (in a transaction)."""

    def store_text(
        self, *, doc_id: UUID, text: str, updated_by_id: int | None = None, announce: bool = False
    ) -> bool:
        """Copy a document's text into the file's own record (a cache for listings) when
        it differs; True if it did. `announce`: also tell the room the file's new facts."""


_source: DocumentSource | None = None


def document_source_register(source: DocumentSource) -> None:
    """Install the one document source (called once, by the app that owns the files)."""
    global _source
    _source = source


def _registered() -> DocumentSource:
    if _source is None:
        raise RuntimeError(
            "No document source is registered: editor.projects must be in INSTALLED_APPS "
            "(its AppConfig.ready registers one)."
        )
    return _source


def document_get(*, doc_id: UUID) -> DocumentInfo | None:
    """The file behind a doc id, or None when there is no such file."""
    return _registered().load(doc_id=doc_id, lock=False)


def document_lock(*, doc_id: UUID) -> DocumentInfo | None:
    """`document_get` under a row lock (inside a transaction) that serializes the first
    load of a document with writes into it; None when there is no such file."""
    return _registered().load(doc_id=doc_id, lock=True)


def document_text_mirror(*, doc_id: UUID, text: str, updated_by_id: int | None = None) -> bool:
    """Copy a document's text into its file's record (text, size, sha256) when it differs;
    True if it did. `updated_by_id`: who edited last (the record's "updated by").

    The record is a cache for listings (sizes, hashes) once a document has live state; the
    live document stays the source of truth (`doc_text_current`).
    """
    return _registered().store_text(doc_id=doc_id, text=text, updated_by_id=updated_by_id)


def document_facts_mirror(*, doc_id: UUID, text: str, updated_by_id: int | None) -> None:
    """Mirror the text after an edit and let the source tell the room the file's new facts
    (its size, when and by whom it changed), so the file tree follows typing."""
    _registered().store_text(doc_id=doc_id, text=text, updated_by_id=updated_by_id, announce=True)


def base_update(text: str) -> bytes:
    """The deterministic first update of a document holding `text`."""
    doc = Doc(client_id=BASE_CLIENT_ID)
    doc[TEXT_NAME] = Text(text)
    return doc.get_update()


def text_of(doc: Doc) -> str:
    return str(doc.get(TEXT_NAME, type=Text))

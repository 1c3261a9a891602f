"""Reads of shared documents for the rest of Flint (export, search, tasks)."""

from __future__ import annotations

from uuid import UUID

from editor.collab import hub, store
from editor.collab.documents import document_get
from editor.core.errors import NotFound


def doc_text_current(doc_id: UUID) -> str:
    """The current text of a document: live if open in this process, else as stored.

    Every update is stored before anyone sees it, so the store is never behind what any
    client has been shown; the live copy only saves the read.
    """
    shared = hub.loaded(doc_id)
    if shared is not None:
        return shared.text()
    stored = store.document_text_stored(doc_id=doc_id)
    if stored is not None:
        return stored
    info = document_get(doc_id=doc_id)
    if info is None:
        raise NotFound("No such document.")
    return info.text

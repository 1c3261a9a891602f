"""Reads of shared documents for the rest of Flint (export, search, tasks)."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from pycrdt import Doc

from editor.collab import hub, store
from editor.collab.documents import document_get, text_of
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


def doc_texts_current(doc_ids: Iterable[UUID]) -> dict[UUID, str]:
    """Current texts of the documents that have collaborative state; the others are absent.

    Live if open in this process, else from the store, in one query per 500 documents
    (export and uploads read many files at once).
    """
    texts: dict[UUID, str] = {}
    from_store: list[UUID] = []
    for doc_id in doc_ids:
        shared = hub.loaded(doc_id)
        if shared is not None:
            texts[doc_id] = shared.text()
        else:
            from_store.append(doc_id)
    for doc_id, updates in store.documents_load(doc_ids=from_store).items():
        doc = Doc()
        for update in updates:
            doc.apply_update(update)
        texts[doc_id] = text_of(doc)
    return texts


def docs_with_state(doc_ids: Iterable[UUID]) -> set[UUID]:
    """Which of these documents have collaborative state (were opened or written live)."""
    return store.documents_with_state(doc_ids=doc_ids)

"""Reads of documents for the rest of Flint (editor/collab/selectors.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pycrdt import Doc, Text

from editor.collab import store
from editor.collab.documents import TEXT_NAME
from editor.collab.selectors import doc_texts_current, docs_with_state
from tests.collab.yclient import text_file

pytestmark = pytest.mark.django_db


def _type(doc_id, base: bytes, chunk: str) -> None:
    doc = Doc()
    doc.apply_update(base)
    state = doc.get_state()
    doc.get(TEXT_NAME, type=Text).insert(0, chunk)
    store.updates_append(doc_id=doc_id, updates=[doc.get_update(state)])


def test_many_documents_are_read_in_one_query(cast):
    files = [text_file(cast.room, path=f"f{i}.py", text=f"file {i}\n") for i in range(40)]
    opened = files[:30]
    for i, f in enumerate(opened):
        (base,) = store.document_load_or_init(doc_id=f.doc_id, text="")
        _type(f.doc_id, base, f"# typed {i}\n")
        if i % 3 == 0:  # some compacted into a snapshot, some only in the log
            store.document_compact(doc_id=f.doc_id)
            _type(f.doc_id, base, "# after compaction\n")
    with CaptureQueriesContext(connection) as queries:
        texts = doc_texts_current(f.doc_id for f in files)
    assert len(queries) == 1
    # Only documents with state are answered: the others' text is their file's.
    assert set(texts) == {f.doc_id for f in opened}
    for i, f in enumerate(opened):
        text = texts[f.doc_id]
        assert f"# typed {i}\n" in text and text.endswith(f"file {i}\n")
        assert ("# after compaction" in text) == (i % 3 == 0)
    assert docs_with_state(f.doc_id for f in files) == {f.doc_id for f in opened}

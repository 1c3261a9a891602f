"""The update log and its compaction (editor/collab/store.py)."""

from __future__ import annotations

import random
import uuid

import pytest
from pycrdt import Doc, Text

from editor.collab import store
from editor.collab.documents import TEXT_NAME, base_update, text_of
from editor.collab.models import DocSnapshot, DocUpdate

pytestmark = pytest.mark.django_db


def _editor(base: bytes) -> tuple[Doc, Text]:
    doc = Doc()
    doc.apply_update(base)
    return doc, doc.get(TEXT_NAME, type=Text)


def _edit(doc: Doc, change) -> bytes:
    state = doc.get_state()
    change()
    return doc.get_update(state)


def test_two_processes_loading_one_file_do_not_double_it():
    # Each process builds the first update from the file's text on its own...
    first, second = base_update("x = 1\n"), base_update("x = 1\n")
    assert first == second
    one, text_one = _editor(first)
    two, text_two = _editor(second)
    text_one.insert(0, "# one\n")
    text_two.insert(6, "y = 2\n")
    # ...and once their replicas meet, the text is there once, with both edits.
    one.apply_update(two.get_update())
    two.apply_update(one.get_update())
    assert str(text_one) == str(text_two)
    assert str(text_one).count("x = 1") == 1
    assert {"# one\n", "y = 2\n"} <= {line + "\n" for line in str(text_one).splitlines()}


def test_load_or_init_stores_the_base_once_and_load_returns_it():
    doc_id = uuid.uuid4()
    assert store.document_load(doc_id=doc_id) == []
    assert store.document_load_or_init(doc_id=doc_id, text="hello") == [base_update("hello")]
    # The second load finds it stored, whatever text it is given now.
    assert store.document_load_or_init(doc_id=doc_id, text="other") == [base_update("hello")]
    assert store.document_text_stored(doc_id=doc_id) == "hello"


def test_compaction_folds_the_log_and_keeps_the_text():
    doc_id = uuid.uuid4()
    base = store.document_load_or_init(doc_id=doc_id, text="")[0]
    doc, text = _editor(base)
    for i in range(200):
        store.updates_append(
            doc_id=doc_id, updates=[_edit(doc, lambda i=i: text.insert(len(text), f"{i} "))]
        )
    result = store.document_compact(doc_id=doc_id)
    assert (result.merged, result.kept) == (201, 0)
    assert DocUpdate.objects.filter(doc_id=doc_id).count() == 0
    assert store.document_text_stored(doc_id=doc_id) == str(text)
    # A later round merges into the existing snapshot.
    store.updates_append(doc_id=doc_id, updates=[_edit(doc, lambda: text.insert(0, "> "))])
    assert store.document_compact(doc_id=doc_id).merged == 1
    assert store.document_text_stored(doc_id=doc_id) == str(text)
    assert DocSnapshot.objects.get(doc_id=doc_id).merged_updates == 202


def test_compaction_keeps_rows_it_cannot_integrate():
    doc_id = uuid.uuid4()
    base = base_update("abc")
    elsewhere, text = _editor(base)
    # This update depends on the base, which the store does not have yet.
    orphan = _edit(elsewhere, lambda: text.insert(3, "def"))
    store.updates_append(doc_id=doc_id, updates=[orphan])
    result = store.document_compact(doc_id=doc_id)
    assert (result.merged, result.kept) == (0, 1)
    store.updates_append(doc_id=doc_id, updates=[base])
    assert store.document_compact(doc_id=doc_id).merged == 2
    assert store.document_text_stored(doc_id=doc_id) == "abcdef"


def test_compaction_only_deletes_rows_it_read(monkeypatch):
    """A row appended while compaction runs (by another process) is not lost."""
    doc_id = uuid.uuid4()
    base = store.document_load_or_init(doc_id=doc_id, text="start")[0]
    doc, text = _editor(base)
    late = _edit(doc, lambda: text.insert(0, "late "))
    real_apply = Doc.apply_update
    appended = []

    def apply_then_append(self, update):
        real_apply(self, update)
        if not appended:
            # What another daphne would do between our read and our delete.
            appended.append(DocUpdate.objects.create(doc_id=doc_id, data=late))

    monkeypatch.setattr(Doc, "apply_update", apply_then_append)
    result = store.document_compact(doc_id=doc_id)
    monkeypatch.undo()
    assert (result.merged, result.kept) == (1, 0)
    assert DocUpdate.objects.filter(pk=appended[0].pk).exists()
    assert store.document_text_stored(doc_id=doc_id) == "late start"


def test_store_stays_a_small_multiple_of_the_document_after_compaction():
    doc_id = uuid.uuid4()
    rng = random.Random(4)
    source = "".join(f"line {i}: some code here\n" for i in range(800))  # a ~20 KB file
    base = store.document_load_or_init(doc_id=doc_id, text=source)[0]
    doc, text = _editor(base)
    updates: list[bytes] = []
    subscription = doc.observe(lambda event: updates.append(event.update))
    # 6,000 keystrokes, one stored update each (as a browser sends them): runs of typing
    # at a moving cursor, with backspaces.
    cursor = len(text) // 2
    for _ in range(6000):
        if rng.random() < 0.02:
            cursor = rng.randrange(len(text) + 1)
        if cursor > 0 and rng.random() < 0.15:
            del text[cursor - 1 : cursor]
            cursor -= 1
        else:
            text.insert(cursor, rng.choice("abcdefgh \n"))
            cursor += 1
    doc.unobserve(subscription)
    for start in range(0, len(updates), 500):
        store.updates_append(doc_id=doc_id, updates=updates[start : start + 500])
    document_bytes = len(str(text).encode())
    before = store.store_size(doc_id=doc_id)
    store.document_compact(doc_id=doc_id)
    after = store.store_size(doc_id=doc_id)
    assert store.document_text_stored(doc_id=doc_id) == str(text)
    assert store.log_length(doc_id=doc_id) == 0
    # The snapshot is as small as Yjs can encode this document's history...
    assert after <= len(doc.get_update()) + 64
    # ...which stays within a small multiple of the text (the log alone was far larger).
    assert after <= 2 * document_bytes, (document_bytes, before, after)
    assert before > 3 * after


def test_forget_drops_everything():
    doc_id = uuid.uuid4()
    store.document_load_or_init(doc_id=doc_id, text="x")
    store.document_compact(doc_id=doc_id)
    store.updates_append(doc_id=doc_id, updates=[base_update("x")])
    store.document_forget(doc_id=doc_id)
    assert store.store_size(doc_id=doc_id) == 0
    assert store.document_text_stored(doc_id=doc_id) is None
    assert text_of(Doc()) == ""

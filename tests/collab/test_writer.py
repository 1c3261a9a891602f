"""The update log's group-commit writer (editor/collab/writer.py)."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.db import IntegrityError, connection
from pycrdt import Doc, Text

from editor.collab import store
from editor.collab.documents import TEXT_NAME
from editor.collab.models import DocUpdate
from editor.collab.selectors import doc_text_current
from editor.collab.writer import UpdateWriter, WriterStopped
from editor.core import closecodes
from tests.collab.test_consumers import _expect_close, main_py  # noqa: F401
from tests.collab.yclient import token_doc_client

pytestmark = pytest.mark.django_db(transaction=True)


def _keystrokes(count: int) -> list[bytes]:
    doc = Doc()
    text = doc.get(TEXT_NAME, type=Text)
    updates = []
    for i in range(count):
        state = doc.get_state()
        text.insert(len(text), str(i % 10))
        updates.append(doc.get_update(state))
    return updates


@sync_to_async
def _stored(doc_id) -> list[bytes]:
    return [
        bytes(d) for d in DocUpdate.objects.filter(doc_id=doc_id).values_list("data", flat=True)
    ]


async def test_concurrent_appends_of_many_documents_share_commits_and_keep_order():
    writer = UpdateWriter()
    docs = {uuid.uuid4(): _keystrokes(40) for _ in range(3)}
    try:
        # All 120 waiters queue while the first commit runs: they need far fewer commits.
        await asyncio.gather(
            *(
                writer.append(doc_id=doc_id, updates=[update])
                for i in range(40)
                for doc_id, updates in docs.items()
                for update in updates[i : i + 1]
            )
        )
    finally:
        await writer.astop()
    assert writer.batched == 120
    assert 1 <= writer.commits < 120
    for doc_id, updates in docs.items():
        assert await _stored(doc_id) == updates  # every one, once, in arrival order


async def test_a_failing_commit_fails_every_waiter_of_its_batch_and_stores_nothing(monkeypatch):
    real = store.updates_append_many
    first_commit_entered, release = threading.Event(), threading.Event()

    def held_first(*, rows):
        if not first_commit_entered.is_set():
            first_commit_entered.set()
            release.wait(10)  # the next appends queue meanwhile: one batch
        real(rows=rows)

    monkeypatch.setattr(store, "updates_append_many", held_first)
    writer = UpdateWriter()
    good_doc = uuid.uuid4()
    first, good, second_good = _keystrokes(3)
    try:
        head = asyncio.ensure_future(writer.append(doc_id=good_doc, updates=[first]))
        await asyncio.to_thread(first_commit_entered.wait, 10)
        # One valid update of a document and one that violates NOT NULL, in one batch.
        batch = [
            asyncio.ensure_future(writer.append(doc_id=good_doc, updates=[good])),
            asyncio.ensure_future(writer.append(doc_id=None, updates=[good])),  # type: ignore[arg-type]
        ]
        await asyncio.sleep(0.05)
        release.set()
        await head
        results = await asyncio.gather(*batch, return_exceptions=True)
        assert all(isinstance(r, IntegrityError) for r in results), results
        assert await _stored(good_doc) == [first]  # the good half was not applied either
        # The writer (and its connection) keeps working after the failure.
        await writer.append(doc_id=good_doc, updates=[second_good])
    finally:
        release.set()
        await writer.astop()
    assert await _stored(good_doc) == [first, second_good]


async def test_the_thread_ends_when_idle_and_comes_back(settings):
    settings.FLINT_COLLAB_WRITER_IDLE_SECONDS = 0.1
    writer = UpdateWriter()
    doc_id = uuid.uuid4()
    one, two = _keystrokes(2)
    try:
        await writer.append(doc_id=doc_id, updates=[one])
        for _ in range(100):
            if writer._thread is None:
                break
            await asyncio.sleep(0.02)
        assert writer._thread is None  # gone, with its connection
        await writer.append(doc_id=doc_id, updates=[two])
    finally:
        await writer.astop()
    assert await _stored(doc_id) == [one, two]
    with pytest.raises(WriterStopped):
        await writer.append(doc_id=doc_id, updates=[one])


async def test_a_failing_commit_closes_the_typist_with_4500_and_relays_nothing(
    cast,
    main_py,  # noqa: F811
    monkeypatch,
):
    alice_ws, alice = await token_doc_client(cast.alice, main_py.doc_id)
    bob_ws, bob = await token_doc_client(cast.bob, main_py.doc_id)
    before = await sync_to_async(store.document_text_stored)(doc_id=main_py.doc_id)

    def broken(*, rows):
        raise IntegrityError("disk full")

    monkeypatch.setattr(store, "updates_append_many", broken)
    await bob.insert(0, "# lost\n")
    await _expect_close(bob_ws, closecodes.SERVER_ERROR)
    # Not stored, so not applied and not relayed: alice and the live text never had it.
    with pytest.raises(asyncio.TimeoutError):
        await alice.receive_one(timeout=0.5)
    assert "# lost" not in str(alice.text)
    assert await sync_to_async(doc_text_current)(main_py.doc_id) == before
    assert await sync_to_async(store.document_text_stored)(doc_id=main_py.doc_id) == before
    await alice_ws.disconnect()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite pragmas")
async def test_the_writer_connection_has_wal_and_synchronous_normal():
    def pragmas() -> tuple[str, int]:
        from django.db import connection as thread_connection

        try:
            with thread_connection.cursor() as cursor:
                mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
                sync = cursor.execute("PRAGMA synchronous").fetchone()[0]
            return mode, sync
        finally:
            thread_connection.close()

    # A new thread opens its connection as the writer's thread does (settings' pragmas).
    assert await asyncio.to_thread(pragmas) == ("wal", 1)  # 1 = NORMAL

"""Writes into live documents from outside the socket (editor/collab/services.py), seen by
pycrdt clients connected to the real ASGI app."""

from __future__ import annotations

import asyncio
import hashlib
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction
from pycrdt import YSyncMessageType

from editor.collab import hub, store
from editor.collab.documents import base_update
from editor.collab.protocol import sync_message
from editor.collab.selectors import doc_text_current
from editor.collab.services import doc_text_replace, doc_text_replace_async, documents_forget
from editor.core import closecodes
from editor.core.errors import NotFound
from editor.projects.models import ProjectFile
from tests.collab.yclient import Closed, text_file, token_doc_client

pytestmark = pytest.mark.django_db(transaction=True)

SOURCE = "".join(f"line {i}\n" for i in range(10))


def _row(file) -> ProjectFile:
    return ProjectFile.objects.get(pk=file.pk)


def test_a_file_never_opened_gets_no_update_and_opens_with_the_new_text(cast):
    file = text_file(cast.room, text=SOURCE)
    assert doc_text_replace(doc_id=file.doc_id, text="fresh\n", origin="test") is None
    assert not store.document_has_state(doc_id=file.doc_id)
    row = _row(file)
    assert (row.text, row.size) == ("fresh\n", 6)
    assert row.sha256 == hashlib.sha256(b"fresh\n").hexdigest()
    # Its first load builds the base from the row as it is now, whatever it is handed.
    assert store.document_load_or_init(doc_id=file.doc_id, text=SOURCE) == [base_update("fresh\n")]


def test_an_unknown_document_is_not_found(cast):
    import uuid

    with pytest.raises(NotFound):
        doc_text_replace(doc_id=uuid.uuid4(), text="x", origin="test")
    with pytest.raises(NotFound):
        store.document_load_or_init(doc_id=uuid.uuid4(), text="x", file_required=True)


async def test_a_connected_client_converges_and_its_concurrent_edit_survives(cast):
    file = await sync_to_async(text_file)(cast.room, text=SOURCE)
    ws, bob = await token_doc_client(cast.bob, file.doc_id)
    # bob types at the end; his update is still on its way when the write happens.
    state = bob.doc.get_state()
    bob.text.insert(len(SOURCE.encode()), "# bob was here\n")
    in_flight = bob.doc.get_update(state)

    written = SOURCE.replace("line 1\n", "line one\n")
    update = await doc_text_replace_async(doc_id=file.doc_id, text=written, origin="test")
    assert update is not None and len(update) < 100  # a small edit, not the whole file
    await bob.pump_until(lambda: "line one" in str(bob.text))
    await bob.send(sync_message(YSyncMessageType.SYNC_UPDATE, in_flight))

    expected = written + "# bob was here\n"
    assert str(bob.text) == expected
    await ws.receive_nothing(0.1)
    assert await sync_to_async(doc_text_current)(file.doc_id) == expected
    assert await sync_to_async(store.document_text_stored)(doc_id=file.doc_id) == expected
    # A newcomer loads the same text.
    late_ws, late = await token_doc_client(cast.alice, file.doc_id)
    assert str(late.text) == expected
    await late_ws.disconnect()
    await ws.disconnect()


async def test_a_write_from_a_plain_thread_reaches_the_live_document_at_once(cast):
    """A Celery task is sync code on a thread of its own: no loop, no request."""
    file = await sync_to_async(text_file)(cast.room, text=SOURCE)
    ws, bob = await token_doc_client(cast.bob, file.doc_id)
    written = "header\n" + SOURCE
    errors: list[BaseException] = []
    seen: list[str] = []

    def task() -> None:
        try:
            doc_text_replace(doc_id=file.doc_id, text=written, origin="task:1")
            # Read-your-writes in the same process: the live copy has it already.
            seen.append(doc_text_current(file.doc_id))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    worker = threading.Thread(target=task)
    worker.start()
    await asyncio.get_running_loop().run_in_executor(None, worker.join)
    assert not errors, errors
    assert seen == [written]
    await bob.pump_until(lambda: str(bob.text) == written)
    # Applied here directly, and the relayed copy skipped: one update frame, not two.
    assert await ws.receive_nothing(0.3)
    assert bob.received_updates == 1
    await ws.disconnect()


async def test_forgetting_documents_closes_their_sockets_with_4004(cast):
    file = await sync_to_async(text_file)(cast.room, text=SOURCE)
    alice_ws, alice = await token_doc_client(cast.alice, file.doc_id)
    bob_ws, bob = await token_doc_client(cast.bob, file.doc_id)
    await alice.insert(0, "# typed\n")
    await bob.pump_until(lambda: "# typed" in str(bob.text))

    @sync_to_async
    def forget() -> None:
        with transaction.atomic():
            documents_forget(doc_ids=[file.doc_id])

    await forget()
    for client in (alice, bob):
        with pytest.raises(Closed) as closed:
            await client.pump_until(lambda: False, timeout=3)
        assert closed.value.code == closecodes.NOT_FOUND
        assert "deleted" in closed.value.reason
    await asyncio.sleep(0.1)  # the hub forgets once more after closing its peers
    assert hub.attached(file.doc_id) is None
    assert not await sync_to_async(store.document_has_state)(doc_id=file.doc_id)
    await alice_ws.disconnect()
    await bob_ws.disconnect()


async def test_unloading_a_document_refreshes_its_file_row(cast, settings):
    settings.FLINT_COLLAB_IDLE_GRACE_SECONDS = 0.05
    file = await sync_to_async(text_file)(cast.room, text=SOURCE)
    ws, bob = await token_doc_client(cast.bob, file.doc_id)
    await bob.insert(0, "# typed ✓\n")
    await ws.receive_nothing(0.1)
    await ws.disconnect()
    await ws.receive_nothing(0.4)  # the grace period passes; unload compacts
    row = await sync_to_async(_row)(file)
    expected = "# typed ✓\n" + SOURCE
    assert row.text == expected
    assert row.size == len(expected.encode())
    assert row.sha256 == hashlib.sha256(expected.encode()).hexdigest()

"""The live document is the source of truth for file content: what people type is what the
API reads and the export holds; API writes, uploads and deletes reach connected editors.

pycrdt clients on the document socket of the real ASGI app; the API over HTTP with tokens.
Covers editor/projects/selectors.py (reads), services.py (write, delete), uploads.py.
"""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pycrdt import YSyncMessageType

from editor.accounts.tokens import token_create
from editor.collab import store
from editor.collab.protocol import sync_message
from editor.core import closecodes
from editor.projects.selectors import file_text_current, files_for_room, files_with_text
from editor.projects.services import file_create
from tests.collab.yclient import Closed, token_doc_client, token_doc_socket
from tests.projects.helpers import make_zip

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("collab_hub")]

SOURCE = "".join(f"line {i}\n" for i in range(12))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@sync_to_async
def _api(user) -> Client:
    _, secret = token_create(user=user, name="live text", ttl_days=1)
    return Client(headers={"Authorization": f"Bearer {secret}"})


async def _closed_with(client, code: int) -> str:
    with pytest.raises(Closed) as closed:
        await client.pump_until(lambda: False, timeout=3)
    assert closed.value.code == code, closed.value
    return closed.value.reason


def _zip_files(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i).decode() for i in zf.infolist() if not i.is_dir()}


async def _get(client: Client, url: str):
    return await sync_to_async(client.get)(url)


async def _upload_and_confirm(client: Client, room_id: int, files: dict) -> dict:
    data = io.BytesIO(make_zip(files))
    data.name = "project.zip"
    staged = await sync_to_async(client.post)(
        f"/api/rooms/{room_id}/files/uploads", {"files": data}
    )
    assert staged.status_code == 201, staged.content
    upload = staged.json()
    confirmed = await sync_to_async(client.post)(
        f"/api/rooms/{room_id}/files/uploads/{upload['id']}/confirm"
    )
    assert confirmed.status_code == 200, confirmed.content
    return upload["plan"]


async def test_typed_text_is_what_the_api_reads_and_the_export_holds(cast, settings):
    settings.FLINT_COLLAB_IDLE_GRACE_SECONDS = 0.05
    room = cast.room
    file = await sync_to_async(file_create)(
        room=room, actor=cast.alice, path="src/app.py", text=SOURCE
    )
    api = await _api(cast.carol)  # a viewer reads
    ws, bob = await token_doc_client(cast.bob, file.doc_id)
    await bob.insert(0, "# typed by bob ✓\n")
    await ws.receive_nothing(0.1)
    typed = "# typed by bob ✓\n" + SOURCE

    read = (await _get(api, f"/api/rooms/{room.pk}/files/{file.pk}")).json()
    assert read["text"] == typed
    assert (read["sha256"], read["size"]) == (_sha(typed), len(typed.encode()))
    export = await _get(api, f"/api/rooms/{room.pk}/files/export")
    assert _zip_files(b"".join(export.streaming_content))["src/app.py"] == typed

    # Once everyone has left and the document is out of memory, the store answers; and
    # the file list shows the real size again.
    await ws.disconnect()
    await ws.receive_nothing(0.4)
    read = (await _get(api, f"/api/rooms/{room.pk}/files/{file.pk}")).json()
    assert read["text"] == typed
    export = await _get(api, f"/api/rooms/{room.pk}/files/export")
    assert _zip_files(b"".join(export.streaming_content))["src/app.py"] == typed
    listed = (await _get(api, f"/api/rooms/{room.pk}/files")).json()["files"]
    assert [(f["path"], f["size"]) for f in listed] == [("src/app.py", len(typed.encode()))]


async def test_an_api_write_reaches_a_connected_editor_and_keeps_its_concurrent_edit(cast):
    room = cast.room
    file = await sync_to_async(file_create)(
        room=room, actor=cast.alice, path="src/app.py", text=SOURCE
    )
    alice = await _api(cast.alice)
    ws, bob = await token_doc_client(cast.bob, file.doc_id)
    read = (await _get(alice, f"/api/rooms/{room.pk}/files/{file.pk}")).json()

    # bob's edit at the end is still on its way while alice writes line 1.
    state = bob.doc.get_state()
    bob.text.insert(len(SOURCE.encode()), "# bob's line\n")
    in_flight = bob.doc.get_update(state)
    written = SOURCE.replace("line 1\n", "line one, by the API\n")
    answer = await sync_to_async(alice.put)(
        f"/api/rooms/{room.pk}/files/{file.pk}",
        {"text": written, "expected_sha256": read["sha256"]},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    await bob.pump_until(lambda: "line one, by the API" in str(bob.text))
    await bob.send(sync_message(YSyncMessageType.SYNC_UPDATE, in_flight))
    await ws.receive_nothing(0.1)

    expected = written + "# bob's line\n"
    assert str(bob.text) == expected
    read = (await _get(alice, f"/api/rooms/{room.pk}/files/{file.pk}")).json()
    assert read["text"] == expected and read["sha256"] == _sha(expected)

    # A write based on what was read before bob's edit landed is refused, not lost.
    stale = await sync_to_async(alice.put)(
        f"/api/rooms/{room.pk}/files/{file.pk}",
        {"text": "overwrite\n", "expected_sha256": _sha(written)},
        content_type="application/json",
    )
    assert stale.status_code == 409 and stale.json()["error"] == "stale"
    assert str(bob.text) == expected
    await ws.disconnect()


async def test_an_upload_changing_an_open_file_shows_the_new_content_once(cast):
    room = cast.room
    alice = await _api(cast.alice)
    await _upload_and_confirm(alice, room.pk, {"app.py": SOURCE, "README.md": "# demo\n"})
    files = {
        f["path"]: f for f in (await _get(alice, f"/api/rooms/{room.pk}/files")).json()["files"]
    }
    ws, bob = await token_doc_client(cast.bob, files["app.py"]["doc_id"])
    assert str(bob.text) == SOURCE

    changed = SOURCE.replace("line 5\n", "line five\n") + "line 12\n"
    plan = await _upload_and_confirm(alice, room.pk, {"app.py": changed, "README.md": "# demo\n"})
    assert plan["counts"]["changed"] == 1 and plan["counts"]["unchanged"] == 1
    await bob.pump_until(lambda: str(bob.text) == changed)
    await ws.receive_nothing(0.2)
    assert str(bob.text) == changed  # no second copy arrives

    # bob types; the row's copy still says `changed`, but the live text differs: uploading
    # `changed` again is a change, and puts the live text back to it.
    await bob.insert(0, "# typed\n")
    await ws.receive_nothing(0.1)
    plan = await _upload_and_confirm(alice, room.pk, {"app.py": changed})
    assert plan["counts"]["changed"] == 1
    await bob.pump_until(lambda: str(bob.text) == changed)
    read = (await _get(alice, f"/api/rooms/{room.pk}/files/{files['app.py']['id']}")).json()
    assert read["text"] == changed
    await ws.disconnect()


async def test_an_open_text_file_replaced_by_a_binary_one_closes_its_sockets(cast):
    room = cast.room
    alice = await _api(cast.alice)
    await _upload_and_confirm(alice, room.pk, {"data.bin": "text for now\n"})
    (listed,) = (await _get(alice, f"/api/rooms/{room.pk}/files")).json()["files"]
    ws, bob = await token_doc_client(cast.bob, listed["doc_id"])
    await _upload_and_confirm(alice, room.pk, {"data.bin": b"\x00\x01\x02binary"})
    assert "no longer a text document" in await _closed_with(bob, closecodes.NOT_FOUND)
    assert not await sync_to_async(store.document_has_state)(doc_id=listed["doc_id"])
    await ws.disconnect()


async def test_deleting_a_folder_closes_its_documents_everywhere_and_drops_them(cast):
    room = cast.room
    kept = await sync_to_async(file_create)(room=room, actor=cast.alice, path="keep.py", text="k\n")
    doomed = [
        await sync_to_async(file_create)(
            room=room, actor=cast.alice, path=f"lib/m{i}.py", text=f"m{i}\n"
        )
        for i in range(2)
    ]
    sockets = [await token_doc_client(cast.bob, f.doc_id) for f in (*doomed, kept)]
    for _, client in sockets:
        await client.insert(0, "# typed\n")
    alice = await _api(cast.alice)
    answer = await sync_to_async(alice.delete)(f"/api/rooms/{room.pk}/files?path=lib")
    assert answer.status_code == 200 and answer.json()["files_deleted"] == 2

    for ws, client in sockets[:2]:
        assert "deleted" in await _closed_with(client, closecodes.NOT_FOUND)
        await ws.disconnect()
    for f in doomed:
        assert not await sync_to_async(store.document_has_state)(doc_id=f.doc_id)
        ws, _ = await _reconnect_refused(f.doc_id, cast.bob)
    # The file next to the folder is untouched, its socket open.
    keep_ws, keep_client = sockets[2]
    await keep_client.insert(0, "# still here\n")
    await keep_ws.receive_nothing(0.1)
    assert await sync_to_async(store.document_text_stored)(doc_id=kept.doc_id) == (
        "# still here\n# typed\nk\n"
    )
    await keep_ws.disconnect()


async def _reconnect_refused(doc_id, user):
    # Accepted, then closed with a code: binary clients read only codes.
    communicator = await token_doc_socket(user, doc_id)
    output = await communicator.receive_output(3)
    assert output["type"] == "websocket.close" and output["code"] == closecodes.NOT_FOUND
    await communicator.disconnect()
    return communicator, None


def test_whole_project_reads_load_texts_in_batches_not_per_file(cast):
    from tests.collab.yclient import text_file

    files = [text_file(cast.room, path=f"f{i:02}.py", text=f"v{i}\n") for i in range(60)]
    for f in files[:20]:  # these were opened: their text comes from the store
        store.document_load_or_init(doc_id=f.doc_id, text="")
    with CaptureQueriesContext(connection) as queries:
        texts = {
            f.path: file_text_current(f) for f in files_with_text(files_for_room(room=cast.room))
        }
    assert texts == {f"f{i:02}.py": f"v{i}\n" for i in range(60)}
    # The files, then per batch of 100: the stores (one UNION) and the never-opened texts.
    assert len(queries) <= 3, [q["sql"][:80] for q in queries]

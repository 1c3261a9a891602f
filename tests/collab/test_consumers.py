"""The document socket against the real ASGI app, with pycrdt clients."""

from __future__ import annotations

import uuid

import pytest
from asgiref.sync import sync_to_async
from pycrdt import YSyncMessageType

from editor.collab import store
from editor.collab.protocol import sync_message
from editor.collab.selectors import doc_text_current
from editor.core import closecodes
from editor.rooms.services import room_member_remove, room_member_set
from tests.collab.yclient import communicator_client, text_file, token_doc_client, token_doc_socket
from tests.support.sockets import ws_communicator

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def main_py(cast):
    return text_file(cast.room, text="def main():\n    pass\n")


async def _expect_close(communicator, code: int, reason: str = "") -> None:
    while True:
        output = await communicator.receive_output(3)
        if output["type"] == "websocket.close":
            break
    assert output["code"] == code
    assert reason in output.get("reason", "")
    await communicator.disconnect()


async def test_a_client_gets_the_file_text_on_sync(cast, main_py):
    communicator, bob = await token_doc_client(cast.bob, main_py.doc_id)
    assert str(bob.text) == "def main():\n    pass\n"
    await communicator.disconnect()


async def test_two_editors_converge(cast, main_py):
    alice_ws, alice = await token_doc_client(cast.alice, main_py.doc_id)
    bob_ws, bob = await token_doc_client(cast.bob, main_py.doc_id)
    await alice.insert(0, "# alice\n")
    await bob.insert(len(str(bob.text)), "# bob\n")
    await alice.pump_until(lambda: "# bob" in str(alice.text))
    await bob.pump_until(lambda: "# alice" in str(bob.text))
    assert str(alice.text) == str(bob.text) == "# alice\ndef main():\n    pass\n# bob\n"
    # Each update is stored before it is relayed; the live text is what export reads.
    assert await sync_to_async(doc_text_current)(main_py.doc_id) == str(alice.text)
    assert await sync_to_async(store.document_text_stored)(doc_id=main_py.doc_id) == str(alice.text)
    await alice_ws.disconnect()
    await bob_ws.disconnect()


async def test_sync_step2_goes_to_the_asking_client_only(cast, main_py):
    alice_ws, _alice = await token_doc_client(cast.alice, main_py.doc_id)
    bob_ws, _bob = await token_doc_client(cast.bob, main_py.doc_id)
    # alice heard nothing of bob's handshake: no step 2, no update.
    assert await alice_ws.receive_nothing(0.2)
    await alice_ws.disconnect()
    await bob_ws.disconnect()


async def test_offline_edits_merge_on_reconnect(cast, main_py):
    alice_ws, alice = await token_doc_client(cast.alice, main_py.doc_id)
    bob_ws, bob = await token_doc_client(cast.bob, main_py.doc_id)
    await bob_ws.disconnect()
    bob.text.insert(0, "# written offline\n")  # not sent: bob is offline
    await alice.insert(len(str(alice.text)), "# meanwhile\n")
    bob_ws = await token_doc_socket(cast.bob, main_py.doc_id)
    bob._send = lambda data: bob_ws.send_to(bytes_data=data)
    rebound = communicator_client(bob_ws)
    bob._recv = rebound._recv
    bob.synced = False
    await bob.sync()  # the server's step 1 makes bob send his offline edit as step 2
    await alice.pump_until(lambda: "offline" in str(alice.text))
    await bob.pump_until(lambda: "meanwhile" in str(bob.text))
    assert str(alice.text) == str(bob.text)
    await alice_ws.disconnect()
    await bob_ws.disconnect()


async def test_viewer_updates_are_dropped(cast, main_py):
    bob_ws, bob = await token_doc_client(cast.bob, main_py.doc_id)
    # Step 1 is answered for viewers too.
    carol_ws, carol = await token_doc_client(cast.carol, main_py.doc_id)
    assert str(carol.text) == str(bob.text)
    await carol.insert(0, "# vandal\n")
    await carol.set_cursor({"name": "Carol"})  # awareness is allowed
    await bob.pump_until(lambda: len(bob.awareness.states) == 1)
    assert "vandal" not in str(bob.text)
    assert "vandal" not in await sync_to_async(doc_text_current)(main_py.doc_id)
    assert "vandal" not in await sync_to_async(store.document_text_stored)(doc_id=main_py.doc_id)
    # The socket stays open and she still receives the editors' edits.
    await bob.insert(0, "# real\n")
    await carol.pump_until(lambda: "# real" in str(carol.text))
    await bob_ws.disconnect()
    await carol_ws.disconnect()


async def test_cursors_of_a_leaving_client_are_removed_for_the_others(cast, main_py):
    alice_ws, alice = await token_doc_client(cast.alice, main_py.doc_id)
    bob_ws, bob = await token_doc_client(cast.bob, main_py.doc_id)
    await bob.set_cursor({"name": "Bob", "color": "#f80"})
    await alice.pump_until(lambda: bob.doc.client_id in alice.awareness.states)
    # A newcomer gets the cursors already there.
    carol_ws = await token_doc_socket(cast.carol, main_py.doc_id)
    carol = communicator_client(carol_ws)
    await carol.sync()
    await carol.pump_until(lambda: bob.doc.client_id in carol.awareness.states)
    await bob_ws.disconnect()
    await alice.pump_until(lambda: bob.doc.client_id not in alice.awareness.states)
    await alice_ws.disconnect()
    await carol_ws.disconnect()


@pytest.mark.parametrize(
    ("who", "code", "reason"),
    [
        ("mallory", closecodes.FORBIDDEN, "not a member"),
        ("dave", closecodes.FORBIDDEN, "not a member"),
    ],
)
async def test_outsiders_are_refused(cast, main_py, who, code, reason):
    communicator = await token_doc_socket(getattr(cast, who), main_py.doc_id)
    await _expect_close(communicator, code, reason)


async def test_anonymous_is_refused(cast, main_py):
    communicator = await ws_communicator(f"/ws/docs/{main_py.doc_id}")
    assert (await communicator.connect())[0]
    await _expect_close(communicator, closecodes.NOT_AUTHENTICATED)


async def test_unknown_doc_is_not_found(cast):
    communicator = await token_doc_socket(cast.bob, uuid.uuid4())
    await _expect_close(communicator, closecodes.NOT_FOUND, "No such document")


async def test_binary_file_is_not_a_document(cast):
    image = await sync_to_async(text_file)(cast.room, path="logo.png", editable=False)
    communicator = await token_doc_socket(cast.bob, image.doc_id)
    await _expect_close(communicator, closecodes.NOT_FOUND, "not a text document")


async def test_no_sync_message_is_read_before_authorization(cast, main_py):
    communicator = await token_doc_socket(cast.mallory, main_py.doc_id)
    # Sent straight after the handshake; refused, and never applied.
    payload = b"\x01\x01\x00\x00"  # would be harmless anyway; the point is the close
    await communicator.send_to(bytes_data=sync_message(YSyncMessageType.SYNC_UPDATE, payload))
    await _expect_close(communicator, closecodes.FORBIDDEN)
    assert await sync_to_async(store.log_length)(doc_id=main_py.doc_id) == 0


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x00\x02\x05ab", closecodes.BAD_MESSAGE),  # update truncated: 5 bytes promised
        (b"\x00\x07\x00", closecodes.BAD_MESSAGE),  # no such sync message type
        (b"\x09", closecodes.BAD_MESSAGE),  # no such message type
        (b"\x00", closecodes.BAD_MESSAGE),  # nothing after the type
        (b"\x00\x02\x04\xff\xff\xff\xff", closecodes.BAD_MESSAGE),  # framed, not an update
        (b"\x01\x06\x01\x01\x01\x05ab", closecodes.BAD_MESSAGE),  # awareness state cut short
        (b'\x01\x06\x01\x01\x01\x03{"a', closecodes.BAD_MESSAGE),  # awareness not JSON
        (b"\x00\x00\x03\xff\xff\xff", closecodes.BAD_MESSAGE),  # step 1, bad state vector
        (b"\xff\xff\xff\xff\xff\xff\xff\xff\xff", closecodes.BAD_MESSAGE),  # endless varint
    ],
)
async def test_malformed_messages_close_the_sender_only(cast, main_py, frame, code):
    alice_ws, alice = await token_doc_client(cast.alice, main_py.doc_id)
    bob_ws, _bob = await token_doc_client(cast.bob, main_py.doc_id)
    before = str(alice.text)
    await bob_ws.send_to(bytes_data=frame)
    await _expect_close(bob_ws, code, "Bad message")
    # The document is untouched and alice is still served.
    assert await sync_to_async(doc_text_current)(main_py.doc_id) == before
    await alice.insert(0, "# still here\n")
    carol_ws, carol = await token_doc_client(cast.carol, main_py.doc_id)
    # In her sync step 2, or relayed just after it if alice's commit was still running.
    await carol.pump_until(lambda: str(carol.text) == "# still here\n" + before)
    await alice_ws.disconnect()
    await carol_ws.disconnect()


async def test_text_frames_are_refused(cast, main_py):
    bob_ws, _ = await token_doc_client(cast.bob, main_py.doc_id)
    await bob_ws.send_to(text_data='{"type": "ping"}')
    await _expect_close(bob_ws, closecodes.BAD_MESSAGE, "binary")


async def test_oversized_messages_are_refused(cast, main_py, settings):
    settings.FLINT_COLLAB_MAX_MESSAGE_BYTES = 1024
    bob_ws, bob = await token_doc_client(cast.bob, main_py.doc_id)
    state = bob.doc.get_state()
    bob.text.insert(0, "x" * 4096)
    big = sync_message(YSyncMessageType.SYNC_UPDATE, bob.doc.get_update(state))
    await bob_ws.send_to(bytes_data=big)
    await _expect_close(bob_ws, closecodes.MESSAGE_TOO_BIG)
    assert "xxxx" not in await sync_to_async(doc_text_current)(main_py.doc_id)


async def test_member_removed_while_connected_is_disconnected(cast, main_py):
    bob_ws, _ = await token_doc_client(cast.bob, main_py.doc_id)
    await sync_to_async(room_member_remove)(room=cast.room, actor=cast.alice, user=cast.bob)
    await _expect_close(bob_ws, closecodes.FORBIDDEN, "no longer have access")


async def test_a_second_socket_of_the_same_person_joins_without_the_database(
    cast, main_py, monkeypatch
):
    """The first join reads file, role and profile in one trip; the next is served from
    the open document and join_cache."""
    from editor.collab import consumers

    reads = []
    read = consumers._join_read
    monkeypatch.setattr(consumers, "_join_read", lambda *a: reads.append(a) or read(*a))
    first_ws, _ = await token_doc_client(cast.bob, main_py.doc_id)
    second_ws, second = await token_doc_client(cast.bob, main_py.doc_id)
    assert len(reads) == 1
    assert str(second.text) == "def main():\n    pass\n"
    await first_ws.disconnect()
    await second_ws.disconnect()
    # Nobody of bob's is here any more: the next join asks the database again.
    third_ws, _ = await token_doc_client(cast.bob, main_py.doc_id)
    assert len(reads) == 2
    await third_ws.disconnect()


async def test_a_removed_member_cannot_rejoin_on_a_kept_role(cast, main_py):
    bob_ws, _ = await token_doc_client(cast.bob, main_py.doc_id)
    await sync_to_async(room_member_remove)(room=cast.room, actor=cast.alice, user=cast.bob)
    # A join racing the removal's message, while bob's socket still holds the kept role.
    late = await token_doc_socket(cast.bob, main_py.doc_id)
    await _expect_close(bob_ws, closecodes.FORBIDDEN, "no longer have access")
    await _expect_close(late, closecodes.FORBIDDEN)


async def test_editor_demoted_to_viewer_can_no_longer_write(cast, main_py):
    alice_ws, alice = await token_doc_client(cast.alice, main_py.doc_id)
    bob_ws, bob = await token_doc_client(cast.bob, main_py.doc_id)
    await sync_to_async(room_member_set)(
        room=cast.room, actor=cast.alice, user=cast.bob, role="viewer"
    )
    # The role is re-checked on the group message; give it a moment to land.
    await bob_ws.receive_nothing(0.3)
    await bob.insert(0, "# after demotion\n")
    await alice.insert(0, "# alice\n")
    await bob.pump_until(lambda: "# alice" in str(bob.text))
    assert "demotion" not in str(alice.text)
    assert "demotion" not in await sync_to_async(doc_text_current)(main_py.doc_id)
    await alice_ws.disconnect()
    await bob_ws.disconnect()


async def test_doc_text_current_reads_the_store_once_closed(cast, main_py, settings):
    settings.FLINT_COLLAB_IDLE_GRACE_SECONDS = 0.05
    bob_ws, bob = await token_doc_client(cast.bob, main_py.doc_id)
    await bob.insert(0, "# saved\n")
    await bob_ws.receive_nothing(0.1)
    await bob_ws.disconnect()
    await bob_ws.receive_nothing(0.3)  # the grace period passes, the doc leaves memory
    from editor.collab import hub

    assert hub.loaded(main_py.doc_id) is None
    text = await sync_to_async(doc_text_current)(main_py.doc_id)
    assert text == "# saved\ndef main():\n    pass\n"
    # Eviction compacted the log into the snapshot.
    assert await sync_to_async(store.log_length)(doc_id=main_py.doc_id) == 0


async def test_keystrokes_do_not_hop_through_the_shared_sync_thread(cast, main_py, monkeypatch):
    import channels.consumer

    alice_ws, alice = await token_doc_client(cast.alice, main_py.doc_id)
    bob_ws, bob = await token_doc_client(cast.bob, main_py.doc_id)
    hops = []
    real = channels.consumer.aclose_old_connections

    async def counted():
        hops.append(1)
        await real()

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    for i in range(5):
        await alice.insert(0, str(i))
    await bob.pump_until(lambda: str(bob.text).startswith("43210"))
    assert hops == []  # neither alice's updates nor their relay to bob took the hop
    await alice_ws.disconnect()
    await bob_ws.disconnect()


async def test_the_file_row_and_the_room_follow_an_edit_a_pause_later(cast, main_py, monkeypatch):
    from editor.collab import hub as hub_module
    from editor.projects.models import ProjectFile
    from tests.support.sockets import room_socket

    monkeypatch.setattr(hub_module, "MIRROR_AFTER_IDLE_S", 0.2)
    room = await room_socket(cast.carol, cast.room)
    bob_ws, bob = await token_doc_client(cast.bob, main_py.doc_id)
    await bob.insert(0, "# bob was here\n")

    for _ in range(50):  # skip hello, presence and the like
        message = await room.receive_json_from(timeout=3)
        if message["type"] == "file.facts":
            break
    expected = len("# bob was here\ndef main():\n    pass\n")
    assert message["size"] == expected and message["updated_by"] == "bob"
    assert message["path"] == "src/main.py" and message["doc_id"] == str(main_py.doc_id)
    row = await sync_to_async(ProjectFile.objects.get)(pk=main_py.pk)
    assert (row.size, row.updated_by_id) == (expected, cast.bob.pk)
    assert row.updated_at > main_py.updated_at
    await bob_ws.disconnect()
    await room.disconnect()

"""Deleting a room or a team takes its shared documents with it, open sockets included."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from editor.collab import store
from editor.core import closecodes
from editor.rooms.services import room_delete, team_delete
from tests.collab.yclient import Closed, text_file, token_doc_client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("delete", ["room", "team"])
async def test_deleting_closes_open_documents_and_drops_their_history(cast, delete):
    file = await sync_to_async(text_file)(cast.room, text="x = 1\n")
    ws, bob = await token_doc_client(cast.bob, file.doc_id)
    await bob.insert(0, "# typed\n")
    await ws.receive_nothing(0.2)
    assert await sync_to_async(store.document_has_state)(doc_id=file.doc_id)

    if delete == "room":
        await sync_to_async(room_delete)(room=cast.room, actor=cast.alice)
    else:
        await sync_to_async(team_delete)(team=cast.team, actor=cast.alice)

    with pytest.raises(Closed) as closed:
        await bob.pump_until(lambda: False, timeout=3)
    assert closed.value.code == closecodes.NOT_FOUND
    assert not await sync_to_async(store.document_has_state)(doc_id=file.doc_id)
    await ws.disconnect()

"""Room presence kept in Redis: complete for a newcomer, stale entries dropped."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from editor.accounts.tokens import token_create
from editor.rooms.presence import STALE_AFTER_S, _client, _key, presence_enter
from tests.support.sockets import room_socket, ws_communicator

pytestmark = pytest.mark.django_db(transaction=True)


async def test_crowd_arriving_at_once_is_seen_whole_by_the_last_one(cast):
    """Forty sockets at once: the old N² answer-the-newcomer scheme filled the channel."""
    _, secret = await sync_to_async(token_create)(user=cast.bob, name="crowd")
    path = f"/ws/rooms/{cast.room.pk}"
    crowd = [await ws_communicator(path, token=secret) for _ in range(40)]
    results = await asyncio.gather(*(c.connect() for c in crowd))
    assert all(ok for ok, _ in results)
    late = await room_socket(None, cast.room, token=secret)
    seen = set()
    while len(seen) < 41:
        message = await late.receive_json_from(timeout=5)
        if message["type"] == "presence.join":
            seen.add(message["conn"])
    assert len(seen) == 41
    for communicator in [*crowd, late]:
        await communicator.disconnect()
    leftover = await _client().hgetall(_key(cast.room.pk))
    assert leftover == {}


async def test_entries_of_dead_processes_are_dropped(cast):
    key = _key(cast.room.pk)
    ghost = {"who": {"id": 1, "username": "ghost"}, "seen": time.time() - STALE_AFTER_S - 1}
    await _client().hset(key, "dead-channel", json.dumps(ghost))
    present = await presence_enter(room_id=cast.room.pk, conn="live", who={"username": "bob"})
    assert [entry["conn"] for entry in present] == ["live"]
    assert await _client().hkeys(key) == [b"live"]
    await _client().delete(key)


async def _joined(communicator: WebsocketCommunicator, username: str) -> dict:
    while True:
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == "presence.join" and message["who"]["username"] == username:
            return message


async def test_the_file_each_person_is_on_reaches_the_room_and_later_arrivals(cast):
    tokens = {}
    for user in (cast.bob, cast.carol, cast.alice):
        _, tokens[user.username] = await sync_to_async(token_create)(user=user, name="t")

    def socket(name):
        return room_socket(None, cast.room, token=tokens[name])

    bob, carol = await socket("bob"), await socket("carol")
    await _joined(carol, "carol")
    doc_id = "0b5bd1e6-47a5-4f0c-9a55-3d7a1f0e8d11"
    await bob.send_json_to({"type": "presence.where", "doc_id": doc_id, "path": "src/a.py"})
    while (moved := await carol.receive_json_from(timeout=5))["type"] != "presence.where":
        pass
    assert moved["who"]["username"] == "bob"
    assert moved["where"] == {"doc_id": doc_id, "path": "src/a.py"}

    alice = await socket("alice")
    bob_seen_by_alice = await _joined(alice, "bob")
    assert bob_seen_by_alice["where"] == {"doc_id": doc_id, "path": "src/a.py"}

    await bob.send_json_to({"type": "presence.where", "doc_id": "not-a-uuid", "path": "x"})
    while (error := await bob.receive_json_from(timeout=5))["type"] != "error":
        pass
    assert error["code"] == "bad_message"
    for communicator in (bob, carol, alice):
        await communicator.disconnect()

"""Room presence kept in Redis: complete for a newcomer, stale entries dropped."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from editor.api.tokens import token_create
from editor.rooms.presence import STALE_AFTER_S, _client, _key, presence_enter
from webapp.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def test_crowd_arriving_at_once_is_seen_whole_by_the_last_one(cast):
    """Forty sockets at once: the old N² answer-the-newcomer scheme filled the channel."""
    _, secret = await sync_to_async(token_create)(user=cast.bob, name="crowd")
    crowd = [
        WebsocketCommunicator(application, f"/ws/rooms/{cast.room.pk}?token={secret}")
        for _ in range(40)
    ]
    results = await asyncio.gather(*(c.connect() for c in crowd))
    assert all(ok for ok, _ in results)
    late = WebsocketCommunicator(application, f"/ws/rooms/{cast.room.pk}?token={secret}")
    assert (await late.connect())[0]
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

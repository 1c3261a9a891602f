"""The relay between processes (editor/collab/relay.py): batched per tick, and a Redis
outage costs other processes their freshness, never a local client its socket."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import msgpack
import pytest
import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings

from editor.collab import relay
from editor.collab.hub import hub
from tests.collab.yclient import text_file, token_doc_client

pytestmark = pytest.mark.django_db(transaction=True)


async def test_one_tick_of_messages_leaves_as_one_publish(cast):
    file = await sync_to_async(text_file)(cast.room, text="x\n")
    listener = aioredis.Redis.from_url(settings.REDIS_URL)
    pubsub = listener.pubsub()
    await pubsub.subscribe(relay.relay_channel(file.doc_id))
    await pubsub.get_message(timeout=5)  # the subscribe confirmation
    try:
        here = hub()
        for number in range(3):
            here.publish(file.doc_id, "collab.awareness", bytes([number]))
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
        body = msgpack.unpackb(message["data"], raw=False)
        assert body["origin"] == here.id
        assert [item["data"] for item in body["items"]] == [b"\x00", b"\x01", b"\x02"]
        assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.3) is None
    finally:
        await pubsub.aclose()
        await listener.aclose()


async def test_without_redis_local_peers_are_still_served_and_nobody_is_closed(
    cast, monkeypatch, caplog
):
    dead = aioredis.Redis.from_url("redis://127.0.0.1:9", socket_connect_timeout=0.2)
    monkeypatch.setattr(relay, "async_client", lambda: dead)
    file = await sync_to_async(text_file)(cast.room, text="x\n")
    with caplog.at_level(logging.WARNING, logger="editor.collab.relay"):
        alice_ws, alice = await token_doc_client(cast.alice, file.doc_id)
        bob_ws, bob = await token_doc_client(cast.bob, file.doc_id)
        await alice.insert(0, "a")
        await alice.set_cursor({"name": "Alice"})
        await bob.pump_until(lambda: str(bob.text) == "ax\n", timeout=5)
        await bob.pump_until(
            lambda: any((s or {}).get("user", {}).get("id") == cast.alice.pk
                        for s in bob.awareness.states.values()),
            timeout=5,
        )  # fmt: skip
        await bob.insert(0, "b")
        await alice.pump_until(lambda: str(alice.text) == "bax\n", timeout=5)
        await asyncio.sleep(0.6)  # a publish retry has come and gone
        assert await alice_ws.receive_nothing(0.1)
    assert any("collab relay" in record.getMessage() for record in caplog.records)
    await alice_ws.disconnect()
    await bob_ws.disconnect()


async def test_after_its_redis_connection_dies_the_relay_subscribes_again(cast):
    from pycrdt import Doc, Text

    file = await sync_to_async(text_file)(cast.room, text="x\n")
    bob_ws, bob = await token_doc_client(cast.bob, file.doc_id)
    subscription = hub().relay._pubsub
    subscription.connection._writer.transport.abort()  # the socket to Redis is gone

    other = Doc()
    other["content"] = text = Text()
    text += "zz"
    message = relay.encode(
        "another-process", [{"type": "collab.update", "data": other.get_update()}]
    )
    publisher = aioredis.Redis.from_url(settings.REDIS_URL)
    try:
        # A publish that reaches the dead connection is lost: send again (an update
        # applies once however often it comes) until the relay is back on the channel.
        for _ in range(30):
            await publisher.publish(relay.relay_channel(file.doc_id), message)
            with contextlib.suppress(AssertionError):
                await bob.pump_until(lambda: "zz" in str(bob.text), timeout=0.3)
                break
        assert "zz" in str(bob.text)
    finally:
        await publisher.aclose()
        await bob_ws.disconnect()

"""The channel layer's Redis reads must outlast the blocking pops channels_redis makes."""

from __future__ import annotations

import asyncio

from channels.layers import get_channel_layer


async def test_socket_reads_outlast_the_blocking_pop():
    layer = get_channel_layer()
    # channels_redis blocks BZPOPMIN for brpop_timeout seconds; a read timeout equal to it
    # races the reply and kills idle sockets under load.
    for host in layer.hosts:
        assert host["socket_timeout"] > layer.brpop_timeout + 5


async def test_a_receive_that_waits_past_the_pop_timeout_still_gets_its_message():
    layer = get_channel_layer()
    channel = await layer.new_channel()

    async def late_send():
        await asyncio.sleep(layer.brpop_timeout + 1)
        await layer.send(channel, {"type": "late"})

    sender = asyncio.create_task(late_send())
    message = await asyncio.wait_for(layer.receive(channel), timeout=layer.brpop_timeout * 3)
    await sender
    assert message == {"type": "late"}

"""Who is in a room right now: one Redis hash per room, shared by every daphne process.

A newcomer reads the hash once instead of every member answering it over the channel
layer: that was N² messages for N people arriving together, and filled the process's
channel (ChannelFull) at about a hundred sockets. Each connection refreshes its entry;
an entry not refreshed for STALE_AFTER_S (its process died) is dropped on the next read.
"""

from __future__ import annotations

import asyncio
import json
import time
import weakref
from typing import Any

import redis.asyncio as aioredis
from django.conf import settings

HEARTBEAT_S = 30.0
STALE_AFTER_S = 3 * HEARTBEAT_S
_KEY_TTL_S = 24 * 3600

# One client per event loop: daphne has one; each async test has its own.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
    weakref.WeakKeyDictionary()
)


def _client() -> aioredis.Redis:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = aioredis.Redis.from_url(settings.REDIS_URL, socket_timeout=10)
        _clients[loop] = client
    return client


def _key(room_id: int) -> str:
    return f"{settings.FLINT_CHANNEL_PREFIX}:presence:room:{room_id}"


async def presence_enter(*, room_id: int, conn: str, who: dict[str, Any]) -> list[dict[str, Any]]:
    """Record this connection and return everyone present (including it) as {who, conn}."""
    client = _client()
    key = _key(room_id)
    entry = json.dumps({"who": who, "seen": time.time()})
    async with client.pipeline(transaction=True) as pipe:
        pipe.hset(key, conn, entry)
        pipe.expire(key, _KEY_TTL_S)
        pipe.hgetall(key)
        *_, raw = await pipe.execute()
    present, stale = [], []
    now = time.time()
    for field, value in raw.items():
        item = json.loads(value)
        if now - item["seen"] > STALE_AFTER_S:
            stale.append(field)
        else:
            present.append({"who": item["who"], "conn": field.decode()})
    if stale:
        await client.hdel(key, *stale)
    return present


async def presence_touch(*, room_id: int, conn: str, who: dict[str, Any]) -> None:
    entry = json.dumps({"who": who, "seen": time.time()})
    await _client().hset(_key(room_id), conn, entry)


async def presence_leave(*, room_id: int, conn: str) -> None:
    await _client().hdel(_key(room_id), conn)

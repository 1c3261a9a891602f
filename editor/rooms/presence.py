"""Who is in a room right now, and on which file: one Redis hash per room, shared by
every daphne process.

A newcomer reads the hash once instead of every member answering it over the channel
layer: that was N² messages for N people arriving together, and filled the process's
channel (ChannelFull) at about a hundred sockets. Each connection refreshes its entry;
an entry not refreshed for STALE_AFTER_S (its process died) is dropped on the next read.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import redis.asyncio as aioredis
from django.conf import settings

from editor.core.redis_clients import async_client, sync_client

HEARTBEAT_S = 30.0
STALE_AFTER_S = 3 * HEARTBEAT_S
_KEY_TTL_S = 24 * 3600


def _client() -> aioredis.Redis:
    # The process's shared, bounded pool (editor/core/redis_clients.py).
    return async_client()


_PATH_MAX = 1024


def parse_where(content: dict[str, Any]) -> dict[str, str] | None:
    """{"doc_id", "path"} of a presence.where message, or None for "no file open"."""
    doc_id, path = content.get("doc_id"), content.get("path")
    if doc_id is None and path is None:
        return None
    try:
        doc_id = str(uuid.UUID(str(doc_id)))
    except ValueError:
        raise ValueError("presence.where needs a doc_id (a UUID) and a path, or neither.") from None
    if not isinstance(path, str) or not 0 < len(path) <= _PATH_MAX:
        raise ValueError("presence.where needs a doc_id (a UUID) and a path, or neither.")
    return {"doc_id": doc_id, "path": path}


def _key(room_id: int) -> str:
    return f"{settings.FLINT_CHANNEL_PREFIX}:presence:room:{room_id}"


def _entry(who: dict[str, Any], where: dict[str, Any] | None) -> str:
    return json.dumps({"who": who, "where": where, "seen": time.time()})


async def presence_enter(
    *, room_id: int, conn: str, who: dict[str, Any], where: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Record this connection and return everyone present (including it): {who, conn, where}."""
    client = _client()
    key = _key(room_id)
    entry = _entry(who, where)
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
            present.append({"who": item["who"], "conn": field.decode(), "where": item.get("where")})
    if stale:
        await client.hdel(key, *stale)
    return present


async def presence_touch(
    *, room_id: int, conn: str, who: dict[str, Any], where: dict[str, Any] | None = None
) -> None:
    """Refresh this connection's entry (heartbeat), with the file it is on now."""
    await _client().hset(_key(room_id), conn, _entry(who, where))


async def presence_leave(*, room_id: int, conn: str) -> None:
    await _client().hdel(_key(room_id), conn)


def people_present_by_room(*, room_ids: set[int] | None = None) -> dict[int, set[Any]]:
    """{room id: ids of the people present} for rooms with someone present now (sync).

    Across every room (or only `room_ids`); an entry not refreshed for STALE_AFTER_S
    belongs to a dead process and is left out. Only reads: the sockets drop stale entries.
    """
    prefix = _key(0).removesuffix("0")
    client = sync_client()
    present: dict[int, set[Any]] = {}
    now = time.time()
    for key in client.scan_iter(match=prefix + "*", count=500):
        room_id = key.decode().removeprefix(prefix)
        if not room_id.isdigit() or (room_ids is not None and int(room_id) not in room_ids):
            continue
        here = set()
        for value in client.hvals(key):
            try:
                entry = json.loads(value)
                if now - float(entry["seen"]) <= STALE_AFTER_S:
                    here.add(entry["who"]["id"])
            except (ValueError, KeyError, TypeError):
                continue  # a malformed entry is not a person
        if here:
            present[int(room_id)] = here
    return present

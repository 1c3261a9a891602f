"""The Redis clients of a process, with pools sized on purpose.

redis-py's asyncio pool raises `MaxConnectionsError` the moment a 101st command is in
flight; under a few hundred sockets that closed them with 4500 (issue 11). Every async
Redis user here (presence, quotas, the relays) gets a `BlockingConnectionPool` instead: at most
`FLINT_REDIS_MAX_CONNECTIONS` connections, and a burst waits up to
`FLINT_REDIS_POOL_TIMEOUT` seconds for a free one rather than failing.

This is the one module that makes Redis clients (the embedded server's own start-up probe
in embedded_redis.py aside, which runs before settings exist). Lua scripts are
`LuaScript`s: registered once, then run by digest (EVALSHA).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Sequence
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.commands.core import AsyncScript, Script


def max_connections() -> int:
    return int(getattr(settings, "FLINT_REDIS_MAX_CONNECTIONS", 64))


def pool_timeout() -> float:
    return float(getattr(settings, "FLINT_REDIS_POOL_TIMEOUT", 10.0))


def async_pool(url: str, **options) -> aioredis.BlockingConnectionPool:
    """A bounded asyncio pool for `url` that waits for a connection instead of raising."""
    options.setdefault("max_connections", max_connections())
    options.setdefault("timeout", pool_timeout())
    return aioredis.BlockingConnectionPool.from_url(url, **options)


# One client per event loop (daphne has one; each async test has its own), shared by
# every async user in the process.
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
    weakref.WeakKeyDictionary()
)
_sync_client: redis.Redis | None = None
_lock = threading.Lock()


def async_client() -> aioredis.Redis:
    """This loop's shared asyncio client (presence, quotas, the collab relay)."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        pool = async_pool(settings.REDIS_URL, socket_timeout=10)
        client = _async_clients[loop] = aioredis.Redis(connection_pool=pool)
    return client


def sync_client() -> redis.Redis:
    """The process's shared synchronous client (Celery workers, sync views); thread-safe."""
    global _sync_client
    with _lock:
        if _sync_client is None:
            pool = redis.BlockingConnectionPool.from_url(
                settings.REDIS_URL,
                max_connections=max_connections(),
                timeout=pool_timeout(),
                socket_timeout=10,
            )
            _sync_client = redis.Redis(connection_pool=pool)
        return _sync_client


def probe_client(*, timeout: float) -> redis.Redis:
    """A client of its own with short timeouts, for a health check to close after one PING.

    Not the shared pool: a pool whose connections are all busy would make the check wait
    (FLINT_REDIS_POOL_TIMEOUT) instead of answering whether Redis is up.
    """
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout
    )


class LuaScript:
    """A Lua script sent to Redis once (redis-py's register_script), then run by its digest.

    Each call is an EVALSHA with the keys and arguments; the source travels again only if
    the server answers NOSCRIPT (it restarted, or flushed its scripts).
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self._sync: Script | None = None
        self._async: AsyncScript | None = None

    def run_sync(self, *, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """Run on the process's shared sync client."""
        client = sync_client()
        if self._sync is None:
            self._sync = client.register_script(self.source)
        return self._sync(keys=keys, args=args, client=client)

    async def run(self, *, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """Run on this event loop's shared async client."""
        client = async_client()
        if self._async is None:
            self._async = client.register_script(self.source)
        return await self._async(keys=keys, args=args, client=client)

"""The Redis clients of a process, with pools sized on purpose.

redis-py's asyncio pool raises `MaxConnectionsError` the moment a 101st command is in
flight; under a few hundred sockets that closed them with 4500 (issue 11). Every async
Redis user here (presence, quotas, the collab relay, the channel layer through
`editor/core/channel_layer.py`) gets a `BlockingConnectionPool` instead: at most
`FLINT_REDIS_MAX_CONNECTIONS` connections, and a burst waits up to
`FLINT_REDIS_POOL_TIMEOUT` seconds for a free one rather than failing.
"""

from __future__ import annotations

import asyncio
import threading
import weakref

import redis
import redis.asyncio as aioredis
from django.conf import settings


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

"""channels_redis's layer on a bounded, waiting connection pool.

channels_redis builds a plain `redis.asyncio.ConnectionPool` per host, which raises
`MaxConnectionsError` once 100 commands are in flight (every `group_add`, `group_send`
and `group_discard` takes a connection). `create_pool` is the layer's own hook for
building that pool; Flint's returns the blocking pool of `editor/core/redis_clients.py`.
"""

from __future__ import annotations

from channels_redis.core import RedisChannelLayer
from channels_redis.utils import create_pool

from editor.core.redis_clients import async_pool


class FlintChannelLayer(RedisChannelLayer):
    def create_pool(self, index):
        host = dict(self.hosts[index])
        address = host.pop("address", None)
        if address is None:  # sentinels or explicit kwargs: channels_redis's own pool
            return create_pool(self.hosts[index])
        return async_pool(address, **host)

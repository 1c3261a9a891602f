"""Documents' updates and awareness between processes: Redis pub/sub, one path per process.

Each hub (one per process) holds one `editor.core.relay.Relay` subscribed to the channel
`<prefix>:collab:<doc hex>` of every document open here; what it sends leaves once per
tick, one PUBLISH per document (editor/core/relay.py). Items are {"type": "collab.update"
| "collab.awareness" | "collab.close", "data": ..., ...}.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.conf import settings

from editor.core import relay as core_relay
from editor.core.redis_clients import async_client, sync_client

log = logging.getLogger(__name__)

encode = core_relay.encode


def relay_channel(doc_id: UUID | str) -> str:
    doc_hex = doc_id.hex if isinstance(doc_id, UUID) else doc_id
    return f"{settings.FLINT_CHANNEL_PREFIX}:collab:{doc_hex}"


def publish_sync(doc_id: UUID, *, origin: str, items: list[dict[str, Any]]) -> None:
    """Publish from synchronous code (services run in views and Celery workers)."""
    sync_client().publish(relay_channel(doc_id), encode(origin, items))


class Relay(core_relay.Relay):
    """The documents' relay of one process: keys are document ids."""

    def __init__(self, *, origin: str, deliver, spawn) -> None:
        super().__init__(
            name="collab relay",
            log=log,
            origin=origin,
            channel_of=relay_channel,
            key_of=lambda channel: channel.rsplit(":", 1)[1],
            deliver=lambda doc_hex, item: _deliver_item(deliver, doc_hex, item),
            spawn=spawn,
            connect=lambda: async_client(),  # looked up at call time (tests replace it)
        )

    async def subscribe(self, doc_id: UUID) -> None:
        await super().subscribe(doc_id.hex)

    async def unsubscribe(self, doc_id: UUID) -> None:
        await super().unsubscribe(doc_id.hex)

    def publish(self, doc_id: UUID, item: dict[str, Any]) -> None:
        super().publish(doc_id.hex, item)


def _deliver_item(deliver, doc_hex: str, item: Any) -> None:
    if isinstance(item, dict):
        deliver(UUID(hex=doc_hex), item)

"""Writes into shared documents from outside the document socket.

The file API, upload confirm and (later) deep tasks change a file's text with
`doc_text_replace`; deleting files goes through `documents_forget`. Both work from sync
code (views, Celery workers) inside the caller's transaction: rows are written with it,
and what other processes must hear is sent after it commits. Async code awaits
`doc_text_replace_async`.

The durability rule of the socket holds here too: an update is in the log (committed)
before any client is sent it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from channels.db import database_sync_to_async
from django.db import transaction
from pycrdt import Doc, YSyncMessageType

from editor.collab import conf, hub, relay, store
from editor.collab.agents import agent_client_id, agent_state, changed_range_cursor
from editor.collab.documents import document_lock, document_text_mirror, text_of
from editor.collab.edits import apply_text_edits, text_edits
from editor.collab.protocol import sync_message
from editor.core import closecodes
from editor.core.errors import NotFound

log = logging.getLogger(__name__)

FILE_DELETED = "This file was deleted."
FILE_NOT_TEXT = "This file is no longer a text document."


def doc_text_replace(
    *, doc_id: UUID, text: str, origin: str, presence: dict[str, Any] | None = None
) -> bytes | None:
    """Make a document's text `text` through the smallest Yjs edit; returns that update.

    `origin` names the writer for logs ("api", "upload", "task:12"). The caller validates
    `text` (editor/projects' services do). A document without collaborative state (never
    opened) gets no update, only its file row: its first load builds from the row's text.
    Concurrent edits elsewhere in the file survive; a range that both this write and
    someone else changed keeps both, as Yjs merges them.

    `presence` ({"task", "name", "started_by"}) names the writer to the people who have the
    document open: after the commit its cursor shows over the changed range for a few
    seconds (editor/collab/agents.py).
    """
    update: bytes | None = None
    with transaction.atomic():
        # The row lock serializes this with the document's first load (store.py).
        if document_lock(doc_id=doc_id) is None:
            raise NotFound("No such document.")
        if store.document_has_state(doc_id=doc_id):
            # A writer of its own (random client id) on the stored state: the store holds
            # every update any client was sent, so the diff is against the latest text.
            doc = Doc()
            for stored in store.document_load(doc_id=doc_id):
                doc.apply_update(stored)
            current = text_of(doc)
            edits = text_edits(current, text)
            if edits:
                before = doc.get_state()
                apply_text_edits(doc, edits, current)
                update = doc.get_update(before)
                store.updates_append(doc_id=doc_id, updates=[update])
                sent = update
                transaction.on_commit(
                    lambda: _deliver(doc_id=doc_id, update=sent, origin=origin), robust=True
                )
                if presence is not None:
                    state = agent_state(presence, changed_range_cursor(doc, edits, text))
                    transaction.on_commit(
                        lambda: _show_agent(doc_id=doc_id, state=state), robust=True
                    )
        document_text_mirror(doc_id=doc_id, text=text)
    return update


async def doc_text_replace_async(*, doc_id: UUID, text: str, origin: str) -> bytes | None:
    """`doc_text_replace` for async callers (a consumer, an async task runner)."""
    return await database_sync_to_async(doc_text_replace)(doc_id=doc_id, text=text, origin=origin)


def documents_forget(*, doc_ids: Iterable[UUID], reason: str = FILE_DELETED) -> None:
    """Files were deleted (or stopped being text): drop their documents everywhere.

    Call inside the transaction that deletes or changes the files. The stored history goes
    with that transaction; after it commits, every process closes the documents' sockets
    with 4004 and `reason`. Forgetting without closing would let a connected client sync
    the old text straight back.
    """
    ids = list(dict.fromkeys(doc_ids))
    if not ids:
        return
    # Only a document with stored state can have sockets: its first load writes the state.
    opened = store.documents_with_state(doc_ids=ids)
    store.documents_forget(doc_ids=ids)
    if opened:
        transaction.on_commit(
            lambda: _close_everywhere(doc_ids=sorted(opened), reason=reason), robust=True
        )


def _deliver(*, doc_id: UUID, update: bytes, origin: str) -> None:
    """Apply a committed update to this process's live document and relay it to the rest."""
    sender = f"service:{origin}"
    shared = hub.attached(doc_id)
    if shared is not None:
        # Here and now, so that a read right after the write (same process) sees it.
        try:
            shared.apply(update)
        except ValueError:
            log.error("could not apply %s's update to the live %s", origin, doc_id)
        else:
            message = sync_message(YSyncMessageType.SYNC_UPDATE, update)
            shared.hub.call_soon(shared.fanout(message))
            sender = shared.hub.id  # that hub skips the relayed copy
    log.debug("%s changed %s; relaying", origin, doc_id)
    _publish(doc_id, origin=sender, item={"type": "collab.update", "data": update})


def _show_agent(*, doc_id: UUID, state: dict[str, Any]) -> None:
    """Every process holding the document shows the writer's state, then drops it."""
    hold_s = conf.agent_hold_seconds()
    item = {"type": "collab.agent", "client": agent_client_id(), "state": state, "hold_s": hold_s}
    sender = "service:agent"
    shared = hub.attached(doc_id)
    if shared is not None:
        shared.hub.call_soon(shared.agent_awareness_async(item["client"], state, hold_s))
        sender = shared.hub.id  # that hub skips the relayed copy
    _publish(doc_id, origin=sender, item=item)


def _close_everywhere(*, doc_ids: list[UUID], reason: str) -> None:
    item = {"type": "collab.close", "code": closecodes.NOT_FOUND, "reason": reason}
    for doc_id in doc_ids:
        _publish(doc_id, origin="service", item=item)


def _publish(doc_id: UUID, *, origin: str, item: dict) -> None:
    # Called after commit: the write is stored, so a failed relay costs freshness
    # elsewhere, not data (a client that reconnects or opens the doc reads the store).
    try:
        relay.publish_sync(doc_id, origin=origin, items=[item])
    except Exception:
        log.warning("could not relay a change of %s to other processes", doc_id, exc_info=True)

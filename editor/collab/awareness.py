"""Whose awareness states a connection may send, and what they may say about their author.

Awareness (cursors, names, colours, the quick-edit decisions of editors/assist) is relayed
to every page that has the document open, and y-codemirror.next writes a state's
`user.color` into a style attribute there. So the server does not relay what a client
says about who it is:

- the `user` part of every state is replaced with the authenticated person's profile
  (display name, a colour checked to be `#rrggbb`);
- the first client ids a connection announces are bound to it; a state or removal for an
  id bound to another connection is dropped. A reconnecting page keeps its client id while
  the server may not have noticed its old socket die yet, so the same person's new
  connection takes the id over; another person's never does. Ids announced through
  another process (the relay carries their owner) count too;
- a state over MAX_STATE_BYTES, or beyond MAX_CLIENTS_PER_CONNECTION ids, is dropped;
- the ids the server speaks for itself (a deep task's presence while its changes are
  applied, editor/collab/agents.py) are nobody else's: a connection that announced one
  loses it, and states or removals for it from clients, here or relayed, are dropped.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Protocol

from editor.collab.protocol import AwarenessEntry, state_json

log = logging.getLogger(__name__)

# A page's state is a cursor, a file path and a few quick-edit decisions; the browser keeps
# the decisions it publishes under this (static/src/room/assist/edits.js).
MAX_STATE_BYTES = 8 * 1024
# y-websocket sends one client id per Y.Doc, and a document socket carries one Y.Doc.
MAX_CLIENTS_PER_CONNECTION = 4
# An awareness frame that cannot be within the two limits above is dropped unread.
MAX_FRAME_BYTES = MAX_CLIENTS_PER_CONNECTION * (MAX_STATE_BYTES + 32) + 8
# State texts a connection keeps the relayed JSON of (a page has one or two current ones).
_TEXTS_KEPT = 8

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
FALLBACK_COLOR = "#64748b"
_UNKNOWN = object()


class Speaker(Protocol):
    """A connection as the owner registry sees it (the DocConsumer)."""

    user_id: int
    awareness_user: dict[str, Any]
    awareness_ids: set[int]
    # The JSON this server relayed for each state text the connection sent (see admit).
    awareness_texts: dict[bytes, bytes]


def awareness_user(*, user_id: int, username: str, name: str, color: str) -> dict[str, Any]:
    """The `user` field of an awareness state, as y-codemirror.next and the room page read it."""
    color = color.lower() if _COLOR.fullmatch(color or "") else FALLBACK_COLOR
    return {
        "id": user_id,
        "username": username,
        "name": name,
        "color": color,
        "colorLight": f"{color}33",
    }


class Owners:
    """Which connection here, or which user elsewhere, speaks for each client id of a doc."""

    def __init__(self) -> None:
        self.local: dict[int, Speaker] = {}
        self.remote: dict[int, int | None] = {}  # client id -> user id, from the relay
        self.server: set[int] = set()  # ids of the server's own states (agents.py)

    def server_claim(self, client: int) -> None:
        """`client` is the server's from now on, whoever announced it before."""
        holder = self.local.pop(client, None)
        if holder is not None:
            holder.awareness_ids.discard(client)
        self.remote.pop(client, None)
        self.server.add(client)

    def echo(self, client: int, clock: int, origin: Speaker, known_clock: int | None) -> bool:
        """Whether an entry is a state the server relayed coming back, not news.

        y-websocket's provider re-sends every awareness change it applies, the ones it got
        from the server included: each state relayed to a document's N clients returns
        from N - 1 of them (at every 15 s renewal, N x (N - 1) frames). An entry for an id
        held by another connection, another process or the server, with a clock no newer
        than the one the server has, changes nothing (y-protocols' applyAwarenessUpdate
        ignores it too), so it is dropped before its JSON is read. A reconnecting page
        takes its id over with its next, newer clock.
        """
        if known_clock is None or clock > known_clock:
            return False
        holder = self.local.get(client)
        if holder is not None:
            return holder is not origin
        return client in self.remote or client in self.server

    def admit(
        self, entries: list[AwarenessEntry], origin: Speaker
    ) -> list[tuple[int, int, bytes | None]]:
        """The entries `origin` may send, as the JSON text the server relays (their `user`
        set by the server).

        y-protocols renews a client's state every 15 s with the same text and a higher
        clock: the connection keeps the JSON it was turned into, so a heartbeat is relayed
        without building and encoding the state again.
        """
        kept: list[tuple[int, int, bytes | None]] = []
        for entry in entries:
            if not self._may_speak(entry, origin):
                continue
            client = entry.client
            if entry.state is None:
                self.local.pop(client, None)
                origin.awareness_ids.discard(client)
                kept.append((client, entry.clock, None))
                continue
            previous = self.local.get(client)
            if previous is not None and previous is not origin:
                previous.awareness_ids.discard(client)  # the same person's new connection
            self.local[client] = origin
            self.remote.pop(client, None)
            origin.awareness_ids.add(client)
            text = origin.awareness_texts.get(entry.raw)
            if text is None:
                text = state_json({**entry.state, "user": origin.awareness_user})
                if len(origin.awareness_texts) >= _TEXTS_KEPT:
                    origin.awareness_texts.clear()
                origin.awareness_texts[entry.raw] = text
            kept.append((client, entry.clock, text))
        return kept

    def _may_speak(self, entry: AwarenessEntry, origin: Speaker) -> bool:
        client = entry.client
        if client in self.server:
            return False
        if entry.too_big:
            log.info("dropped an awareness state of %d bytes", len(entry.raw))
            return False
        owner = self.local.get(client)
        if owner is origin:
            return True
        if entry.state is None:
            return False  # only a connection that speaks for an id may remove it
        if owner is not None and owner.user_id != origin.user_id:
            return False
        remote_user = self.remote.get(client, _UNKNOWN)
        if remote_user is not _UNKNOWN and remote_user != origin.user_id:
            return False
        return len(origin.awareness_ids) < MAX_CLIENTS_PER_CONNECTION

    def release(self, peer: Speaker) -> list[int]:
        """The ids `peer` spoke for (it left): they are nobody's now."""
        ids = list(peer.awareness_ids)
        peer.awareness_ids.clear()
        for client in ids:
            if self.local.get(client) is peer:
                del self.local[client]
        return ids

    def owners_of(self, kept: list[tuple[int, int, bytes | None]]) -> dict[str, int]:
        """Client id -> user id of the states in `kept`, for the relay to other processes."""
        out = {}
        for client, _, state in kept:
            owner = self.local.get(client)
            if state is not None and owner is not None:
                out[str(client)] = owner.user_id
        return out

    def relayed(
        self, entries: list[AwarenessEntry], owners: dict[str, int]
    ) -> list[AwarenessEntry]:
        """Entries another process admitted, minus ids a different person holds here."""
        kept = []
        for entry in entries:
            client = entry.client
            if client in self.server:
                continue  # a client elsewhere announced the server's id first
            user_id = owners.get(str(client))
            local = self.local.get(client)
            if local is not None:
                if local.user_id != user_id:
                    continue  # held here by someone else: this process's binding wins
                if entry.state is not None:
                    # The same person reconnected through another process.
                    local.awareness_ids.discard(client)
                    del self.local[client]
            if entry.state is None:
                self.remote.pop(client, None)
            else:
                self.remote[client] = user_id
            kept.append(entry)
        return kept

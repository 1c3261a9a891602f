"""A writer's named presence in a document: the server's own awareness state for it.

When a deep task's changes are applied (editor/agents/changesets.py), people with the file
open should see where it writes, as they see each other's cursors. `doc_text_replace` takes
a `presence` ({"task", "name", "started_by"}); after the write commits, every process
holding the document sets an awareness state for it under a client id of its own, with a
cursor over the changed range, and removes it (a null state) a few seconds later
(`conf.agent_hold_seconds`).

These ids belong to the server: `Owners.server_claim` takes one from any connection that
announced it, and no client may speak for it afterwards (docs/SECURITY.md, awareness).

The cursor is a pair of Yjs relative positions (JSON, as y-codemirror.next reads
`state.cursor`). Yjs counts an item's clock in UTF-16 units; pycrdt's sticky indexes count
UTF-8 bytes, so positions are computed here from what the writer inserted (its own client
id, clocks from 0), and through pycrdt only where the text before is ASCII (where the two
agree).
"""

from __future__ import annotations

import secrets
from typing import Any

from pycrdt import Assoc, Doc, Text

from editor.collab.documents import TEXT_NAME
from editor.collab.edits import Edit

# One colour for every agent: its cursor is told apart from people's at a glance.
AGENT_COLOR = "#7c3aed"


def agent_client_id() -> int:
    """A fresh awareness client id (uint32, as Yjs makes them; unguessable by clients)."""
    return 1 + secrets.randbelow(2**32 - 1)


def agent_state(presence: dict[str, Any], cursor: dict[str, Any] | None) -> dict[str, Any]:
    """The awareness state other pages see: a `user` like a person's, marked as an agent."""
    state: dict[str, Any] = {
        "user": {
            "id": None,
            "name": str(presence["name"])[:120],
            "color": AGENT_COLOR,
            "colorLight": f"{AGENT_COLOR}33",
            "agent": {
                "task": int(presence["task"]),
                "started_by": str(presence.get("started_by") or "")[:150],
            },
        },
    }
    if cursor is not None:
        state["cursor"] = cursor
    return state


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def changed_range_cursor(doc: Doc, edits: list[Edit], new_text: str) -> dict[str, Any] | None:
    """{anchor, head} relative positions around what `edits` changed, in the writer's `doc`
    (just after `apply_text_edits`), or None when they cannot be told exactly."""
    if not edits:
        return None
    # apply_text_edits inserts back to front: the last edit's text got the first clocks.
    clocks: dict[int, int] = {}
    clock = 0
    for index in range(len(edits) - 1, -1, -1):
        clocks[index] = clock
        clock += _utf16(edits[index].insert)
    shift = sum(len(e.insert) - (e.end - e.start) for e in edits[:-1])
    first, last = edits[0], edits[-1]
    start, end = first.start, last.start + shift + len(last.insert)
    client = doc.client_id
    if first.insert:
        anchor = {"item": {"client": client, "clock": clocks[0]}, "assoc": 0}
    else:
        anchor = _existing_position(doc, new_text, start)
    if last.insert:
        last_clock = clocks[len(edits) - 1] + _utf16(last.insert) - 1
        head = {"item": {"client": client, "clock": last_clock}, "assoc": -1}
    else:
        head = _existing_position(doc, new_text, end)
    if anchor is None or head is None:
        return None
    return {"anchor": anchor, "head": head}


def _existing_position(doc: Doc, text: str, index: int) -> dict[str, Any] | None:
    if index >= len(text):
        return {"tname": TEXT_NAME, "assoc": 0}  # Yjs: the end of the root text
    if not text[:index].isascii():
        return None
    sticky = doc.get(TEXT_NAME, type=Text).sticky_index(index, Assoc.AFTER).to_json()
    item = sticky.get("item") if isinstance(sticky, dict) else None
    if not isinstance(item, dict):
        return None
    return {"item": {"client": item["client"], "clock": item["clock"]}, "assoc": 0}

"""The agent as a room member: applying a task's changes shows "task #N, started by Bob"
in the documents it writes (a server-made awareness state over the changed range, removed
a few seconds later) and in the room's presence (agent.presence events).

Real document and room sockets on the ASGI app, a pycrdt y-websocket client (as stock
clients see it), the task run in-process against the simulator.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from asgiref.sync import sync_to_async
from pycrdt import StickyIndex

from editor.agents.changesets import changeset_apply
from editor.agents.runner import task_run
from editor.agents.services import task_start
from editor.assist.simulator import rules_from
from editor.collab.agents import AGENT_COLOR
from editor.projects.services import file_create
from tests.collab.yclient import token_doc_client
from tests.support.sockets import room_socket

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "".join(f"line {n}\n" for n in range(1, 11))
PATCH = (
    "*** Begin Patch\n*** Update File: src/lines.txt\n line 5\n-line 6\n+line six\n*** End Patch"
)


@pytest.fixture(autouse=True)
def _nobody_consumes(settings):
    settings.FLINT_AGENTS_QUEUE = f"agents-unread-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
async def _close_collab_hub():
    """Each async test has its own loop, so its own hub: stop it before the loop ends."""
    yield
    from editor.collab import hub

    current = hub._hubs.get(asyncio.get_running_loop())
    if current is not None:
        await current.close()


def _finished_task(cast, simulator):
    lines = file_create(room=cast.room, actor=cast.alice, path="src/lines.txt", text=BASE)
    simulator.simulator.rules = rules_from(
        [
            {"marker": "spell-six", "turn": 0,
             "tool_calls": [{"name": "apply_patch", "arguments": {"patch": PATCH}}]},
            {"marker": "spell-six", "turn": 1, "reply": "Done."},
        ]
    )  # fmt: skip
    (task,) = task_start(room=cast.room, actor=cast.bob, prompt="spell-six")
    assert task_run(task_id=task.pk) == "succeeded"
    task.refresh_from_db()
    return lines, task


def _agents(client) -> dict[int, dict]:
    return {
        cid: state
        for cid, state in client.awareness.states.items()
        if state and (state.get("user") or {}).get("agent")
    }


async def _room_event(socket, event: str, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = await socket.receive_json_from(timeout=max(0.05, deadline - time.monotonic()))
        if message.get("type") == event:
            return message


HOLD_S = 3.0


async def test_a_doc_client_sees_the_tasks_named_cursor_on_the_change_then_its_removal(
    cast, tiers, simulator, settings
):
    settings.FLINT_COLLAB_AGENT_HOLD_SECONDS = HOLD_S
    lines, task = await sync_to_async(_finished_task)(cast, simulator)
    ws, carol = await token_doc_client(cast.carol, lines.doc_id)  # a viewer watching
    room = await room_socket(cast.alice, cast.room)
    await _room_event(room, "hello")  # sent once the socket is in the room's group
    try:
        await sync_to_async(changeset_apply)(task=task, actor=cast.alice)
        await carol.pump_until(lambda: "line six" in str(carol.text) and _agents(carol))
        applied_at = time.monotonic()
        ((client_id, state),) = _agents(carol).items()
        user = state["user"]
        assert user["name"] == f"task #{task.pk}, started by Bob"  # the profile name
        assert user["agent"] == {"task": task.pk, "started_by": "bob"}
        assert user["color"] == AGENT_COLOR and user["id"] is None
        # The cursor spans the changed text: "six" on line 6 (the rest of the line stayed).
        text = str(carol.text)
        anchor = StickyIndex.from_json(state["cursor"]["anchor"], carol.text).get_index()
        head = StickyIndex.from_json(state["cursor"]["head"], carol.text).get_index()
        assert text[anchor:head] == "six"
        assert text[:anchor].endswith("line ")
        # Its id is the server's own: not carol's, not any connection's.
        assert client_id != carol.doc.client_id

        # The room's presence list hears the task arrive and go.
        arrived = await _room_event(room, "agent.presence")
        assert arrived["name"] == user["name"] and arrived["active"] is True
        assert arrived["paths"] == ["src/lines.txt"]
        left = await _room_event(room, "agent.presence")
        assert left["active"] is False and left["hold_s"] == HOLD_S

        await carol.pump_until(lambda: client_id not in carol.awareness.states, timeout=HOLD_S + 3)
        assert HOLD_S - 1 <= time.monotonic() - applied_at <= HOLD_S + 3
    finally:
        await ws.disconnect()
        await room.disconnect()

"""A task as a room member while its changes are applied: "task #12, started by alice".

Two signals, both server-made: in each document it writes, the edits carry the task's
awareness state (editor/collab/agents.py: a cursor over the changed range, gone a few
seconds later); and the room's presence list gets `agent.presence` events, `active` while
the apply runs and then not, kept on the page for `hold_s` like the cursor.
"""

from __future__ import annotations

from typing import Any

from editor.accounts.presenters import user_out
from editor.agents.models import Task
from editor.collab import conf as collab_conf
from editor.collab.agents import AGENT_COLOR
from editor.rooms.events import room_event_send


def task_presence(task: Task) -> dict[str, Any]:
    """What the task is called wherever it shows as present."""
    starter = user_out(task.created_by) if task.created_by_id else None
    started_by = starter["display_name"] if starter else "someone who left"
    return {
        "task": task.pk,
        "name": f"task #{task.pk}, started by {started_by}",
        "started_by": starter["username"] if starter else "",
    }


def presence_announce(task: Task, *, paths: list[str], active: bool) -> None:
    """Tell the room the task is (or has stopped) writing `paths`."""
    payload = {**task_presence(task), "color": AGENT_COLOR, "paths": paths, "active": active}
    payload["hold_s"] = collab_conf.agent_hold_seconds()
    room_event_send(task.room_id, "agent.presence", payload)

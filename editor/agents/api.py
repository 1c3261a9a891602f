"""The deep-task and review API, mounted at the API root: /rooms/{room_id}/tasks…, …/reviews….

Thin: parse, find the room (outsiders get the same 403 as everywhere, room_for), call one
service or selector, answer. docs/AGENTS.md describes the shapes for the UI.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status

from editor.agents.changesets import (
    changeset_apply,
    changeset_reject,
    changeset_undo,
    checkpoint_undo,
)
from editor.agents.followups import task_follow_up
from editor.agents.plans import plan_decide
from editor.agents.present import (
    CheckpointOut,
    CommentOut,
    ReviewDetailOut,
    ReviewOut,
    TaskDetailOut,
    TaskOut,
    comment_out,
    run_out,
    task_brief,
)
from editor.agents.review import review_comment_resolve, review_start
from editor.agents.room_settings import agent_settings_get, agent_settings_set
from editor.agents.selectors import (
    checkpoint_list,
    comment_get,
    comments_list,
    review_get,
    task_detail,
    task_get,
    task_list,
)
from editor.agents.services import (
    task_cancel,
    task_retry,
    task_start,
    tasks_sweep,
    variant_pick,
)
from editor.agents.steering import task_message_send
from editor.core.api import errors
from editor.rooms.selectors import room_for

router = Router(tags=["tasks"])


class TaskIn(Schema):
    prompt: str
    scope: list[str] | None = None
    attempts: int = 1
    plan_first: bool = False


class MessageIn(Schema):
    text: str


class MessageOut(Schema):
    id: int
    task: int
    author: str
    text: str
    created_at: str


class PlanDecisionIn(Schema):
    decision: Literal["approve", "reject"]
    plan: Any = None  # an edited plan {"steps": [...], "files": [...]}; approve only
    message: str = ""


class FollowUpIn(Schema):
    prompt: str


class AgentSettingsIn(Schema):
    rules: str | None = None
    setup_script: str | None = None
    setup_hosts: list[str] | None = None
    command_hosts: list[str] | None = None


class AgentSettingsOut(Schema):
    rules: str
    setup_script: str
    setup_hosts: list[str]
    command_hosts: list[str]
    updated_by: str | None
    updated_at: str | None


class StartedOut(Schema):
    group: str
    tasks: list[TaskOut]


class ApplyIn(Schema):
    paths: list[str] | None = None
    hunks: dict[str, list[int]] | None = None


class UndoIn(Schema):
    paths: list[str] | None = None


class FileResultOut(Schema):
    path: str
    status: str
    conflicts: list[dict[str, Any]]
    error: str | None = None


class ApplyOut(Schema):
    task: int
    files: list[FileResultOut]


class ReviewIn(Schema):
    target: Literal["file", "task"]
    path: str | None = None
    task_id: int | None = None


class ResolveIn(Schema):
    resolved: bool = True


@router.post("/rooms/{room_id}/tasks", response={201: StartedOut, **errors(403, 404, 409)})
def tasks_start(request: HttpRequest, room_id: int, payload: TaskIn):
    """Start a deep task on a snapshot of the project; `attempts` 1-4 runs variants."""
    room = room_for(request.auth, room_id)
    tasks = task_start(
        room=room,
        actor=request.auth,
        prompt=payload.prompt,
        scope=payload.scope,
        attempts=payload.attempts,
        plan_first=payload.plan_first,
    )
    return Status(201, {"group": str(tasks[0].group), "tasks": [task_brief(t) for t in tasks]})


@router.get("/rooms/{room_id}/tasks", response={200: list[TaskOut], **errors(403, 404)})
def tasks_list(request: HttpRequest, room_id: int):
    """The room's tasks, newest first (tasks whose worker is gone are marked failed)."""
    room = room_for(request.auth, room_id)
    # Beat sweeps every 30 s; a list shown sooner must not call a dead worker's task running.
    tasks_sweep(room=room)
    return task_list(room=room, actor=request.auth)


@router.get(
    "/rooms/{room_id}/tasks/{int:task_id}", response={200: TaskDetailOut, **errors(403, 404)}
)
def tasks_detail(request: HttpRequest, room_id: int, task_id: int):
    """A task with its whole log and its changeset: a unified diff and hunks per file."""
    room = room_for(request.auth, room_id)
    tasks_sweep(room=room)  # as tasks_list
    return task_detail(room=room, actor=request.auth, task_id=task_id)


def _task(request: HttpRequest, room_id: int, task_id: int):
    return task_get(room=room_for(request.auth, room_id), actor=request.auth, task_id=task_id)


@router.post(
    "/rooms/{room_id}/tasks/{int:task_id}/cancel", response={200: TaskOut, **errors(403, 404)}
)
def tasks_cancel(request: HttpRequest, room_id: int, task_id: int):
    """Stop a task; a running one says "cancelled" within 2 s (listen for task.status)."""
    return task_brief(task_cancel(task=_task(request, room_id, task_id), actor=request.auth))


@router.post(
    "/rooms/{room_id}/tasks/{int:task_id}/retry", response={201: TaskOut, **errors(403, 404, 409)}
)
def tasks_retry(request: HttpRequest, room_id: int, task_id: int):
    """Run a failed or cancelled task again as a new task (new snapshot)."""
    created = task_retry(task=_task(request, room_id, task_id), actor=request.auth)
    return Status(201, task_brief(created))


@router.post(
    "/rooms/{room_id}/tasks/{int:task_id}/messages",
    response={201: MessageOut, **errors(400, 403, 404, 409)},
)
def tasks_message(request: HttpRequest, room_id: int, task_id: int, payload: MessageIn):
    """Steer a task: the message is shown in its log and given to the model before its next
    turn. A finished task refuses it (409 `task_finished`): start a follow-up instead."""
    sent = task_message_send(
        task=_task(request, room_id, task_id), actor=request.auth, text=payload.text
    )
    return Status(201, {"id": sent.pk, "task": sent.task_id, "author": sent.author_name,
                        "text": sent.text, "created_at": sent.created_at.isoformat()})  # fmt: skip


@router.post(
    "/rooms/{room_id}/tasks/{int:task_id}/plan",
    response={200: TaskOut, **errors(400, 403, 404, 409)},
)
def tasks_plan(request: HttpRequest, room_id: int, task_id: int, payload: PlanDecisionIn):
    """Decide on a waiting plan: approve (optionally with an edited `plan`) or reject."""
    task = plan_decide(
        task=_task(request, room_id, task_id), actor=request.auth, decision=payload.decision,
        plan=payload.plan, message=payload.message,
    )  # fmt: skip
    return task_brief(task)


@router.post(
    "/rooms/{room_id}/tasks/{int:task_id}/follow-up",
    response={201: TaskOut, **errors(400, 403, 404, 409)},
)
def tasks_follow_up(request: HttpRequest, room_id: int, task_id: int, payload: FollowUpIn):
    """Continue a finished task with a new instruction, from its conversation and result."""
    created = task_follow_up(
        task=_task(request, room_id, task_id), actor=request.auth, prompt=payload.prompt
    )
    return Status(201, task_brief(created))


@router.get("/rooms/{room_id}/agent-settings", response={200: AgentSettingsOut, **errors(403, 404)})
def agent_settings(request: HttpRequest, room_id: int):
    """The room's rules, set-up script and allowed hosts for deep tasks."""
    return agent_settings_get(room=room_for(request.auth, room_id), actor=request.auth)


@router.put(
    "/rooms/{room_id}/agent-settings", response={200: AgentSettingsOut, **errors(400, 403, 404)}
)
def agent_settings_put(request: HttpRequest, room_id: int, payload: AgentSettingsIn):
    """Change them (room owners): fields left out stay as they are."""
    room = room_for(request.auth, room_id)
    return agent_settings_set(room=room, actor=request.auth, **payload.dict())


@router.post(
    "/rooms/{room_id}/tasks/{int:task_id}/apply",
    response={200: ApplyOut, **errors(403, 404, 409)},
)
def tasks_apply(request: HttpRequest, room_id: int, task_id: int, payload: ApplyIn):
    """Apply the changeset into the live files: all, `paths`, or `hunks` {path: [index]}."""
    task = _task(request, room_id, task_id)
    files = changeset_apply(task=task, actor=request.auth, paths=payload.paths, hunks=payload.hunks)
    return {"task": task.pk, "files": files}


@router.post(
    "/rooms/{room_id}/tasks/{int:task_id}/undo", response={200: ApplyOut, **errors(403, 404, 409)}
)
def tasks_undo(request: HttpRequest, room_id: int, task_id: int, payload: UndoIn):
    """Undo applied files (all or `paths`), refused (409) if one changed since."""
    task = _task(request, room_id, task_id)
    files = changeset_undo(task=task, actor=request.auth, paths=payload.paths)
    return {"task": task.pk, "files": files}


@router.get("/rooms/{room_id}/checkpoints", response={200: list[CheckpointOut], **errors(403, 404)})
def checkpoints(request: HttpRequest, room_id: int):
    """The room's timeline of applied change sets, newest first (everyone in the room)."""
    return checkpoint_list(room=room_for(request.auth, room_id), actor=request.auth)


class CheckpointUndoOut(ApplyOut):
    checkpoint: int


@router.post(
    "/rooms/{room_id}/checkpoints/{int:checkpoint_id}/undo",
    response={200: CheckpointUndoOut, **errors(403, 404, 409)},
)
def checkpoints_undo(request: HttpRequest, room_id: int, checkpoint_id: int):
    """Undo one applied change set as a unit (editors); 409 `changed_since` if a file
    changed since, 409 `undone` if it was undone already."""
    room = room_for(request.auth, room_id)
    return checkpoint_undo(room=room, actor=request.auth, checkpoint_id=checkpoint_id)


@router.post(
    "/rooms/{room_id}/tasks/{int:task_id}/reject", response={200: ApplyOut, **errors(403, 404)}
)
def tasks_reject(request: HttpRequest, room_id: int, task_id: int, payload: UndoIn):
    """Turn down pending or conflicted files (all or `paths`); nothing is written."""
    task = _task(request, room_id, task_id)
    files = changeset_reject(task=task, actor=request.auth, paths=payload.paths)
    return {"task": task.pk, "files": files}


@router.post(
    "/rooms/{room_id}/tasks/{int:task_id}/pick", response={200: ApplyOut, **errors(403, 404, 409)}
)
def tasks_pick(request: HttpRequest, room_id: int, task_id: int):
    """Pick this variant of its group (others' changes rejected) and apply its changeset."""
    task = variant_pick(task=_task(request, room_id, task_id), actor=request.auth)
    return {"task": task.pk, "files": changeset_apply(task=task, actor=request.auth)}


@router.post("/rooms/{room_id}/reviews", response={201: ReviewOut, **errors(403, 404, 409)})
def reviews_start(request: HttpRequest, room_id: int, payload: ReviewIn):
    """Review a file (`path`) or a finished task's changeset (`task_id`) with the review tier."""
    room = room_for(request.auth, room_id)
    task = None
    if payload.target == "task" and payload.task_id is not None:
        task = task_get(room=room, actor=request.auth, task_id=payload.task_id)
    run = review_start(
        room=room, actor=request.auth, target=payload.target, path=payload.path, task=task
    )
    return Status(201, run_out(run))


@router.get(
    "/rooms/{room_id}/reviews/{int:run_id}", response={200: ReviewDetailOut, **errors(403, 404)}
)
def reviews_detail(request: HttpRequest, room_id: int, run_id: int):
    """A review run with its comments."""
    return review_get(room=room_for(request.auth, room_id), actor=request.auth, run_id=run_id)


@router.get("/rooms/{room_id}/comments", response={200: list[CommentOut], **errors(403, 404)})
def comments(
    request: HttpRequest,
    room_id: int,
    path: str | None = None,
    task_id: int | None = None,
    resolved: bool | None = None,
):
    """Review comments of the room, by `path`, `task_id` and/or `resolved`."""
    room = room_for(request.auth, room_id)
    return comments_list(
        room=room, actor=request.auth, path=path, task_id=task_id, resolved=resolved
    )


@router.post(
    "/rooms/{room_id}/comments/{int:comment_id}/resolve",
    response={200: CommentOut, **errors(403, 404)},
)
def comments_resolve(request: HttpRequest, room_id: int, comment_id: int, payload: ResolveIn):
    """Resolve a comment (or reopen it with `resolved: false`)."""
    room = room_for(request.auth, room_id)
    comment = comment_get(room=room, actor=request.auth, comment_id=comment_id)
    return comment_out(
        review_comment_resolve(comment=comment, actor=request.auth, resolved=payload.resolved)
    )

"""Tasks, steps, changes and comments as JSON: the one shape for the API and the room socket."""

from __future__ import annotations

from typing import Any

from editor.agents.diffs import file_diff
from editor.agents.models import ChangeFile, ReviewComment, ReviewRun, Task, TaskStep


def _at(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def task_brief(task: Task) -> dict[str, Any]:
    return {
        "id": task.pk,
        "room": task.room_id,
        "created_by": task.created_by.get_username() if task.created_by_id else None,
        "prompt": task.prompt,
        "scope": task.scope,
        "status": task.status,
        "group": str(task.group),
        "variant": task.variant,
        "variants": task.variants,
        "picked": task.picked,
        "retry_of": task.retry_of_id,
        "model": task.model,
        "steps_used": task.steps_used,
        "tokens_used": task.tokens_used,
        "seconds_used": round(task.seconds_used, 2),
        "summary": task.summary,
        "error_kind": task.error_kind,
        "error_message": task.error_message,
        "commands_enabled": task.commands_enabled,
        "cancel_requested": task.cancel_requested_at is not None,
        "worker": task.worker,
        "heartbeat_at": _at(task.heartbeat_at),
        "created_at": _at(task.created_at),
        "started_at": _at(task.started_at),
        "finished_at": _at(task.finished_at),
    }


def step_out(step: TaskStep) -> dict[str, Any]:
    return {
        "seq": step.seq,
        "kind": step.kind,
        "tool": step.tool,
        "text": step.text,
        "tokens": step.tokens,
        "at": _at(step.created_at),
    }


def change_out(change: ChangeFile, *, with_diff: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "path": change.path,
        "file_id": change.file_id,
        "doc_id": str(change.doc_id) if change.doc_id else None,
        "change": "add"
        if change.base_text is None
        else "delete"
        if change.proposed_text is None
        else "modify",
        "status": change.status,
        "conflicts": change.conflicts,
        "applied_hunks": change.applied_hunks,
        "applied_at": _at(change.applied_at),
        "applied_by": change.applied_by.get_username() if change.applied_by_id else None,
    }
    if with_diff:
        diff = file_diff(change.path, change.base_text, change.proposed_text)
        out.update(diff=diff.text, hunks=diff.hunks_out(), added=diff.added, removed=diff.removed)
    return out


def run_out(run: ReviewRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "room": run.room_id,
        "target": run.target,
        "path": run.path,
        "task": run.task_id,
        "status": run.status,
        "model": run.model,
        "error_kind": run.error_kind,
        "error_message": run.error_message,
        "created_at": _at(run.created_at),
        "finished_at": _at(run.finished_at),
    }


def comment_out(comment: ReviewComment) -> dict[str, Any]:
    return {
        "id": comment.pk,
        "run": comment.run_id,
        "task": comment.task_id,
        "path": comment.path,
        "doc_id": str(comment.doc_id) if comment.doc_id else None,
        "line": comment.line,
        "line_text": comment.line_text,
        "severity": comment.severity,
        "body": comment.body,
        "resolved": comment.resolved,
        "resolved_by": comment.resolved_by.get_username() if comment.resolved_by_id else None,
        "resolved_at": _at(comment.resolved_at),
        "created_at": _at(comment.created_at),
    }

"""The review tier: a Celery run that asks the review model for line-anchored comments.

The model is asked for a JSON list of {path, line, severity, body}; each item is
checked (a file that was reviewed, a line that exists, a known severity, a body) and the
bad ones are dropped and counted, never guessed at. Comments anchor to the text that was
reviewed: the live file for a file review, the proposed text for a task's changeset.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from editor.agents import rules
from editor.agents.models import (
    FINISHED,
    ChangeFile,
    ReviewComment,
    ReviewRun,
    ReviewTarget,
    Severity,
    Task,
    TaskStatus,
)
from editor.agents.present import comment_out, run_out
from editor.assist import metered
from editor.assist.errors import ModelError
from editor.assist.gateway import ModelRequest, tier_get
from editor.core.errors import Conflict, Invalid, NotFound
from editor.projects.models import ProjectFile
from editor.projects.paths import path_key, path_normalize
from editor.projects.selectors import file_text_current
from editor.rooms.events import room_event_send
from editor.rooms.models import Room
from editor.rooms.permissions import Action, require
from editor.usage.quotas import QuotaExceeded

log = logging.getLogger(__name__)
BODY_MAX = 2000
COMMENTS_MAX = 200
REVIEW_MAX_TOKENS = 4096
REVIEW_PROMPT = """You are a careful code reviewer. Review the files below (line numbers
are shown before each line). Answer ONLY with a JSON array, no prose, of objects
{"path": file path, "line": line number, "severity": "info" | "warning" | "error",
"body": the comment}. Answer [] when there is nothing worth saying."""


@transaction.atomic
def review_start(
    *,
    room: Room,
    actor: AbstractBaseUser,
    target: str,
    path: str | None = None,
    task: Task | None = None,
) -> ReviewRun:
    """Queue a review of one file (its live text) or of a finished task's changeset."""
    require(actor, Action.ROOM_EDIT, room)
    if target == ReviewTarget.FILE:
        if not path:
            raise Invalid("Say which file to review (`path`).")
        clean = path_normalize(path, portable=False)  # it names a file that exists
        file = ProjectFile.objects.filter(room=room, path_key=path_key(clean)).first()
        if file is None:
            raise NotFound(f"{clean}: no such file in this project.")
        text = file_text_current(file)
        if text is None:
            raise Invalid(f"{file.path} is not an editable text file; it cannot be reviewed.")
        run = ReviewRun.objects.create(
            room=room, created_by=actor, target=target, path=file.path, file_id=file.pk,
            sources={file.path: {"text": text, "doc_id": str(file.doc_id)}},
        )  # fmt: skip
    elif target == ReviewTarget.TASK:
        if task is None or task.room_id != room.pk:
            raise NotFound("No such task in this room.")
        if task.status not in FINISHED:
            raise Conflict("Wait for the task to finish before reviewing its changes.")
        changes = ChangeFile.objects.filter(task=task, proposed_text__isnull=False)
        sources = {c.path: {"text": c.proposed_text, "doc_id": None} for c in changes}
        if not sources:
            raise Invalid("This task changed no file, so there is nothing to review.")
        run = ReviewRun.objects.create(
            room=room, created_by=actor, target=target, task=task, sources=sources
        )
    else:
        raise Invalid("`target` is 'file' or 'task'.")
    room_event_send(room.pk, "review.status", {"run": run_out(run)})
    transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id: int) -> None:
    from editor.agents.tasks import run_review

    run_review.apply_async(args=[run_id], queue=settings.FLINT_AGENTS_QUEUE)


def _numbered(text: str) -> str:
    return "".join(f"{n:>5} {line}" for n, line in enumerate(text.splitlines(True), start=1))


def parse_comments(
    answer: str, sources: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], int]:
    """(valid comments, how many items were dropped) from the model's answer."""
    fenced = re.search(r"```(?:json)?\s*(.*?)```", answer, re.S)
    body = fenced.group(1) if fenced else answer
    start, end = body.find("["), body.rfind("]")
    if start < 0 or end < start:
        raise ValueError("no JSON array in the answer")
    items = json.loads(body[start : end + 1])
    if not isinstance(items, list):
        raise ValueError("the answer is not a JSON array")
    keys = {path_key(p): p for p in sources}
    valid, dropped = [], 0
    for item in items[:COMMENTS_MAX]:
        if not isinstance(item, dict):
            dropped += 1
            continue
        path = keys.get(path_key(str(item.get("path", ""))))
        line = item.get("line")
        severity = item.get("severity")
        text_body = item.get("body")
        lines = sources[path]["text"].splitlines() if path else []
        if (
            path is None
            or isinstance(line, bool)
            or not isinstance(line, int)
            or not 1 <= line <= max(1, len(lines))
            or severity not in Severity.values
            or not isinstance(text_body, str)
            or not text_body.strip()
        ):
            dropped += 1
            continue
        line_text = lines[line - 1] if lines else ""
        body_text = text_body.strip()[:BODY_MAX]
        valid.append(
            {
                "path": path,
                "line": line,
                "severity": severity,
                "body": body_text,
                "line_text": line_text[:500],
            }
        )
    return valid, dropped + max(0, len(items) - COMMENTS_MAX)


def _finish(run: ReviewRun, **fields: Any) -> None:
    ReviewRun.objects.filter(pk=run.pk).update(finished_at=timezone.now(), **fields)
    run.refresh_from_db()
    room_event_send(run.room_id, "review.status", {"run": run_out(run)})


def review_run(*, run_id: int) -> str | None:
    """Claim and run one review (on a worker)."""
    claimed = ReviewRun.objects.filter(pk=run_id, status=TaskStatus.QUEUED).update(
        status=TaskStatus.RUNNING
    )
    if not claimed:
        return None
    run = ReviewRun.objects.select_related("room").get(pk=run_id)
    tier = tier_get("review")
    files = "\n\n".join(f"=== {p}\n{_numbered(s['text'])}" for p, s in run.sources.items())
    # The team's rules (AGENTS.md nearest the reviewed files, the room's) are part of it.
    rules_text, _used = rules.room_instructions(run.room, run.sources)
    system = REVIEW_PROMPT + (f"\n\n{rules_text}" if rules_text else "")
    messages = [
        {"role": "system", "content": system},
        {"role": "user", "content": f"Review these files:\n\n{files}"},
    ]
    # Like every model call: the owner's rate limits and the team's monthly budget. The
    # row carries the task whose changes were reviewed; its budget is the deep loop's.
    meter = metered.Meter(
        feature="review", user_id=run.created_by_id, team_id=run.room.team_id,
        room_id=run.room_id, task_id=run.task_id, task_budget=False,
    )  # fmt: skip
    request = ModelRequest(messages=messages, max_tokens=REVIEW_MAX_TOKENS)
    try:
        result = metered.complete_sync(meter=meter, tier=tier, request=request).result
    except QuotaExceeded as refused:  # recorded as a "refused" usage row by the quotas
        _finish(run, status=TaskStatus.FAILED, error_kind=refused.reason,
                error_message=refused.message[:500])  # fmt: skip
        return TaskStatus.FAILED
    except ModelError as error:
        _finish(run, status=TaskStatus.FAILED, error_kind=error.kind,
                error_message=error.message[:500])  # fmt: skip
        return TaskStatus.FAILED
    try:
        comments, dropped = parse_comments(result.text, run.sources)
    except ValueError as exc:
        message = f"The review model's answer was not the JSON list asked for ({exc})."
        _finish(run, status=TaskStatus.FAILED, error_kind="bad_answer", error_message=message,
                model=result.model[:200])  # fmt: skip
        return TaskStatus.FAILED
    rows = ReviewComment.objects.bulk_create(
        [
            ReviewComment(
                run=run,
                room_id=run.room_id,
                task_id=run.task_id,
                path=c["path"],
                doc_id=run.sources[c["path"]].get("doc_id"),
                line=c["line"],
                line_text=c["line_text"],
                severity=c["severity"],
                body=c["body"],
            )
            for c in comments
        ]
    )
    note = f"{dropped} malformed comments were dropped." if dropped else ""
    saved = list(ReviewComment.objects.filter(run=run))
    room_event_send(run.room_id, "review.comments", {"run": run.pk, "task": run.task_id,
             "comments": [comment_out(c) for c in saved]})  # fmt: skip
    _finish(run, status=TaskStatus.SUCCEEDED, model=result.model[:200], error_message=note)
    return f"{len(rows)} comments"


def review_mark_lost(*, run_id: int) -> bool:
    run = ReviewRun.objects.filter(pk=run_id, status=TaskStatus.RUNNING).first()
    if run is None:
        return False
    message = "The worker running this review stopped (worker lost); start it again."
    _finish(run, status=TaskStatus.FAILED, error_kind="worker_lost", error_message=message)
    return True


@transaction.atomic
def review_comment_resolve(
    *, comment: ReviewComment, actor: AbstractBaseUser, resolved: bool = True
) -> ReviewComment:
    require(actor, Action.ROOM_EDIT, comment.room)
    comment.resolved = resolved
    comment.resolved_by = actor if resolved else None
    comment.resolved_at = timezone.now() if resolved else None
    comment.save(update_fields=["resolved", "resolved_by", "resolved_at"])
    room_event_send(comment.room_id, "review.comment", {"comment": comment_out(comment)})
    return comment

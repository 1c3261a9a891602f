"""Applying a task's changeset into the live shared documents, and undoing it.

Per file, atomically: the live text is merged three-way with the snapshot and the
proposal; a clean merge is written with collab's `doc_text_replace` (stored, then relayed
to everyone editing), a conflict writes nothing and marks the file "conflict" with the
regions for the UI. New files are created and deleted files deleted through the projects
services. The live text before and after is kept so that an apply can be undone while
nobody has touched the file since.

Each apply that puts at least one file in is a `Checkpoint` (the room's timeline,
`checkpoint_undo` takes it back as a unit), and while it writes, the task shows as present
in the room and in each document it writes (editor/agents/presence.py).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from editor.agents.diffs import file_diff, hunk_count, text_with_hunks
from editor.agents.merge import merge_three
from editor.agents.models import ChangeFile, ChangeStatus, Checkpoint, Task, TaskStatus
from editor.agents.presence import presence_announce, task_presence
from editor.agents.present import change_out
from editor.core.errors import Conflict, FlintError, Invalid, NotFound
from editor.projects.models import ProjectFile
from editor.projects.paths import path_key
from editor.projects.selectors import file_text_current
from editor.projects.services import file_create, file_write, path_delete
from editor.rooms.events import room_event_send
from editor.rooms.permissions import Action, require


def _live_file(task: Task, change: ChangeFile) -> ProjectFile | None:
    if change.file_id is not None:
        found = ProjectFile.objects.filter(room_id=task.room_id, pk=change.file_id).first()
        if found is not None:
            return found
    return ProjectFile.objects.filter(room_id=task.room_id, path_key=path_key(change.path)).first()


def _replace(
    task: Task, file: ProjectFile, text: str, actor: AbstractBaseUser, *, named: bool = False
) -> None:
    """Write through the projects service: the same checks, row refresh and room event as
    any other write, into the live document; `named`: with the task's cursor on it."""
    file_write(
        room=task.room,
        actor=actor,
        file_id=file.pk,
        text=text,
        origin=f"task:{task.pk}",
        presence=task_presence(task) if named else None,
    )


def _conflict(change: ChangeFile, regions: list[dict[str, Any]]) -> dict[str, Any]:
    change.status = ChangeStatus.CONFLICT
    change.conflicts = regions
    change.save(update_fields=["status", "conflicts", "updated_at"])
    return {"path": change.path, "status": "conflict", "conflicts": regions}


def _message_conflict(change: ChangeFile, message: str) -> dict[str, Any]:
    return _conflict(change, [{"message": message}])


def _applied(
    change: ChangeFile, checkpoint: Checkpoint, actor, before, after, hunks=None
) -> dict[str, Any]:
    change.status = ChangeStatus.APPLIED
    change.before_text, change.after_text = before, after
    change.applied_by, change.applied_at = actor, timezone.now()
    change.conflicts, change.applied_hunks = [], hunks
    change.checkpoint = checkpoint
    change.save()
    return {"path": change.path, "status": "applied", "conflicts": []}


def _apply_one(
    task: Task,
    change: ChangeFile,
    actor: AbstractBaseUser,
    chosen: set[int] | None,
    checkpoint: Checkpoint,
) -> dict[str, Any]:
    room = task.room
    live_file = _live_file(task, change)
    live = file_text_current(live_file) if live_file is not None else None
    if change.base_text is None:  # the agent added this file
        if live_file is not None:
            if live == change.proposed_text:
                return _applied(change, checkpoint, actor, live, live)
            return _message_conflict(change, f"{change.path} was created meanwhile by someone.")
        created = file_create(room=room, actor=actor, path=change.path, text=change.proposed_text)
        change.file_id, change.doc_id = created.pk, created.doc_id
        return _applied(change, checkpoint, actor, None, change.proposed_text)
    if live_file is None:
        return _message_conflict(
            change, f"{change.path} was deleted or moved since the task began."
        )
    if live is None:
        return _message_conflict(change, f"{change.path} is no longer an editable text file.")
    if change.proposed_text is None:  # the agent deleted this file
        if live != change.base_text:
            return _message_conflict(
                change,
                f"{change.path} was edited since the task began; deleting it would lose "
                "those edits.",
            )
        path_delete(room=room, actor=actor, path=live_file.path)
        return _applied(change, checkpoint, actor, live, None)
    theirs = change.proposed_text
    if chosen is not None:
        theirs = text_with_hunks(change.base_text, change.proposed_text, chosen)
    merged = merge_three(base=change.base_text, ours=live, theirs=theirs)
    if merged.text is None:
        return _conflict(change, merged.conflicts)
    if merged.text != live:
        _replace(task, live_file, merged.text, actor, named=True)
    hunks = sorted(chosen) if chosen is not None else None
    return _applied(change, checkpoint, actor, live, merged.text, hunks)


def changeset_apply(
    *,
    task: Task,
    actor: AbstractBaseUser,
    paths: list[str] | None = None,
    hunks: dict[str, list[int]] | None = None,
) -> list[dict[str, Any]]:
    """Apply all pending files, or the named ones, or chosen hunks of files (by index)."""
    require(actor, Action.ROOM_EDIT, task.room)
    if task.status in (TaskStatus.QUEUED, TaskStatus.RUNNING):
        raise Conflict("The task is still running; stop it or wait before applying.", code="busy")
    changes = {c.path: c for c in ChangeFile.objects.filter(task=task)}
    wanted = list(paths or []) + [p for p in (hunks or {}) if p not in (paths or [])]
    for path in wanted:
        if path not in changes:
            raise Invalid(f"{path}: this task's changeset does not touch that file.")
    chosen_by_path: dict[str, set[int]] = {}
    for path, indexes in (hunks or {}).items():
        change = changes[path]
        count = hunk_count(change.base_text, change.proposed_text)
        if change.base_text is None or change.proposed_text is None:
            raise Invalid(f"{path}: a new or deleted file is applied whole, not by hunk.")
        if not indexes or any(not isinstance(i, int) or not 0 <= i < count for i in indexes):
            raise Invalid(f"{path}: hunks are numbered 0 to {count - 1}.")
        chosen_by_path[path] = set(indexes)
    targets = [changes[p] for p in wanted] if wanted else list(changes.values())
    todo = [c for c in targets if c.status not in (ChangeStatus.APPLIED, ChangeStatus.REJECTED)]
    results = [
        {"path": c.path, "status": c.status, "conflicts": []}
        for c in targets
        if wanted and c not in todo
    ]
    if not todo:
        _announce(task)
        return results
    # The files go in one by one; the checkpoint they join exists first and is dropped
    # again if none of them made it.
    checkpoint = Checkpoint.objects.create(room_id=task.room_id, task=task, applied_by=actor)
    presence_announce(task, paths=[c.path for c in todo], active=True)
    for change in todo:
        chosen = chosen_by_path.get(change.path)
        try:
            with transaction.atomic():  # one file at a time: a failure leaves the others
                results.append(_apply_one(task, change, actor, chosen, checkpoint))
        except FlintError as exc:
            change.refresh_from_db()
            failed = {"path": change.path, "status": change.status, "conflicts": []}
            results.append({**failed, "error": exc.message})
    presence_announce(task, paths=[c.path for c in todo], active=False)
    _checkpoint_close(checkpoint)
    _announce(task)
    return results


def _checkpoint_close(checkpoint: Checkpoint) -> None:
    """Record what the apply did per file, or drop the checkpoint if it did nothing."""
    applied = list(checkpoint.changes.all())
    if not applied:
        checkpoint.delete()
        return
    files = []
    for change in applied:
        diff = file_diff(change.path, change.before_text, change.after_text)
        kind = "add" if change.before_text is None else "modify"
        if change.after_text is None:
            kind = "delete"
        files.append(
            {"path": change.path, "change": kind, "added": diff.added, "removed": diff.removed}
        )
    checkpoint.files = files
    checkpoint.save(update_fields=["files"])


def changeset_undo(
    *, task: Task, actor: AbstractBaseUser, paths: list[str] | None = None
) -> list[dict[str, Any]]:
    """Put applied files back as they were, if nobody changed them since the apply."""
    require(actor, Action.ROOM_EDIT, task.room)
    rows = ChangeFile.objects.filter(task=task, status=ChangeStatus.APPLIED)
    if paths:
        rows = rows.filter(path__in=paths)
        if rows.count() != len(set(paths)):
            raise Invalid("Only applied files of this task can be undone.")
    # Check every file first, so that "undo all" refuses before it undoes any.
    current = []
    changed = []
    for change in rows:
        live_file = _live_file(task, change)
        live = file_text_current(live_file) if live_file is not None else None
        if live != change.after_text:
            changed.append(change.path)
        current.append((change, live_file, live))
    if changed:
        raise Conflict(
            f"{', '.join(changed)} changed since the task's change was applied, so undoing "
            "would lose those edits. Undo it by hand in the editor.",
            code="changed_since",
        )
    results = []
    checkpoints: set[int | None] = set()
    for change, live_file, live in current:
        with transaction.atomic():
            if change.before_text is None and live_file is not None:
                path_delete(room=task.room, actor=actor, path=live_file.path)
            elif live_file is None and change.before_text is not None:
                created = file_create(
                    room=task.room, actor=actor, path=change.path, text=change.before_text
                )
                change.file_id, change.doc_id = created.pk, created.doc_id
            elif live_file is not None and change.before_text != live:
                _replace(task, live_file, change.before_text, actor)
            checkpoints.add(change.checkpoint_id)
            change.status = ChangeStatus.PENDING
            change.before_text = change.after_text = None
            change.applied_by, change.applied_at, change.applied_hunks = None, None, None
            change.checkpoint = None
            change.save()
            results.append({"path": change.path, "status": "pending", "conflicts": []})
    # A checkpoint none of whose files is applied any more is undone (by whoever took the
    # last one back: this undo, or the task's own per-file undo).
    Checkpoint.objects.filter(pk__in=checkpoints - {None}, changes__isnull=True).update(
        undone_by=actor, undone_at=timezone.now()
    )
    _announce(task)
    return results


def checkpoint_undo(*, room, actor: AbstractBaseUser, checkpoint_id: int) -> dict[str, Any]:
    """Undo one apply as a unit (the files it put in that are still applied), refused with
    `changed_since` like the task's undo if any of them changed since."""
    require(actor, Action.ROOM_EDIT, room)
    checkpoint = (
        Checkpoint.objects.filter(room=room, pk=checkpoint_id).select_related("task").first()
    )
    if checkpoint is None:
        raise NotFound("No such checkpoint in this room.")
    paths = [c.path for c in checkpoint.changes.filter(status=ChangeStatus.APPLIED)]
    if not paths:
        raise Conflict("This change set has been undone already.", code="undone")
    files = changeset_undo(task=checkpoint.task, actor=actor, paths=paths)
    return {"checkpoint": checkpoint.pk, "task": checkpoint.task_id, "files": files}


def changeset_reject(
    *, task: Task, actor: AbstractBaseUser, paths: list[str] | None = None
) -> list[dict[str, Any]]:
    """Turn down pending (or conflicted) files, all or the named ones; applied ones stay."""
    require(actor, Action.ROOM_EDIT, task.room)
    changes = {c.path: c for c in ChangeFile.objects.filter(task=task)}
    for path in paths or []:
        if path not in changes:
            raise Invalid(f"{path}: this task's changeset does not touch that file.")
    targets = [changes[p] for p in dict.fromkeys(paths)] if paths else list(changes.values())
    results = []
    with transaction.atomic():
        for change in targets:
            if change.status in (ChangeStatus.PENDING, ChangeStatus.CONFLICT):
                change.status, change.conflicts = ChangeStatus.REJECTED, []
                change.save(update_fields=["status", "conflicts", "updated_at"])
            results.append({"path": change.path, "status": change.status, "conflicts": []})
        _announce(task)
    return results


def _announce(task: Task) -> None:
    payload = {
        "task": task.pk,
        "changes": [change_out(c, with_diff=False) for c in ChangeFile.objects.filter(task=task)],
    }
    room_event_send(task.room_id, "task.changes", payload)

"""The room's timeline of applied change sets (checkpoints) and undoing one as a unit.

Real services, tasks run in-process against the simulator (as test_changesets.py), the
API through the real Django app with tokens.
"""

from __future__ import annotations

import uuid

import pytest

from editor.accounts.tokens import token_create
from editor.agents.changesets import changeset_apply, changeset_undo, checkpoint_undo
from editor.agents.models import Checkpoint
from editor.agents.runner import task_run
from editor.agents.selectors import checkpoint_list
from editor.agents.services import task_start
from editor.assist.simulator import rules_from
from editor.collab.services import doc_text_replace
from editor.core.errors import Conflict, Forbidden
from editor.projects.models import ProjectFile
from editor.projects.selectors import file_text_current
from editor.projects.services import file_create
from tests.api.helpers import ApiClient, assert_error

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "".join(f"line {n}\n" for n in range(1, 11))
TWO_FILES = (
    "*** Begin Patch\n*** Update File: src/lines.txt\n line 2\n-line 3\n+line three\n+line 3b\n"
    "*** Add File: NOTES.md\n+first\n+second\n*** End Patch"
)
OTHER_FILE = "*** Begin Patch\n*** Update File: src/other.txt\n a\n-b\n+B\n*** End Patch"
LAST_LINE = "*** Begin Patch\n*** Update File: src/lines.txt\n-line 10\n+line ten\n*** End Patch"


@pytest.fixture(autouse=True)
def _nobody_consumes(settings):
    settings.FLINT_AGENTS_QUEUE = f"agents-unread-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def lines(cast):
    return file_create(room=cast.room, actor=cast.alice, path="src/lines.txt", text=BASE)


@pytest.fixture
def run(cast, lines, tiers, simulator):
    """run(marker, patch): a finished task (started by bob) whose changeset is `patch`."""
    rules = []

    def start(marker: str, patch: str):
        rules.extend(
            [
                {"marker": marker, "turn": 0,
                 "tool_calls": [{"name": "apply_patch", "arguments": {"patch": patch}}]},
                {"marker": marker, "turn": 1, "reply": "Done."},
            ]
        )  # fmt: skip
        simulator.simulator.rules = rules_from(rules)
        (task,) = task_start(room=cast.room, actor=cast.bob, prompt=marker)
        assert task_run(task_id=task.pk) == "succeeded"
        task.refresh_from_db()
        return task

    return start


def live(file: ProjectFile) -> str:
    return file_text_current(ProjectFile.objects.get(pk=file.pk))


def api_as(user) -> ApiClient:
    _, raw = token_create(user=user, name="checkpoint tests", ttl_days=1)
    return ApiClient(raw)


def test_each_apply_is_a_checkpoint_listed_newest_first_with_files_and_counts(cast, lines, run):
    first = run("two-files", TWO_FILES)
    second = run("last-line", LAST_LINE)
    changeset_apply(task=first, actor=cast.bob, paths=["src/lines.txt"])
    changeset_apply(task=second, actor=cast.alice)
    changeset_apply(task=first, actor=cast.alice, paths=["NOTES.md"])

    timeline = checkpoint_list(room=cast.room, actor=cast.carol)  # a viewer reads it
    assert [(c["task"], c["applied_by"]) for c in timeline] == [
        (first.pk, "alice"),
        (second.pk, "alice"),
        (first.pk, "bob"),
    ]
    notes, last, lines_cp = timeline
    assert notes["files"] == [
        {"path": "NOTES.md", "change": "add", "added": 2, "removed": 0, "applied": True}
    ]
    assert lines_cp["files"] == [
        {"path": "src/lines.txt", "change": "modify", "added": 2, "removed": 1, "applied": True}
    ]
    assert (lines_cp["added"], lines_cp["removed"]) == (2, 1)
    assert last["task_prompt"] == "last-line" and last["task_started_by"] == "bob"
    assert not any(c["undone"] for c in timeline)
    assert all(c["applied_at"] for c in timeline)


def test_undoing_a_checkpoint_takes_back_that_apply_only(cast, lines, run):
    other = file_create(room=cast.room, actor=cast.alice, path="src/other.txt", text="a\nb\n")
    first = run("two-files", TWO_FILES)
    second = run("other-file", OTHER_FILE)
    changeset_apply(task=first, actor=cast.bob)
    changeset_apply(task=second, actor=cast.bob)
    assert live(lines) == BASE.replace("line 3\n", "line three\nline 3b\n")
    first_cp = Checkpoint.objects.get(task=first)

    result = checkpoint_undo(room=cast.room, actor=cast.alice, checkpoint_id=first_cp.pk)
    assert sorted(f["path"] for f in result["files"]) == ["NOTES.md", "src/lines.txt"]
    assert live(lines) == BASE
    assert live(other) == "a\nB\n"  # the later change set stays
    assert not ProjectFile.objects.filter(room=cast.room, path="NOTES.md").exists()
    timeline = {c["id"]: c for c in checkpoint_list(room=cast.room, actor=cast.bob)}
    assert timeline[first_cp.pk]["undone"] and timeline[first_cp.pk]["undone_by"] == "alice"
    assert not any(f["applied"] for f in timeline[first_cp.pk]["files"])
    assert not timeline[Checkpoint.objects.get(task=second).pk]["undone"]

    with pytest.raises(Conflict) as again:
        checkpoint_undo(room=cast.room, actor=cast.alice, checkpoint_id=first_cp.pk)
    assert again.value.code == "undone"


def test_a_checkpoint_whose_file_changed_since_is_refused_and_nothing_moves(cast, lines, run):
    task = run("two-files", TWO_FILES)
    changeset_apply(task=task, actor=cast.bob)
    checkpoint = Checkpoint.objects.get(task=task)
    edited = live(lines).replace("line 7", "line seven")
    doc_text_replace(doc_id=lines.doc_id, text=edited, origin="test")

    with pytest.raises(Conflict) as refused:
        checkpoint_undo(room=cast.room, actor=cast.bob, checkpoint_id=checkpoint.pk)
    assert refused.value.code == "changed_since"
    assert "src/lines.txt changed since" in refused.value.message
    assert "Undo it by hand" in refused.value.message
    assert live(lines) == edited
    assert ProjectFile.objects.filter(room=cast.room, path="NOTES.md").exists()
    checkpoint.refresh_from_db()
    assert checkpoint.undone_at is None


def test_the_tasks_own_undo_marks_its_checkpoint_undone(cast, lines, run):
    task = run("two-files", TWO_FILES)
    changeset_apply(task=task, actor=cast.bob)
    checkpoint = Checkpoint.objects.get(task=task)
    changeset_undo(task=task, actor=cast.bob, paths=["NOTES.md"])
    (row,) = checkpoint_list(room=cast.room, actor=cast.bob)
    assert not row["undone"]  # one of its two files is still in
    assert {f["path"]: f["applied"] for f in row["files"]} == {
        "NOTES.md": False,
        "src/lines.txt": True,
    }
    changeset_undo(task=task, actor=cast.bob)
    checkpoint.refresh_from_db()
    assert checkpoint.undone_at is not None and checkpoint.undone_by == cast.bob


def test_an_apply_that_puts_nothing_in_leaves_no_checkpoint(cast, lines, run):
    task = run("last-line", LAST_LINE)
    doc_text_replace(doc_id=lines.doc_id, text=BASE.replace("line 10", "line X"), origin="test")
    (result,) = changeset_apply(task=task, actor=cast.bob)
    assert result["status"] == "conflict"
    assert checkpoint_list(room=cast.room, actor=cast.bob) == []


def test_viewers_read_the_timeline_but_cannot_undo(cast, lines, run):
    task = run("last-line", LAST_LINE)
    changeset_apply(task=task, actor=cast.bob)
    checkpoint = Checkpoint.objects.get(task=task)
    with pytest.raises(Forbidden):
        checkpoint_undo(room=cast.room, actor=cast.carol, checkpoint_id=checkpoint.pk)
    assert "line ten" in live(lines)


def test_the_api_lists_and_undoes_by_role(cast, lines, run):
    task = run("last-line", LAST_LINE)
    url = f"/api/rooms/{cast.room.pk}/checkpoints"
    bob, carol, mallory = api_as(cast.bob), api_as(cast.carol), api_as(cast.mallory)
    assert bob.get(url).json() == []
    applied = bob.post(f"/api/rooms/{cast.room.pk}/tasks/{task.pk}/apply", {})
    assert applied.status_code == 200

    listed = carol.get(url)
    assert listed.status_code == 200
    (row,) = listed.json()
    assert row["task"] == task.pk and row["applied_by"] == "bob" and not row["undone"]
    assert_error(mallory.get(url), 403, "forbidden")
    assert_error(carol.post(f"{url}/{row['id']}/undo"), 403, "forbidden")
    assert_error(bob.post(f"{url}/999999/undo"), 404, "not_found")

    undone = bob.post(f"{url}/{row['id']}/undo")
    assert undone.status_code == 200, undone.content
    assert undone.json() == {
        "checkpoint": row["id"],
        "task": task.pk,
        "files": [{"path": "src/lines.txt", "status": "pending", "conflicts": [], "error": None}],
    }
    assert live(lines) == BASE
    assert carol.get(url).json()[0]["undone"] is True
    assert_error(bob.post(f"{url}/{row['id']}/undo"), 409, "undone")

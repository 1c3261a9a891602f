"""Starting tasks, running one in-process (runner.task_run), applying, merging and undoing.

The worker's code path without a worker: task_run claims and runs the task here against
the simulator; the live tests (test_live.py) run the same through Celery.
"""

from __future__ import annotations

import uuid

import pytest

from editor.agents.changesets import changeset_apply, changeset_reject, changeset_undo
from editor.agents.models import ChangeFile, SnapshotFile, Task
from editor.agents.runner import task_run
from editor.agents.services import task_cancel, task_start, variant_pick
from editor.assist.simulator import rules_from
from editor.collab.services import doc_text_replace
from editor.core.errors import Conflict, Forbidden, Invalid
from editor.projects.models import ProjectFile
from editor.projects.selectors import file_text_current
from editor.projects.services import file_create
from editor.usage.models import UsageEvent

BASE = "".join(f"line {n}\n" for n in range(1, 21))
PATCH = (
    "*** Begin Patch\n*** Update File: src/lines.txt\n line 4\n-line 5\n+line five\n line 6\n"
    "*** Add File: NOTES.md\n+notes\n*** End Patch"
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _nobody_consumes(settings):
    """Enqueued runs wait on a queue no worker reads: this module runs them in-process."""
    settings.FLINT_AGENTS_QUEUE = f"agents-unread-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def project(cast):
    return file_create(room=cast.room, actor=cast.alice, path="src/lines.txt", text=BASE)


@pytest.fixture
def finished_task(cast, project, tiers, simulator):
    simulator.simulator.rules = rules_from(
        [
            {"marker": "edit-line-5", "turn": 0,
             "tool_calls": [{"name": "apply_patch", "arguments": {"patch": PATCH}}]},
            {"marker": "edit-line-5", "turn": 1, "reply": "Line 5 spelled out."},
        ]
    )  # fmt: skip
    (task,) = task_start(room=cast.room, actor=cast.bob, prompt="edit-line-5")
    assert task_run(task_id=task.pk) == "succeeded"
    task.refresh_from_db()
    return task


def live(file: ProjectFile) -> str:
    return file_text_current(ProjectFile.objects.get(pk=file.pk))


def edit_live(file: ProjectFile, number: int, new: str) -> None:
    lines = live(file).splitlines(keepends=True)
    lines[number - 1] = new + "\n"
    doc_text_replace(doc_id=file.doc_id, text="".join(lines), origin="test")


def test_the_run_keeps_a_snapshot_a_changeset_and_usage_with_the_task_id(finished_task, project):
    assert SnapshotFile.objects.get(snapshot=finished_task.snapshot).text == BASE
    changes = {c.path: c for c in ChangeFile.objects.filter(task=finished_task)}
    assert changes["src/lines.txt"].proposed_text == BASE.replace("line 5\n", "line five\n")
    assert changes["NOTES.md"].base_text is None
    assert finished_task.summary == "Line 5 spelled out."
    usage = UsageEvent.objects.filter(task_id=finished_task.pk)
    assert usage.count() == 2 and {u.feature for u in usage} == {"task"}
    assert finished_task.transcript[0]["role"] == "system"
    assert live(project) == BASE  # nothing reaches the live file before an apply


def test_an_edit_on_the_same_lines_conflicts_and_nothing_is_written(finished_task, project, cast):
    edit_live(project, 5, "line 5 (bob's)")
    before = live(project)

    (result, _notes) = sorted(
        changeset_apply(task=finished_task, actor=cast.bob),
        key=lambda r: r["path"] != "src/lines.txt",
    )

    assert result["status"] == "conflict"
    (region,) = result["conflicts"]
    assert region["live_start"] == 5 and region["live"] == "line 5 (bob's)\n"
    assert region["proposed"] == "line five\n"
    assert live(project) == before
    assert ChangeFile.objects.get(task=finished_task, path="src/lines.txt").status == "conflict"


def test_an_edit_on_other_lines_is_merged(finished_task, project, cast):
    edit_live(project, 18, "line 18 (bob's)")

    changeset_apply(task=finished_task, actor=cast.bob, paths=["src/lines.txt"])

    expected = BASE.replace("line 5\n", "line five\n").replace("line 18\n", "line 18 (bob's)\n")
    assert live(project) == expected
    assert not ProjectFile.objects.filter(room=cast.room, path="NOTES.md").exists()


def test_undo_restores_the_file_unless_it_changed_since(finished_task, project, cast):
    changeset_apply(task=finished_task, actor=cast.bob)
    assert ProjectFile.objects.filter(room=cast.room, path="NOTES.md").exists()

    edit_live(project, 1, "line one")
    with pytest.raises(Conflict, match="changed since"):
        changeset_undo(task=finished_task, actor=cast.bob)
    assert live(project).startswith("line one\n")  # refused as a whole: nothing undone

    edit_live(project, 1, "line 1")
    changeset_undo(task=finished_task, actor=cast.bob)

    assert live(project) == BASE
    assert not ProjectFile.objects.filter(room=cast.room, path="NOTES.md").exists()


def test_rejecting_a_file_writes_nothing_and_an_apply_all_skips_it(finished_task, project, cast):
    with pytest.raises(Forbidden):
        changeset_reject(task=finished_task, actor=cast.carol)
    with pytest.raises(Invalid, match="does not touch"):
        changeset_reject(task=finished_task, actor=cast.bob, paths=["elsewhere.txt"])

    rejected = changeset_reject(task=finished_task, actor=cast.bob, paths=["NOTES.md"])
    applied = changeset_apply(task=finished_task, actor=cast.bob)

    assert rejected == [{"path": "NOTES.md", "status": "rejected", "conflicts": []}]
    assert [f["path"] for f in applied] == ["src/lines.txt"]
    assert not ProjectFile.objects.filter(room=cast.room, path="NOTES.md").exists()
    statuses = dict(ChangeFile.objects.filter(task=finished_task).values_list("path", "status"))
    assert statuses == {"src/lines.txt": "applied", "NOTES.md": "rejected"}
    # Rejecting everything afterwards leaves the applied file as it is.
    changeset_reject(task=finished_task, actor=cast.bob)
    assert ChangeFile.objects.get(task=finished_task, path="src/lines.txt").status == "applied"


def test_applying_one_hunk(cast, tiers, simulator):
    text = "".join(f"l{n}\n" for n in range(1, 30))
    file = file_create(room=cast.room, actor=cast.alice, path="h.txt", text=text)
    patch = "--- a/h.txt\n+++ b/h.txt\n@@ -2 +2 @@\n-l2\n+L2\n@@ -25 +25 @@\n-l25\n+L25\n"
    simulator.simulator.rules = rules_from(
        [{"marker": "two-hunks", "turn": 0,
          "tool_calls": [{"name": "apply_patch", "arguments": {"patch": patch}}]},
         {"marker": "two-hunks", "turn": 1, "reply": "ok"}]
    )  # fmt: skip
    (task,) = task_start(room=cast.room, actor=cast.bob, prompt="two-hunks")
    task_run(task_id=task.pk)
    task.refresh_from_db()

    with pytest.raises(Invalid, match="numbered 0 to 1"):
        changeset_apply(task=task, actor=cast.bob, hunks={"h.txt": [7]})
    changeset_apply(task=task, actor=cast.bob, hunks={"h.txt": [1]})

    assert live(file) == text.replace("l25\n", "L25\n")


def test_viewers_and_outsiders_cannot_start_or_apply(finished_task, cast):
    with pytest.raises(Forbidden):
        task_start(room=cast.room, actor=cast.carol, prompt="x")
    with pytest.raises(Forbidden):
        changeset_apply(task=finished_task, actor=cast.carol)
    with pytest.raises(Forbidden):
        task_start(room=cast.room, actor=cast.mallory, prompt="x")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"prompt": "  "}, "prompt is empty"),
        ({"prompt": "x", "attempts": 5}, "from 1 to 4"),
        ({"prompt": "x", "attempts": True}, "whole number"),
        ({"prompt": "x", "scope": ["../etc"]}, "climbs out"),
        ({"prompt": "x", "scope": ["nowhere/"]}, "no such file or folder"),
    ],
)
def test_bad_input_is_refused_and_leaves_nothing(cast, project, fields, message):
    with pytest.raises(Invalid, match=message):
        task_start(room=cast.room, actor=cast.bob, **fields)
    assert not Task.objects.exists()


def test_variants_share_a_snapshot_and_picking_one_rejects_the_others(
    cast, project, tiers, simulator
):
    simulator.simulator.rules = rules_from(
        [{"marker": "variants", "turn": 0,
          "tool_calls": [{"name": "apply_patch", "arguments": {"patch": PATCH}}]},
         {"marker": "variants", "turn": 1, "reply": "ok"}]
    )  # fmt: skip
    tasks = task_start(room=cast.room, actor=cast.bob, prompt="variants", attempts=3)
    assert len({t.group for t in tasks}) == 1 and len({t.snapshot_id for t in tasks}) == 1
    assert [t.variant for t in tasks] == [0, 1, 2]
    for task in tasks:
        task_run(task_id=task.pk)
        task.refresh_from_db()

    variant_pick(task=tasks[1], actor=cast.bob)

    assert Task.objects.get(pk=tasks[1].pk).picked
    assert set(ChangeFile.objects.filter(task=tasks[0]).values_list("status", flat=True)) == {
        "rejected"
    }


def test_a_queued_task_is_cancelled_at_once_and_never_runs(cast, project):
    (task,) = task_start(room=cast.room, actor=cast.bob, prompt="later")

    task_cancel(task=task, actor=cast.bob)

    assert Task.objects.get(pk=task.pk).status == "cancelled"
    assert task_run(task_id=task.pk) is None  # the claim refuses it

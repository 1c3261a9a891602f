"""Steering's parts in-process: rules files, plans (parsing, expiry), follow-up transcripts,
the set-up cache (keys, expiry, size cap) and the review tier's rules."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from editor.agents import environments, plans, rules
from editor.agents.followups import STOPPED_CALL, transcript_resumable
from editor.agents.models import ReviewComment, Task, TaskStatus, TaskStep
from editor.agents.review import review_run, review_start
from editor.agents.room_settings import agent_settings_set, hosts_clean
from editor.agents.services import snapshot_take, tasks_sweep
from editor.assist.simulator import rules_from
from editor.core.errors import Forbidden, Invalid
from editor.projects.services import file_create


def test_each_agents_md_is_labelled_with_where_it_applies_and_room_rules_come_last():
    files = {"AGENTS.md": "root rule", "src/AGENTS.md": "src rule", "docs/AGENTS.md": "doc rule",
             "src/app.py": "x"}  # fmt: skip
    text, used = rules.instructions(files, "room rule")
    assert used == ["AGENTS.md", "docs/AGENTS.md", "src/AGENTS.md", "room rules"]
    assert "--- src/AGENTS.md (applies under src/) ---\nsrc rule" in text
    assert "--- AGENTS.md (applies to the whole project) ---" in text
    assert text.index("src rule") < text.index("room rule")
    # A review of src/app.py gets the rules that apply to it only.
    _, used = rules.instructions(files, "", for_paths=["src/app.py"])
    assert used == ["AGENTS.md", "src/AGENTS.md"]
    assert rules.instructions({"a.py": "x"}, "") == ("", [])


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("not json", "not valid JSON"),
        ({"steps": []}, "no steps"),
        ({"steps": ["  "]}, "no steps"),
        ({"steps": "do it"}, "list of short sentences"),
        ({"steps": ["x" * 600]}, "at most 500"),
        ({"steps": ["ok"], "files": ["../etc/passwd"]}, "not a project path"),
        ([1, 2], "is an object"),
    ],
)
def test_nonsense_plans_are_refused_with_what_is_wrong(raw, says):
    with pytest.raises(plans.PlanInvalid, match=says):
        plans.plan_parse(raw)


def test_a_plan_is_cleaned():
    plan = plans.plan_parse(json.dumps({"steps": [" a ", "", "b"], "files": ["src/x.py"]}))
    assert plan == {"steps": ["a", "b"], "files": ["src/x.py"]}


def _task(cast, **fields) -> Task:
    snapshot = snapshot_take(room=cast.room)
    return Task.objects.create(room=cast.room, created_by=cast.alice, prompt="p",
                               snapshot=snapshot, **fields)  # fmt: skip


@pytest.mark.django_db
def test_an_undecided_plan_expires_with_a_clear_status(cast, settings):
    settings.FLINT_AGENTS_PLAN_EXPIRE_S = 60
    old = _task(
        cast,
        status=TaskStatus.WAITING,
        plan={"steps": ["a"], "files": []},
        plan_status="proposed",
        heartbeat_at=timezone.now() - timedelta(seconds=61),
    )
    fresh = _task(cast, status=TaskStatus.WAITING, plan={"steps": ["a"], "files": []},
                  plan_status="proposed", heartbeat_at=timezone.now())  # fmt: skip
    assert tasks_sweep() == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, old.error_kind, old.plan_status) == ("failed", "plan_expired", "expired")
    assert "expired" in old.error_message and "start the task again" in old.error_message
    assert TaskStep.objects.filter(task=old, kind="error").last().text == old.error_message
    assert fresh.status == TaskStatus.WAITING


@pytest.mark.django_db
def test_only_editors_decide_plans_and_a_rejection_ends_the_task(cast):
    task = _task(cast, status=TaskStatus.WAITING, plan={"steps": ["a"], "files": []},
                 plan_status="proposed", heartbeat_at=timezone.now())  # fmt: skip
    with pytest.raises(Forbidden):
        plans.plan_decide(task=task, actor=cast.carol, decision="approve")
    done = plans.plan_decide(task=task, actor=cast.bob, decision="reject", message="too broad")
    assert (done.status, done.error_kind) == ("cancelled", "plan_rejected")
    assert done.error_message == "Plan rejected by bob: too broad"


def test_a_stopped_transcript_gets_an_answer_for_every_call():
    calls = [{"id": "a", "type": "function", "function": {"name": "read_file"}},
             {"id": "b", "type": "function", "function": {"name": "run_command"}}]  # fmt: skip
    messages = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "a", "content": "ok"},
    ]
    out = transcript_resumable(messages)
    assert out[-1] == {"role": "tool", "tool_call_id": "b", "content": STOPPED_CALL}
    assert transcript_resumable(out) == out


@pytest.mark.django_db
def test_room_settings_are_for_owners_and_hosts_are_checked(cast):
    with pytest.raises(Forbidden):
        agent_settings_set(room=cast.room, actor=cast.bob, rules="x")
    saved = agent_settings_set(
        room=cast.room,
        actor=cast.alice,
        command_hosts=["PyPI.org", "*.pythonhosted.org", "localhost:8000"],
    )
    assert saved["command_hosts"] == ["pypi.org", "*.pythonhosted.org", "localhost:8000"]
    for bad in (["https://pypi.org/simple"], ["a b"], ["host:99999"], "pypi.org"):
        with pytest.raises(Invalid):
            hosts_clean(bad, what="command_hosts")


def test_the_cache_key_follows_the_script_hosts_and_lock_files():
    files = {"requirements.txt": "a==1\n", "src/app.py": "x", "tools/deps.txt": "z"}
    key = environments.cache_key("pip install -r requirements.txt", [], files)
    assert key == environments.cache_key("pip install -r requirements.txt", [], dict(files))
    changed_code = {**files, "src/app.py": "y"}  # not read by the script: same environment
    assert key == environments.cache_key("pip install -r requirements.txt", [], changed_code)
    bumped = {**files, "requirements.txt": "a==2\n"}
    for other in (
        environments.cache_key("pip install -r requirements.txt", [], bumped),
        environments.cache_key("pip install -r requirements.txt ", [], files),
        environments.cache_key("pip install -r requirements.txt", ["pypi.org"], files),
    ):  # fmt: skip
        assert other != key
    # A file the script names is read too.
    named = "cat tools/deps.txt"
    assert environments.cache_key(named, [], files) != environments.cache_key(
        named, [], {**files, "tools/deps.txt": "w"}
    )


def _fake_env(tmp_path, name: str, size: int):
    env = tmp_path / name
    env.mkdir()
    (env / "blob").write_bytes(b"x" * size)
    return env


def test_the_cache_expires_and_keeps_under_its_size(tmp_path, settings):
    settings.FLINT_AGENTS_ENV_CACHE_DIR = str(tmp_path / "cache")
    settings.FLINT_AGENTS_ENV_CACHE_MB = 3
    settings.FLINT_AGENTS_ENV_CACHE_TTL_S = 3600
    one, _ = environments.cache_store(1, "k1", _fake_env(tmp_path, "a", 1200 * 1024))
    time.sleep(0.05)
    environments.cache_store(1, "k2", _fake_env(tmp_path, "b", 1200 * 1024))
    assert environments.cache_lookup(1, "k1") == one and (one / "blob").exists()
    time.sleep(0.05)  # k1 was just used, k2 is now the least recently used
    environments.cache_store(2, "k3", _fake_env(tmp_path, "c", 1200 * 1024))
    assert environments.cache_lookup(1, "k2") is None
    assert environments.cache_lookup(1, "k1") is not None
    assert environments.cache_lookup(2, "k3") is not None
    # Too big for the cache at all: not stored, and says why.
    stored, why = environments.cache_store(1, "big", _fake_env(tmp_path, "d", 4 * 1024 * 1024))
    assert stored is None and "more than the cache's 3 MB" in why
    # Expired entries go.
    old = time.time() - 7200
    os.utime(environments.cache_lookup(2, "k3"), (old, old))
    assert environments.cache_lookup(2, "k3") is None


@pytest.mark.django_db
def test_the_review_tier_is_given_the_rules_that_apply(cast, tiers, simulator):
    file_create(room=cast.room, actor=cast.alice, path="src/app.py", text="x = 1\ny = 2\n")
    file_create(room=cast.room, actor=cast.alice, path="src/AGENTS.md", text="REVIEW-RULE-3\n")
    file_create(room=cast.room, actor=cast.alice, path="docs/AGENTS.md", text="DOCS-ONLY\n")
    comment = [{"path": "src/app.py", "line": 2, "severity": "info", "body": "rule seen"}]
    simulator.simulator.rules = rules_from([
        {"marker": "DOCS-ONLY", "reply": "[]"},  # must not be given: it is not src/'s
        {"marker": "REVIEW-RULE-3", "reply": json.dumps(comment)},
        {"marker": "Review these files", "reply": "[]"},
    ])  # fmt: skip
    run = review_start(room=cast.room, actor=cast.bob, target="file", path="src/app.py")
    assert review_run(run_id=run.pk) == "1 comments"
    assert list(ReviewComment.objects.filter(run=run).values_list("body", flat=True)) == [
        "rule seen"
    ]

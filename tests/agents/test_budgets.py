"""Deep tasks spend tokens through the usage quotas (runner._admit): the team's monthly
budget and the task's own budget (FLINT_QUOTA_TASK_TOKENS, or the team's admin value)."""

from __future__ import annotations

import uuid

import pytest

from editor.agents.models import Task, TaskStep
from editor.agents.runner import task_run
from editor.agents.services import task_start
from editor.assist.simulator import rules_from
from editor.usage import limits
from editor.usage.models import TeamLimit, UsageEvent, UsageStatus
from editor.usage.services import usage_record

pytestmark = pytest.mark.django_db(transaction=True)
READ = {"name": "read_file", "arguments": {"path": "README.md"}}


@pytest.fixture(autouse=True)
def fresh_counters(settings):
    """Its own quota counters on the shared Redis, no cached limits, no worker on the queue."""
    settings.FLINT_CHANNEL_PREFIX = f"budget-test-{uuid.uuid4().hex[:8]}"
    settings.FLINT_AGENTS_QUEUE = f"agents-unread-{uuid.uuid4().hex[:8]}"
    limits.limits_forget()
    yield
    limits.limits_forget()


@pytest.fixture
def readme(cast):
    from editor.projects.services import file_create

    return file_create(room=cast.room, actor=cast.alice, path="README.md", text="# App\n")


def log_of(task: Task) -> list[str]:
    return list(TaskStep.objects.filter(task=task).order_by("id").values_list("text", flat=True))


def test_a_task_refused_by_the_team_budget_fails_with_the_reason_in_its_log(
    cast, readme, tiers, simulator
):
    TeamLimit.objects.create(team=cast.team, monthly_tokens=1_000)
    usage_record(
        user=cast.alice, team_id=cast.team.pk, tier="fast", model="sim-fast", feature="qa",
        status="ok", prompt_tokens=900, completion_tokens=100, tokens_estimated=False,
        duration_ms=10,
    )  # fmt: skip
    (task,) = task_start(room=cast.room, actor=cast.bob, prompt="anything")

    assert task_run(task_id=task.pk) == "failed"

    task.refresh_from_db()
    message = "Team budget reached: 1,000 of 1,000 tokens this month — ask a team owner."
    assert (task.error_kind, task.error_message) == ("team_budget", message)
    assert message in log_of(task)
    # No model call was made; the refusal is a usage row of the task, with its reason.
    calls = UsageEvent.objects.filter(task_id=task.pk)
    assert [(e.status, e.error_kind, e.user_id) for e in calls] == [
        (UsageStatus.REFUSED, "team_budget", cast.bob.pk)
    ]


def test_a_task_is_stopped_by_its_own_budget_and_never_overruns_it(
    cast, readme, tiers, simulator, settings
):
    # The model keeps reading a file; each step resends the growing conversation.
    simulator.simulator.rules = rules_from(
        [{"marker": "keep-reading", "turn": i, "tool_calls": [READ]} for i in range(30)]
    )
    budget = 6_000
    settings.FLINT_QUOTA_TASK_TOKENS = budget  # no admin value: the setting applies
    (task,) = task_start(room=cast.room, actor=cast.bob, prompt="keep-reading")

    assert task_run(task_id=task.pk) == "failed"

    task.refresh_from_db()
    assert task.error_kind == "task_budget"
    assert task.error_message.startswith("Task budget reached:")
    assert task.error_message.endswith(f"of {budget:,} tokens for this task.")
    assert task.error_message in log_of(task)
    done = UsageEvent.objects.filter(task_id=task.pk, status=UsageStatus.OK)
    spent = sum(e.prompt_tokens + e.completion_tokens for e in done)
    assert done.count() >= 2 and 0 < spent <= budget
    assert task.tokens_used == spent
    refused = UsageEvent.objects.filter(task_id=task.pk, status=UsageStatus.REFUSED)
    assert list(refused.values_list("error_kind", flat=True)) == ["task_budget"]

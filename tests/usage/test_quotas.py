"""Quotas and rate limits: admitted atomically in Redis, refusals recorded and explained."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import override_settings

from editor.usage import limits
from editor.usage.models import TeamLimit, UsageEvent, UsageStatus, UserLimit
from editor.usage.quotas import (
    QuotaExceeded,
    quota_admit,
    quota_admit_sync,
    quota_release,
    quota_release_sync,
    quota_task_budget,
    tokens_human,
)
from editor.usage.services import usage_record

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_counters(settings):
    """Each test its own counter namespace on the shared Redis, and no cached limits."""
    import uuid

    settings.FLINT_CHANNEL_PREFIX = f"quota-test-{uuid.uuid4().hex[:8]}"
    limits.limits_forget()
    yield
    limits.limits_forget()


def call(cast, **extra):
    where = dict(
        user_id=cast.bob.pk, team_id=cast.team.pk, room_id=cast.room.pk, tier="fast",
        model="sim-fast", feature="quick_edit", reserve_tokens=100,
    )  # fmt: skip
    where.update(extra)
    return where


def admit_many(n: int, where: dict) -> tuple[list, list[QuotaExceeded]]:
    async def one():
        try:
            return await quota_admit(**where)
        except QuotaExceeded as exc:
            return exc

    async def all_at_once():
        return await asyncio.gather(*(one() for _ in range(n)))

    results = asyncio.run(all_at_once())
    return (
        [r for r in results if not isinstance(r, QuotaExceeded)],
        [r for r in results if isinstance(r, QuotaExceeded)],
    )


def test_fifty_parallel_requests_against_a_limit_of_ten_admit_exactly_ten(cast):
    UserLimit.objects.create(user=cast.bob, requests_per_minute=10)

    admitted, refused = admit_many(50, call(cast))

    assert (len(admitted), len(refused)) == (10, 40)
    assert {exc.reason for exc in refused} == {"rpm"}
    assert refused[0].status == 429 and refused[0].kind == "quota"
    assert "Rate limit reached: 10 requests a minute" in refused[0].message
    rows = UsageEvent.objects.filter(status=UsageStatus.REFUSED)
    assert rows.count() == 40
    assert set(rows.values_list("error_kind", flat=True)) == {"rpm"}


def test_parallel_requests_from_many_threads_cannot_overrun_a_team_budget(cast):
    # 1,000 tokens, 100 reserved per call: ten fit, whichever thread or process asks.
    TeamLimit.objects.create(team=cast.team, monthly_tokens=1000)

    def one(_):
        try:
            return quota_admit_sync(**call(cast))
        except QuotaExceeded as exc:
            return exc

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one, range(50)))

    refused = [r for r in results if isinstance(r, QuotaExceeded)]
    assert len(results) - len(refused) == 10
    assert refused[0].message == (
        "Team budget reached: 1,000 of 1,000 tokens this month — ask a team owner."
    )


def test_a_release_turns_the_reservation_into_what_was_used(cast):
    TeamLimit.objects.create(team=cast.team, monthly_tokens=1000)
    first = quota_admit_sync(**call(cast, reserve_tokens=900))
    with pytest.raises(QuotaExceeded):
        quota_admit_sync(**call(cast, reserve_tokens=200))

    quota_release_sync(first, used_tokens=300)  # it used 300 of the 900 it reserved
    quota_release_sync(first, used_tokens=300)  # twice is once

    second = quota_admit_sync(**call(cast, reserve_tokens=700))
    with pytest.raises(QuotaExceeded, match="Team budget reached: 1,000 of 1,000"):
        quota_admit_sync(**call(cast, reserve_tokens=1))
    assert second.reserved == 700


def test_the_team_counter_starts_from_this_months_usage_rows(cast):
    usage_record(
        user=cast.bob, team_id=cast.team.pk, tier="fast", model="m", feature="qa",
        status="ok", prompt_tokens=600, completion_tokens=350, tokens_estimated=False,
        duration_ms=1,
    )  # fmt: skip
    TeamLimit.objects.create(team=cast.team, monthly_tokens=1000)

    quota_admit_sync(**call(cast, reserve_tokens=50))
    with pytest.raises(QuotaExceeded):
        quota_admit_sync(**call(cast, reserve_tokens=1))


def test_concurrent_streams_are_capped_and_freed_on_release(cast):
    UserLimit.objects.create(user=cast.bob, concurrent_streams=3)

    admitted, refused = admit_many(20, call(cast))
    assert (len(admitted), len(refused)) == (3, 17)
    assert refused[0].reason == "streams"

    asyncio.run(quota_release(admitted[0], used_tokens=10))
    again, _ = admit_many(5, call(cast))
    assert len(again) == 1


def test_other_people_and_teams_have_their_own_counters(cast):
    UserLimit.objects.create(user=cast.bob, requests_per_minute=1)
    TeamLimit.objects.create(team=cast.team, monthly_tokens=100)
    quota_admit_sync(**call(cast))
    with pytest.raises(QuotaExceeded):
        quota_admit_sync(**call(cast))

    quota_admit_sync(**call(cast, user_id=cast.mallory.pk, team_id=cast.other_team.pk))


@override_settings(FLINT_QUOTA_USER_REQUESTS_PER_MINUTE=2)
def test_defaults_come_from_settings_and_zero_means_no_limit(cast):
    quota_admit_sync(**call(cast))
    quota_admit_sync(**call(cast))
    with pytest.raises(QuotaExceeded):
        quota_admit_sync(**call(cast))

    UserLimit.objects.create(user=cast.bob, requests_per_minute=0)
    limits.limits_forget()
    for _ in range(5):
        quota_admit_sync(**call(cast))


def test_a_task_budget_counts_the_tasks_own_calls(cast):
    TeamLimit.objects.create(team=cast.team, task_tokens=500)
    assert quota_task_budget(task_id=7, team_id=cast.team.pk).remaining == 500

    ticket = quota_admit_sync(**call(cast, task_id=7, feature="task", reserve_tokens=400))
    assert quota_task_budget(task_id=7, team_id=cast.team.pk).remaining == 100
    with pytest.raises(QuotaExceeded, match="Task budget reached"):
        quota_admit_sync(**call(cast, task_id=7, feature="task", reserve_tokens=200))
    quota_release_sync(ticket, used_tokens=500)
    with pytest.raises(QuotaExceeded, match="Task budget reached: 500 of 500"):
        quota_task_budget(task_id=7, team_id=cast.team.pk)
    # another task of the same team starts afresh
    assert quota_task_budget(task_id=8, team_id=cast.team.pk).remaining == 500


def test_token_counts_read_like_people_write_them():
    assert [tokens_human(n) for n in (812, 9_999, 950_000, 1_200_000, 2_000_000)] == [
        "812", "9,999", "950k", "1.2M", "2M",
    ]  # fmt: skip

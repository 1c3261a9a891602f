"""editor/usage/rollups.py: hourly rollups kept beside each usage row, rebuilt from the rows."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from editor.usage import selectors
from editor.usage.buckets import METRICS, TTFT_BUCKET_EDGES, bucket_of
from editor.usage.models import UsageEvent, UsageHour, UsageHourLatency
from editor.usage.rollups import hour_floor, rollup_rebuild
from editor.usage.selectors import UsageFilters
from editor.usage.services import usage_record
from tests.usage.percentiles import percentiles_by_group
from tests.usage.seed import START, seed_usage


def record(cast, *, ttft: float | None = 100.0, status: str = "ok", user=None, **extra):
    return usage_record(
        user=user or cast.bob, team_id=cast.team.pk, room_id=cast.room.pk, tier="fast",
        model="sim-fast", feature="qa", status=status, prompt_tokens=10, completion_tokens=5,
        tokens_estimated=False, ttft_ms=ttft, duration_ms=(ttft or 0) + 50, **extra,
    )  # fmt: skip


def snapshot() -> tuple[list, list]:
    hours = sorted(UsageHour.objects.values_list(
        "hour", "team_id", "user_id", "tier", "model", "feature", "status", "error_kind",
        "requests", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens",
        "duration_ms",
    ))  # fmt: skip
    latency = sorted(
        tuple(row.values())[1:] for row in UsageHourLatency.objects.values().order_by("id")
    )
    return hours, latency


@pytest.mark.django_db
def test_each_usage_row_is_added_to_its_hour_and_a_rebuild_agrees(cast):
    record(cast, ttft=100, cached_tokens=8, reasoning_tokens=3)
    record(cast, ttft=130, cached_tokens=4)
    record(cast, ttft=None, status="error", error_kind="model_down")
    record(cast, ttft=2000, user=cast.alice, reasoning_tokens=5)

    hour = UsageHour.objects.get(user_id=cast.bob.pk, status="ok")
    assert (hour.requests, hour.prompt_tokens, hour.completion_tokens) == (2, 20, 10)
    assert (hour.cached_tokens, hour.reasoning_tokens) == (12, 3)
    assert UsageHour.objects.get(user_id=cast.alice.pk).reasoning_tokens == 5
    assert hour.duration_ms == 150 + 180
    assert hour.hour == hour_floor(UsageEvent.objects.first().created_at)
    latency = UsageHourLatency.objects.get()  # no user dimension: one row for the hour
    ttft = [getattr(latency, f"ttft_{i}") for i in range(len(TTFT_BUCKET_EDGES) + 1)]
    assert ttft[bucket_of(100, TTFT_BUCKET_EDGES)] == 1
    assert ttft[bucket_of(130, TTFT_BUCKET_EDGES)] == 1
    assert ttft[bucket_of(2000, TTFT_BUCKET_EDGES)] == 1 and sum(ttft) == 3
    assert UsageHour.objects.get(status="error").error_kind == "model_down"

    live = snapshot()
    now = timezone.now()
    assert rollup_rebuild(start=now - timedelta(hours=2), end=now) == {"hours": 3, "latency": 1}
    assert snapshot() == live


@pytest.mark.django_db(transaction=True)
def test_parallel_writers_never_lose_an_increment(cast):
    # Every thread adds to the same rollup rows: the first inserts, the others conflict
    # and increment (PostgreSQL and SQLite alike, one statement each).
    def write(n: int) -> None:
        try:
            for _ in range(10):
                record(cast, ttft=100 + n)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(8)))

    assert UsageEvent.objects.count() == 80
    assert sum(UsageHour.objects.values_list("requests", flat=True)) == 80
    latency = UsageHourLatency.objects.values()
    assert sum(v for row in latency for k, v in row.items() if k.startswith("ttft_")) == 80


@pytest.mark.django_db
def test_partial_hours_at_the_edges_are_read_from_the_rows(cast):
    seed_usage(cast)
    # bob's two rows on day 0 are at 10:00 and 11:00. From 10:30 the first is out; to
    # 11:30 the second is in, though its hour is not whole: it comes from the raw row.
    start = START + timedelta(hours=10, minutes=30)
    for end, requests in ((START + timedelta(hours=11, minutes=30), 1),
                          (START + timedelta(hours=12), 1),
                          (START + timedelta(hours=11), 0)):  # fmt: skip
        filters = UsageFilters(start=start, end=end)
        totals = selectors.usage_totals(by_model=selectors.usage_by_model(filters=filters))
        assert totals["requests"] == requests, end
    rows = UsageEvent.objects.filter(created_at=START + timedelta(hours=11))
    rows.update(created_at=START + timedelta(hours=11, minutes=45))
    filters = UsageFilters(start=start, end=START + timedelta(hours=11, minutes=30))
    assert (
        selectors.usage_totals(by_model=selectors.usage_by_model(filters=filters))["requests"] == 0
    )


@pytest.mark.django_db
def test_bucketed_percentiles_are_within_a_bucket_of_percentile_cont(cast):
    rng = random.Random(7)
    for _ in range(300):
        record(cast, ttft=max(1.0, rng.lognormvariate(5, 0.6)))
    start = hour_floor(timezone.now()) - timedelta(hours=1)
    filters = UsageFilters(start=start, end=start + timedelta(hours=3))  # whole hours
    assert selectors._edge_events(filters).count() == 0  # so this reads the rollups only

    got = selectors.usage_latency(filters=filters)[0]
    exact = percentiles_by_group(
        UsageEvent.objects.all(), group_by=("tier", "model"),
        specs=[("p50", "ttft_ms", 0.5), ("p95", "ttft_ms", 0.95), ("tps", "tokens_per_s", 0.5)],
    )["fast", "sim-fast"]  # fmt: skip
    for name, metric, estimate in (("p50", "ttft", got["ttft_p50"]),
                                   ("p95", "ttft", got["ttft_p95"]),
                                   ("tps", "tps", got["tps_p50"])):  # fmt: skip
        edges = METRICS[metric][1]
        i = bucket_of(estimate, edges)
        width = edges[i] - edges[i - 1]
        assert abs(estimate - exact[name]) <= width, (name, estimate, exact[name])


@pytest.mark.django_db
def test_the_rebuild_command_back_fills_rows_written_around_the_rollups(cast):
    record(cast, ttft=100)
    UsageEvent.objects.bulk_create(
        [UsageEvent(user=cast.bob, team=cast.team, tier="deep", model="sim-deep",
                    feature="task", status="ok", prompt_tokens=7, completion_tokens=3,
                    ttft_ms=900, tokens_per_s=40)] * 3
    )  # fmt: skip
    assert not UsageHour.objects.filter(tier="deep").exists()
    day = timezone.now().date()

    call_command("usage_rollup", "--start", day.isoformat(), "--days", "1", verbosity=0)

    deep = UsageHour.objects.get(tier="deep")
    assert (deep.requests, deep.prompt_tokens) == (3, 21)
    assert UsageHour.objects.get(tier="fast").requests == 1  # rebuilt, not doubled

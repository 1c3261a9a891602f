"""Every dashboard figure against seeded rows, worked out by hand (tests/usage/seed.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from editor.assist.selectors import completion_acceptance
from editor.usage import selectors
from editor.usage.models import ModelPrice, UsageEvent
from editor.usage.selectors import UsageFilters
from tests.usage.percentiles import percentiles_by_group
from tests.usage.seed import END, START, seed_usage

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(cast):
    seed_usage(cast)
    return cast


def staff_view(**extra) -> UsageFilters:
    return UsageFilters(start=START, end=END, **extra)


def test_totals_and_cost_per_model(seeded):
    by_model = selectors.usage_by_model(filters=staff_view())
    totals = selectors.usage_totals(by_model=by_model)

    # 7 rows in range; the one an hour before START is left out.
    assert totals["requests"] == 7
    assert totals["prompt_tokens"] == 100 + 200 + 300 + 1000 + 50 + 400 + 0 == 2050
    assert totals["completion_tokens"] == 20 + 80 + 100 + 500 + 0 + 200 == 900
    assert (totals["errors"], totals["refused"]) == (1, 1)
    # fast (no cached price: its 250 cached tokens cost the prompt price): 1,050 prompt at
    # $1/M + 400 completion at $4/M; deep: 200 uncached prompt at $10/M + 800 cached at
    # $1/M + 500 completion at $30/M.
    assert totals["cost"] == Decimal("0.00265") + Decimal("0.0178")
    assert totals["unpriced_models"] == ["sim-review"]
    assert [(r["tier"], r["model"], r["requests"], r["prompt_tokens"]) for r in by_model] == [
        ("deep", "sim-deep", 1, 1000),
        ("fast", "sim-fast", 5, 1050),
        ("review", "sim-review", 1, 0),
    ]


def test_cached_and_reasoning_tokens_per_tier_and_model_and_in_total(seeded):
    by_model = selectors.usage_by_model(filters=staff_view())
    totals = selectors.usage_totals(by_model=by_model)

    got = [
        (r["model"], r["cached_tokens"], r["cache_share"], r["reasoning_tokens"]) for r in by_model
    ]
    assert got == [
        ("sim-deep", 800, 800 / 1000, 300),
        ("sim-fast", 150 + 100, 250 / 1050, 50),
        ("sim-review", 0, None, 0),  # no prompt tokens: no share rather than 0 %
    ]
    assert (totals["cached_tokens"], totals["reasoning_tokens"]) == (1050, 350)
    assert totals["cache_share"] == pytest.approx(1050 / 2050)


def test_the_cached_price_bills_cached_tokens_instead_of_the_prompt_price():
    price = ModelPrice(
        model="m", prompt_usd_per_million=Decimal(2), completion_usd_per_million=Decimal(8),
        cached_prompt_usd_per_million=Decimal("0.5"),
    )  # fmt: skip
    row = {"prompt_tokens": 1_000_000, "cached_tokens": 600_000, "completion_tokens": 100_000}

    # 400k uncached at $2/M + 600k cached at $0.50/M + 100k completion at $8/M
    assert selectors.usage_cost(row, price) == Decimal("0.8") + Decimal("0.3") + Decimal("0.8")
    price.cached_prompt_usd_per_million = None  # blank: cached tokens cost the prompt price
    assert selectors.usage_cost(row, price) == Decimal("2") + Decimal("0.8")
    price.cached_prompt_usd_per_million = Decimal(0)  # free cache hits are a price too
    assert selectors.usage_cost(row, price) == Decimal("0.8") + Decimal("0.8")


def test_series_per_day_and_tier(seeded):
    series = selectors.usage_series(filters=staff_view())

    got = [
        (row["bucket"].day, row["tier"], row["requests"],
         row["prompt_tokens"] + row["completion_tokens"])
        for row in series
    ]  # fmt: skip
    assert got == [
        (2, "fast", 2, 400),
        (3, "deep", 1, 1500),
        (3, "fast", 1, 400),
        (4, "fast", 2, 650),
        (5, "review", 1, 0),
    ]


def test_a_short_range_is_bucketed_by_hour(seeded):
    filters = staff_view()
    day_one = UsageFilters(start=filters.start, end=filters.start.replace(hour=23))
    series = selectors.usage_series(filters=day_one)
    assert [(row["bucket"].hour, row["requests"]) for row in series] == [(10, 1), (11, 1)]


def test_errors_by_kind(seeded):
    errors = selectors.usage_errors(filters=staff_view())
    assert [(r["status"], r["error_kind"], r["requests"]) for r in errors] == [
        ("error", "model_down", 1),
        ("refused", "rpm", 1),
    ]


def test_latency_percentiles_per_tier_and_model(seeded):
    latency = {(r["tier"], r["model"]): r for r in selectors.usage_latency(filters=staff_view())}

    # fast, completed: first tokens 100, 200, 300, 400 ms; rates 100, 200, 200, 200 tokens/s.
    # Percentiles come from the fixed buckets (editor/usage/buckets.py): the value at rank
    # floor(p·(n-1)) is placed evenly inside its bucket.
    fast = latency["fast", "sim-fast"]
    assert fast["ttft_p50"] == 200 + (250 - 200) * 0.5  # rank 1.5: 200 ms, in [200, 250)
    assert fast["ttft_p95"] == 300 + (400 - 300) * 0.5  # rank 2.85: 300 ms, in [300, 400)
    assert fast["tps_p50"] == 200 + (250 - 200) * (0.5 / 3)  # the first of three in [200, 250)
    # ... which is within a bucket of percentile_cont (250, 385 and 200)
    assert abs(fast["ttft_p50"] - 250) <= 250 - 200
    assert abs(fast["ttft_p95"] - 385) <= 400 - 300
    assert abs(fast["tps_p50"] - 200) <= 250 - 200
    deep = latency["deep", "sim-deep"]
    assert (deep["ttft_p50"], deep["ttft_p95"], deep["tps_p50"]) == (1125, 1125, 55)
    assert ("review", "sim-review") not in latency  # refused: no completed call


def test_ttft_histogram(seeded):
    histogram = selectors.usage_ttft_histogram(filters=staff_view())
    assert histogram["labels"][2] == "< 150 ms" and histogram["labels"][-1] == "≥ 5000 ms"
    assert histogram["tiers"]["fast"] == [0, 0, 1, 0, 1, 2, 0, 0, 0, 0]
    assert histogram["tiers"]["deep"] == [0, 0, 0, 0, 0, 0, 0, 1, 0, 0]


def test_top_people_and_teams_by_tokens(seeded):
    users = selectors.usage_top_users(filters=staff_view())
    teams = selectors.usage_top_teams(filters=staff_view())
    assert [(r["name"], r["requests"], r["tokens"]) for r in users] == [
        ("alice", 2, 1900),
        ("mallory", 2, 600),
        ("bob", 3, 450),
    ]
    assert [(r["name"], r["requests"], r["tokens"]) for r in teams] == [
        ("Acme", 5, 2350),
        ("Globex", 2, 600),
    ]


def test_acceptance_rate(seeded):
    everyone = completion_acceptance(filters=staff_view())
    assert (everyone["shown"], everyone["accepted"], everyone["rate"]) == (4, 2, 0.5)
    acme = completion_acceptance(filters=staff_view(scope=(seeded.team.pk,)))
    assert (acme["shown"], acme["accepted"], acme["dismissed"]) == (3, 1, 1)
    assert acme["rate"] == 1 / 3


def test_an_owners_scope_sees_only_their_team(seeded):
    acme = staff_view(scope=(seeded.team.pk,))
    totals = selectors.usage_totals(by_model=selectors.usage_by_model(filters=acme))
    assert (totals["requests"], totals["prompt_tokens"], totals["completion_tokens"]) == (
        5, 1650, 700,
    )  # fmt: skip
    assert [r["name"] for r in selectors.usage_top_users(filters=acme)] == ["alice", "bob"]
    assert [r["name"] for r in selectors.usage_top_teams(filters=acme)] == ["Acme"]
    fast = selectors.usage_latency(filters=acme)[1]
    assert fast["ttft_p95"] == 200 + (250 - 200) * 0.5  # 100, 200, 300 ms: rank 1.9 is 200


def test_filters_narrow_every_figure(seeded):
    only = staff_view(user_id=seeded.bob.pk, feature="qa")
    totals = selectors.usage_totals(by_model=selectors.usage_by_model(filters=only))
    assert (totals["requests"], totals["errors"], totals["prompt_tokens"]) == (1, 1, 50)
    assert completion_acceptance(filters=only)["shown"] == 0
    deep = staff_view(tier="deep")
    assert completion_acceptance(filters=deep)["shown"] == 0


def test_the_percentile_fallback_agrees_with_the_database_on_every_engine(seeded):
    # Many groups and uneven sizes, so interpolation is exercised off the whole numbers.
    values = [3.5, 1.25, 9.0, 7.75, 2.0, 11.5, 4.0, 6.25, 8.5, 0.5, 10.0]
    for n in range(1, len(values) + 1):
        for value in values[:n]:
            UsageEvent.objects.create(
                tier="fast", model=f"m{n}", feature="qa", status="ok", ttft_ms=value,
                duration_ms=1, tokens_per_s=value * 3,
            )  # fmt: skip
    events = UsageEvent.objects.filter(model__startswith="m")
    specs = [("p50", "ttft_ms", 0.5), ("p95", "ttft_ms", 0.95), ("p10", "tokens_per_s", 0.1)]

    fallback = percentiles_by_group(events, group_by=("model",), specs=specs, native=False)

    for n in range(1, len(values) + 1):
        ordered = sorted(values[:n])
        for name, fraction, scale in (("p50", 0.5, 1), ("p95", 0.95, 1), ("p10", 0.1, 3)):
            pos = fraction * (n - 1)
            lo = int(pos)
            hi = min(lo + 1, n - 1)
            expected = ordered[lo] * scale + (ordered[hi] * scale - ordered[lo] * scale) * (
                pos - lo
            )
            assert fallback[(f"m{n}",)][name] == expected, (n, name)
    if connection.vendor == "postgresql":
        native = percentiles_by_group(events, group_by=("model",), specs=specs, native=True)
        assert native == fallback


def test_people_and_rooms_active_now_come_from_the_presence_hashes(cast, settings):
    import json
    import time
    import uuid

    from editor.core.redis_clients import sync_client
    from editor.usage.activity import activity_now

    settings.FLINT_CHANNEL_PREFIX = f"activity-{uuid.uuid4().hex[:8]}"
    client = sync_client()
    prefix = f"{settings.FLINT_CHANNEL_PREFIX}:presence:room:"
    now = time.time()
    entries = {
        cast.room.pk: [(cast.bob, now), (cast.bob, now), (cast.carol, now), (cast.dave, now - 600)],
        cast.other_room.pk: [(cast.mallory, now)],
    }
    for room_id, people in entries.items():
        for n, (user, seen) in enumerate(people):
            value = json.dumps({"who": {"id": user.pk}, "seen": seen})
            client.hset(f"{prefix}{room_id}", f"c{n}", value)

    # bob twice (two tabs) is one person; dave's entry is stale (a dead process)
    assert activity_now(scope=None) == {"people": 3, "rooms": 2}
    assert activity_now(scope=(cast.team.pk,)) == {"people": 2, "rooms": 1}
    assert activity_now(scope=None, team_id=cast.other_team.pk) == {"people": 1, "rooms": 1}

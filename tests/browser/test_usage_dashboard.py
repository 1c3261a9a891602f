"""Chromium, through the real daphne: a staff member opens the usage dashboard with a week
of seeded usage, sees the charts drawn and the same totals as the database, and exports CSV.
"""

from __future__ import annotations

import json
import random
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from editor.assist.models import CompletionFeedback
from editor.usage.models import ModelPrice, UsageEvent
from editor.usage.rollups import rollup_rebuild
from tests.support.browser import screenshot_path

pytestmark = [pytest.mark.live, pytest.mark.browser]

# tier, model, feature, ttft ms (centre), completion tokens (centre), share of requests
# (cached prompt share and reasoning share of the completion are per tier, in CACHING)
PROFILES = [
    ("fast", "gpt-5.3-codex-spark", "inline_completion", 110, 40, 0.55),
    ("fast", "gpt-5.3-codex-spark", "quick_edit", 130, 300, 0.15),
    ("fast", "gpt-5.3-codex-spark", "qa", 140, 450, 0.12),
    ("deep", "gpt-5.3-codex", "task", 900, 2500, 0.10),
    ("review", "gpt-5-mini", "review", 350, 600, 0.08),
]


# tier: (share of the prompt read from the cache, share of the completion spent reasoning)
CACHING = {"fast": (0.6, 0.0), "deep": (0.85, 0.4), "review": (0.3, 0.2)}


def seed_week(cast) -> int:
    """About 1,500 calls over the last 7 days, busier in working hours; returns the count."""
    rng = random.Random(7)
    now = timezone.now()
    people = [
        (cast.alice, cast.team, cast.room), (cast.bob, cast.team, cast.room),
        (cast.dave, cast.team, cast.room), (cast.mallory, cast.other_team, cast.other_room),
    ]  # fmt: skip
    rows = []
    for hour in range(7 * 24):
        at = now - timedelta(hours=hour, minutes=rng.randint(0, 59))
        busy = 9 <= at.hour <= 18 and at.weekday() < 5
        for _ in range(rng.randint(6, 16) if busy else rng.randint(0, 3)):
            tier, model, feature, ttft, completion, _ = rng.choices(
                PROFILES, weights=[p[5] for p in PROFILES]
            )[0]
            user, team, room = rng.choice(people)
            first = max(20.0, rng.gauss(ttft, ttft * 0.35))
            out = max(1, int(rng.gauss(completion, completion * 0.4)))
            rate = {"fast": 1000, "deep": 70, "review": 250}[tier] * rng.uniform(0.7, 1.1)
            status, kind = "ok", ""
            cache, thinking = CACHING[tier]
            roll = rng.random()
            if roll < 0.02:
                status, kind = "error", rng.choice(["model_down", "timeout", "rate_limited"])
            elif roll < 0.03:
                status, kind = "refused", "team_budget"
            rows.append(
                UsageEvent(
                    user=user,
                    team=team,
                    room=room,
                    tier=tier,
                    model=model,
                    feature=feature,
                    prompt_tokens=rng.randint(300, 6000) if status != "refused" else 0,
                    completion_tokens=out if status == "ok" else 0,
                    reasoning_tokens=int(out * thinking * rng.uniform(0.5, 1.5))
                    if status == "ok"
                    else 0,
                    ttft_ms=first if status == "ok" else None,
                    duration_ms=first + out / rate * 1000,
                    tokens_per_s=rate if status == "ok" else None,
                    status=status,
                    error_kind=kind,
                    request_id=f"r{len(rows)}",
                )
            )
            row = rows[-1]
            row.cached_tokens = int(row.prompt_tokens * cache * rng.uniform(0.6, 1.0))
            row._at = at
    UsageEvent.objects.bulk_create(rows)
    # auto_now_add stamped them all "now": spread them back over the week.
    ids = UsageEvent.objects.order_by("id").values_list("id", flat=True)
    stamped = [UsageEvent(pk=pk, created_at=row._at) for pk, row in zip(ids, rows, strict=True)]
    UsageEvent.objects.bulk_update(stamped, ["created_at"], batch_size=500)
    # bulk_create skips usage_record, so the hourly rollups are built as a back-fill would.
    now = timezone.now()
    rollup_rebuild(start=now - timedelta(days=8), end=now + timedelta(hours=1))
    for model, prompt, completion in (
        ("gpt-5.3-codex-spark", "0.50", "2.00"),
        ("gpt-5.3-codex", "1.25", "10.00"),
        ("gpt-5-mini", "0.25", "2.00"),
    ):
        ModelPrice.objects.create(
            model=model,
            prompt_usd_per_million=Decimal(prompt),
            completion_usd_per_million=Decimal(completion),
        )
    for event in UsageEvent.objects.filter(feature="inline_completion", status="ok"):
        CompletionFeedback.objects.create(
            user=event.user, room=event.room, request_id=event.request_id, event="shown"
        )
        if rng.random() < 0.34:
            CompletionFeedback.objects.create(
                user=event.user, room=event.room, request_id=event.request_id, event="accepted"
            )
    return len(rows)


def be_present(cast) -> None:
    """Two people in the Compiler room right now, as the room socket records them."""
    from django.conf import settings

    from editor.core.redis_clients import sync_client

    client = sync_client()
    key = f"{settings.FLINT_CHANNEL_PREFIX}:presence:room:{cast.room.pk}"
    for n, user in enumerate((cast.alice, cast.bob)):
        client.hset(key, f"conn{n}", json.dumps({"who": {"id": user.pk}, "seen": time.time()}))


def per_model_caching() -> list[tuple[str, str, int, int, int]]:
    rows = (
        UsageEvent.objects.values_list("tier", "model")
        .annotate(Sum("prompt_tokens"), Sum("cached_tokens"), Sum("reasoning_tokens"))
        .order_by("tier", "model")
    )
    return list(rows)


def test_staff_dashboard_with_a_week_of_usage(
    live_flint, transactional_db, allow_sync_orm, cast, request, browser
):
    total = seed_week(cast)
    be_present(cast)
    carol = cast.carol
    carol.is_staff = True
    carol.save(update_fields=["is_staff"])

    page = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
    page.goto(live_flint.url + "accounts/login/")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill(cast.password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Usage").click()

    expect(page.get_by_role("heading", name="Model usage")).to_be_visible()
    expect(page.locator('[data-kpi="requests"]')).to_have_text(f"{total:,}")
    expect(page.locator('[data-kpi="now"]')).to_contain_text("2 people")
    # Chart.js drew into each canvas (it sizes them and leaves them non-blank).
    # Chart.js draws after the figures arrive (and animates): wait for ink, up to 5 s.
    for canvas in ("chart-tokens", "chart-requests", "chart-ttft", "chart-cache"):
        try:
            page.wait_for_function(
                """(id) => { const c = document.getElementById(id);
                    if (!c || !c.width || !c.height) return false;
                    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                    for (let i = 3; i < d.length; i += 4) if (d[i]) return true;
                    return false; }""",
                arg=canvas,
                timeout=5_000,
            )
        except PlaywrightTimeout:
            pytest.fail(f"{canvas} is blank")
    expect(page.locator('[data-table="latency"] tbody tr')).to_have_count(3)
    # The cache-hit share and reasoning tokens, per tier and model and in total,
    # as the database sums them.
    rows = page.locator('[data-table="cache"] tbody tr')
    expected = per_model_caching()  # the table's order: by tier, then model
    expect(rows).to_have_count(len(expected))
    for i, (tier, model, prompt, cached, reasoning) in enumerate(expected):
        row = rows.nth(i)
        expect(row.locator("td.mono")).to_have_text(model)
        expect(row.locator(".tier")).to_have_text(tier)
        expect(row.locator('[data-cell="cache-share"]')).to_have_text(
            f"{cached / prompt * 100:.1f}%"
        )
        expect(row.locator('[data-cell="reasoning"]')).to_have_text(f"{reasoning:,}")
    totals = UsageEvent.objects.aggregate(
        prompt=Sum("prompt_tokens"), cached=Sum("cached_tokens"),
        reasoning=Sum("reasoning_tokens"),
    )  # fmt: skip
    expect(page.locator('[data-kpi="cache"]')).to_have_text(
        f"{totals['cached'] / totals['prompt'] * 100:.1f}%"
    )
    expect(page.locator('[data-kpi="reasoning"]')).to_have_text(
        f"{totals['reasoning']:,} reasoning"
    )
    page.screenshot(path=screenshot_path(request, "usage-dashboard"), full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    lines = open(download.value.path()).read().splitlines()  # noqa: SIM115
    assert len(lines) == total + 1

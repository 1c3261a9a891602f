"""A small, known set of usage rows: every dashboard figure is worked out by hand from it."""

from __future__ import annotations

# ruff: noqa: E501 - one usage row per line reads as a table
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from editor.assist.models import CompletionFeedback
from editor.usage.models import ModelPrice, UsageEvent
from editor.usage.rollups import rollup_rebuild
from editor.usage.services import usage_record

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
END = START + timedelta(days=7)


def day(n: int, hour: int = 10) -> datetime:
    return START + timedelta(days=n, hours=hour)


def seed_usage(cast) -> None:
    """7 rows in range, one before it; prices for two of the three models (a cached-prompt
    price for sim-deep only: sim-fast's cached tokens cost its prompt price); feedback."""
    acme, globex = cast.team.pk, cast.other_team.pk
    # user, team, room, tier, model, feature, status, prompt, completion, cached (of the
    # prompt), reasoning (of the completion), ttft, duration, error kind, time
    rows = [
        (cast.bob, acme, cast.room, "fast", "sim-fast", "inline_completion", "ok", 100, 20, 0, 0, 100, 300, "", day(0, 10)),
        (cast.bob, acme, cast.room, "fast", "sim-fast", "quick_edit", "ok", 200, 80, 150, 0, 200, 600, "", day(0, 11)),
        (cast.alice, acme, cast.room, "fast", "sim-fast", "qa", "ok", 300, 100, 0, 0, 300, 800, "", day(1)),
        (cast.alice, acme, cast.room, "deep", "sim-deep", "task", "ok", 1000, 500, 800, 300, 1000, 11000, "", day(1)),
        (cast.bob, acme, cast.room, "fast", "sim-fast", "qa", "error", 50, 0, 0, 0, None, 10, "model_down", day(2)),
        (cast.mallory, globex, cast.other_room, "fast", "sim-fast", "qa", "ok", 400, 200, 100, 50, 400, 1400, "", day(2)),
        (cast.mallory, globex, cast.other_room, "review", "sim-review", "review", "refused", 0, 0, 0, 0, None, 0, "rpm", day(3)),
        (cast.bob, acme, cast.room, "fast", "sim-fast", "qa", "ok", 9999, 9999, 9000, 900, 5, 10, "", START - timedelta(hours=1)),
    ]  # fmt: skip
    for (
        user,
        team,
        room,
        tier,
        model,
        feature,
        status,
        p,
        c,
        cached,
        rs,
        ttft,
        dur,
        kind,
        at,
    ) in rows:
        event = usage_record(
            user=user, team_id=team, room_id=room.pk, tier=tier, model=model, feature=feature,
            status=status, prompt_tokens=p, completion_tokens=c, cached_tokens=cached,
            reasoning_tokens=rs, tokens_estimated=False,
            ttft_ms=ttft, duration_ms=dur, error_kind=kind, request_id=f"r{len(rows)}-{at:%d%H}",
        )  # fmt: skip
        UsageEvent.objects.filter(pk=event.pk).update(created_at=at)
    # The rows were moved back in time after usage_record rolled them up at the present
    # hour: a back-fill, so the rollups of both places are rebuilt from the rows.
    rollup_rebuild(start=START - timedelta(days=1), end=timezone.now() + timedelta(hours=1))
    ModelPrice.objects.create(
        model="sim-fast", prompt_usd_per_million=Decimal(1), completion_usd_per_million=Decimal(4)
    )
    ModelPrice.objects.create(
        model="sim-deep",
        prompt_usd_per_million=Decimal(10),
        cached_prompt_usd_per_million=Decimal(1),
        completion_usd_per_million=Decimal(30),
    )
    feedback = [
        (cast.bob, cast.room, "c1", "shown"), (cast.bob, cast.room, "c1", "accepted"),
        (cast.bob, cast.room, "c2", "shown"), (cast.bob, cast.room, "c2", "dismissed"),
        (cast.bob, cast.room, "c3", "shown"),
        (cast.mallory, cast.other_room, "c4", "shown"),
        (cast.mallory, cast.other_room, "c4", "accepted"),
    ]  # fmt: skip
    for user, room, request_id, event in feedback:
        row = CompletionFeedback.objects.create(
            user=user, room=room, request_id=request_id, event=event
        )
        CompletionFeedback.objects.filter(pk=row.pk).update(created_at=day(1))

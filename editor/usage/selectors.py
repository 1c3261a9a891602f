"""Reads for the usage dashboard: every figure is aggregated by the database.

A dashboard is one `UsageFilters` (a time range, the teams the viewer may see, and the
optional team/user/tier/model/feature filters); each selector turns it into one grouped
query. The queries are written to need only the indexes in models.py, and the benchmark
(bench/usage_bench.py) times them over a million rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDay, TruncHour
from django.utils import timezone

from editor.core.errors import Forbidden, NotAuthenticated
from editor.rooms.models import Team, TeamMembership
from editor.rooms.permissions import usage_team_scope
from editor.usage.models import ModelPrice, UsageEvent, UsageStatus
from editor.usage.percentiles import percentiles_by_group

RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
# Upper edges (ms) of the time-to-first-token histogram; the last bucket is open.
TTFT_EDGES = (50, 100, 150, 200, 300, 500, 1000, 2000, 5000)
TOP_LIMIT = 10


@dataclasses.dataclass(frozen=True)
class UsageFilters:
    start: datetime
    end: datetime
    scope: tuple[int, ...] | None = None  # team ids the viewer may see; None: every row
    team_id: int | None = None
    user_id: int | None = None
    tier: str = ""
    model: str = ""
    feature: str = ""

    @property
    def hourly(self) -> bool:
        return self.end - self.start <= timedelta(days=2)


def usage_scope(*, user: AbstractBaseUser) -> tuple[int, ...] | None:
    """None for staff (everything); the ids of the teams a team owner owns; else refused."""
    if not (user and user.is_authenticated and user.is_active):
        raise NotAuthenticated("Log in first.")
    scope = usage_team_scope(user)
    if scope == ():
        raise Forbidden("The usage dashboard is for staff and team owners.")
    return scope


def usage_events(*, filters: UsageFilters) -> QuerySet[UsageEvent]:
    """The rows in range that the viewer may see, narrowed by the filters."""
    events = UsageEvent.objects.filter(
        created_at__gte=filters.start, created_at__lt=filters.end
    ).order_by()
    if filters.scope is not None:
        events = events.filter(team_id__in=filters.scope)
    if filters.team_id is not None:
        if filters.scope is not None and filters.team_id not in filters.scope:
            raise Forbidden("You can only see the usage of teams you own.")
        events = events.filter(team_id=filters.team_id)
    if filters.user_id is not None:
        events = events.filter(user_id=filters.user_id)
    for field in ("tier", "model", "feature"):
        if getattr(filters, field):
            events = events.filter(**{field: getattr(filters, field)})
    return events


def _tokens(prefix: str = "") -> dict[str, Any]:
    return {
        "requests": Count("id"),
        "prompt_tokens": Coalesce(Sum(f"{prefix}prompt_tokens"), 0),
        "completion_tokens": Coalesce(Sum(f"{prefix}completion_tokens"), 0),
    }


def usage_by_model(*, filters: UsageFilters) -> list[dict[str, Any]]:
    """Requests, tokens, errors and refusals per tier and model, with the estimated cost."""
    rows = list(
        usage_events(filters=filters)
        .values("tier", "model")
        .annotate(
            **_tokens(),
            errors=Count("id", filter=Q(status=UsageStatus.ERROR)),
            refused=Count("id", filter=Q(status=UsageStatus.REFUSED)),
        )
        .order_by("tier", "model")
    )
    prices = {price.model: price for price in ModelPrice.objects.all()}
    for row in rows:
        price = prices.get(row["model"])
        row["priced"] = price is not None
        row["cost"] = (
            (
                row["prompt_tokens"] * price.prompt_usd_per_million
                + row["completion_tokens"] * price.completion_usd_per_million
            )
            / 1_000_000
            if price
            else Decimal(0)
        )
    return rows


def usage_totals(*, by_model: list[dict[str, Any]]) -> dict[str, Any]:
    """The headline numbers, rolled up from the per-model groups (a handful of rows)."""
    keys = ("requests", "prompt_tokens", "completion_tokens", "errors", "refused", "cost")
    totals: dict[str, Any] = {key: sum(row[key] for row in by_model) for key in keys}
    totals["cost"] = Decimal(totals["cost"])
    totals["tokens"] = totals["prompt_tokens"] + totals["completion_tokens"]
    totals["unpriced_models"] = sorted({row["model"] for row in by_model if not row["priced"]})
    return totals


def usage_series(*, filters: UsageFilters) -> list[dict[str, Any]]:
    """Requests and tokens per hour (ranges up to 2 days) or per day, per tier."""
    trunc = TruncHour if filters.hourly else TruncDay
    return list(
        usage_events(filters=filters)
        .annotate(bucket=trunc("created_at"))
        .values("bucket", "tier")
        .annotate(**_tokens())
        .order_by("bucket", "tier")
    )


def usage_errors(*, filters: UsageFilters) -> list[dict[str, Any]]:
    """Failed and refused requests by kind, most frequent first."""
    return list(
        usage_events(filters=filters)
        .filter(status__in=[UsageStatus.ERROR, UsageStatus.REFUSED])
        .values("status", "error_kind")
        .annotate(requests=Count("id"))
        .order_by("-requests", "status", "error_kind")
    )


def usage_latency(*, filters: UsageFilters) -> list[dict[str, Any]]:
    """Time to first token p50/p95 and tokens/s p50 per tier and model (completed calls)."""
    completed = usage_events(filters=filters).filter(status=UsageStatus.OK)
    found = percentiles_by_group(
        completed,
        group_by=("tier", "model"),
        specs=(
            ("ttft_p50", "ttft_ms", 0.5),
            ("ttft_p95", "ttft_ms", 0.95),
            ("tps_p50", "tokens_per_s", 0.5),
        ),
    )
    return [{"tier": tier, "model": model, **found[tier, model]} for tier, model in sorted(found)]


def usage_ttft_histogram(*, filters: UsageFilters) -> dict[str, Any]:
    """Completed calls per time-to-first-token bucket and tier: {labels, tiers: {tier: [n]}}."""
    whens = [When(ttft_ms__lt=edge, then=Value(i)) for i, edge in enumerate(TTFT_EDGES)]
    rows = (
        usage_events(filters=filters)
        .filter(status=UsageStatus.OK, ttft_ms__isnull=False)
        .annotate(bucket=Case(*whens, default=Value(len(TTFT_EDGES)), output_field=IntegerField()))
        .values("tier", "bucket")
        .annotate(requests=Count("id"))
        .order_by("tier", "bucket")
    )
    labels = [f"< {edge} ms" for edge in TTFT_EDGES] + [f"≥ {TTFT_EDGES[-1]} ms"]
    tiers: dict[str, list[int]] = {}
    for row in rows:
        tiers.setdefault(row["tier"], [0] * len(labels))[row["bucket"]] = row["requests"]
    return {"labels": labels, "tiers": tiers}


def usage_top_users(*, filters: UsageFilters, limit: int = TOP_LIMIT) -> list[dict[str, Any]]:
    rows = usage_events(filters=filters).filter(user__isnull=False).values("user_id")
    return _named(_top(rows, "user_id", limit), "user_id", _usernames)


def usage_top_teams(*, filters: UsageFilters, limit: int = TOP_LIMIT) -> list[dict[str, Any]]:
    rows = usage_events(filters=filters).filter(team__isnull=False).values("team_id")
    return _named(_top(rows, "team_id", limit), "team_id", _team_names)


def _top(rows: QuerySet, key: str, limit: int) -> list[dict[str, Any]]:
    # Ranked by all tokens; the id breaks ties so the order is the same on every engine.
    ranked = (
        rows.annotate(**_tokens())
        .annotate(tokens=F("prompt_tokens") + F("completion_tokens"))
        .order_by("-tokens", key)
    )
    return list(ranked[:limit])


def _usernames(ids: set[int]) -> dict[int, str]:
    users = get_user_model().objects.filter(pk__in=ids)
    return {user.pk: user.get_username() for user in users}


def _team_names(ids: set[int]) -> dict[int, str]:
    return dict(Team.objects.filter(pk__in=ids).values_list("pk", "name"))


def _named(rows: list[dict[str, Any]], key: str, names) -> list[dict[str, Any]]:
    found = names({row[key] for row in rows})
    for row in rows:
        row["name"] = found.get(row[key], f"#{row[key]}")
    return rows


def completion_acceptance(*, filters: UsageFilters) -> dict[str, Any]:
    """Inline completions shown and accepted in range: the rate is accepted / shown.

    Feedback rows carry no tier or model: with those filters, only feedback on a
    completion whose usage row matches counts.
    """
    from editor.assist.models import CompletionFeedback, FeedbackEvent

    feedback = CompletionFeedback.objects.filter(
        created_at__gte=filters.start, created_at__lt=filters.end
    )
    if filters.scope is not None:
        feedback = feedback.filter(room__team_id__in=filters.scope)
    if filters.team_id is not None:
        feedback = feedback.filter(room__team_id=filters.team_id)
    if filters.user_id is not None:
        feedback = feedback.filter(user_id=filters.user_id)
    if filters.feature and filters.feature != "inline_completion":
        feedback = feedback.none()
    if filters.tier or filters.model:
        matching = usage_events(filters=filters).filter(feature="inline_completion")
        feedback = feedback.filter(request_id__in=matching.values("request_id"))
    counts = feedback.aggregate(
        shown=Count("id", filter=Q(event=FeedbackEvent.SHOWN)),
        accepted=Count("id", filter=Q(event=FeedbackEvent.ACCEPTED)),
        dismissed=Count("id", filter=Q(event=FeedbackEvent.DISMISSED)),
    )
    counts["rate"] = counts["accepted"] / counts["shown"] if counts["shown"] else None
    return counts


def usage_export_rows(*, filters: UsageFilters) -> Iterator[tuple]:
    """The filtered rows for CSV, oldest first, read in chunks (never all in memory)."""
    return (
        usage_events(filters=filters)
        .order_by("created_at", "id")
        .values_list(*EXPORT_FIELDS)
        .iterator(chunk_size=2000)
    )


EXPORT_FIELDS = (
    "created_at", "user__username", "team__name", "room__name", "tier", "model", "feature",
    "status", "error_kind", "prompt_tokens", "completion_tokens", "tokens_estimated",
    "ttft_ms", "duration_ms", "tokens_per_s", "task_id", "request_id",
)  # fmt: skip


def usage_filter_choices(*, filters: UsageFilters) -> dict[str, Any]:
    """What the filter form offers: only teams and people within the viewer's scope."""
    teams = (
        Team.objects.all() if filters.scope is None else Team.objects.filter(pk__in=filters.scope)
    )
    users = get_user_model().objects.filter(is_active=True)
    if filters.scope is not None:
        member_ids = TeamMembership.objects.filter(team_id__in=filters.scope).values("user_id")
        users = users.filter(pk__in=member_ids)
    return {
        "teams": list(teams.order_by("name").values_list("pk", "name")),
        "users": list(users.order_by("username").values_list("pk", "username")[:500]),
    }


def usage_dashboard(*, filters: UsageFilters) -> dict[str, Any]:
    """Every figure of the dashboard for one set of filters."""
    from editor.usage.activity import activity_now
    from editor.usage.tasks_summary import deep_tasks_summary

    by_model = usage_by_model(filters=filters)
    return {
        "by_model": by_model,
        "totals": usage_totals(by_model=by_model),
        "series": usage_series(filters=filters),
        "errors": usage_errors(filters=filters),
        "latency": usage_latency(filters=filters),
        "histogram": usage_ttft_histogram(filters=filters),
        "top_users": usage_top_users(filters=filters),
        "top_teams": usage_top_teams(filters=filters),
        "acceptance": completion_acceptance(filters=filters),
        "tasks": deep_tasks_summary(filters=filters),
        "now": activity_now(scope=filters.scope, team_id=filters.team_id),
        "generated_at": timezone.now(),
    }

"""Reads for the usage dashboard: every figure is aggregated by the database.

A dashboard is one `UsageFilters` (a time range, the teams the viewer may see, and the
optional team/user/tier/model/feature filters). Figures over a range read the hourly
rollups (UsageHour, UsageHourLatency: editor/usage/rollups.py) for its whole hours and
the raw rows for the partial hours at its edges, so counts and tokens are exact for any
range; percentiles come from fixed latency buckets (precision in buckets.py). The raw
rows remain the source of the CSV export. bench/usage_bench.py times it over 1M rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone

from editor.core.errors import Forbidden, NotAuthenticated
from editor.rooms.models import Team, TeamMembership
from editor.rooms.permissions import usage_team_scope
from editor.usage.buckets import METRICS, bucket_of, percentile
from editor.usage.models import ModelPrice, UsageEvent, UsageHour, UsageHourLatency, UsageStatus
from editor.usage.rollups import LATENCY_COLUMNS, hour_ceil, hour_floor, raw_latency

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


def _dimensions(rows: QuerySet, filters: UsageFilters) -> QuerySet:
    """The team/user/tier/model/feature filters, on raw rows or on rollups alike."""
    if filters.scope is not None:
        rows = rows.filter(team_id__in=filters.scope)
    if filters.team_id is not None:
        rows = rows.filter(team_id=filters.team_id)
    if filters.user_id is not None:
        rows = rows.filter(user_id=filters.user_id)
    for field in ("tier", "model", "feature"):
        if getattr(filters, field):
            rows = rows.filter(**{field: getattr(filters, field)})
    return rows


def _full_hours(filters: UsageFilters) -> tuple[datetime, datetime] | None:
    """The whole hours inside the range (read from the rollups); None when there are none."""
    first, last = hour_ceil(filters.start), hour_floor(filters.end)
    return (first, last) if first < last else None


def _edge_events(filters: UsageFilters) -> QuerySet[UsageEvent]:
    """The raw rows of the partial hours at the range's edges (or of all of a short range)."""
    events = usage_events(filters=filters)
    hours = _full_hours(filters)
    if hours is None:
        return events
    return events.filter(Q(created_at__lt=hours[0]) | Q(created_at__gte=hours[1]))


def _rollup(model, filters: UsageFilters) -> QuerySet:
    hours = _full_hours(filters)
    if hours is None:
        return model.objects.none()
    rows = model.objects.filter(hour__gte=hours[0], hour__lt=hours[1]).order_by()
    return _dimensions(rows, filters)


_CUBE_KEY = ("tier", "model", "team_id", "user_id", "status", "error_kind")


# Token sums carried by the cube and its folds: cached tokens are a part of the prompt
# tokens (read from the server's prompt cache), reasoning tokens a part of the completion.
TOKEN_SUMS = ("prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens")


def usage_cube(*, filters: UsageFilters) -> list[dict[str, Any]]:
    """Requests and tokens per tier, model, team, user and outcome: the grouped rows that
    the totals, per-model, error and top-N figures are folded from (one scan of the
    rollups plus the edges' raw rows). Team and user are 0 for none."""
    found: dict[tuple, dict[str, Any]] = {}
    sums = [Sum(name) for name in TOKEN_SUMS]
    rollup = _rollup(UsageHour, filters).values_list(*_CUBE_KEY).annotate(Sum("requests"), *sums)
    raw = (
        _edge_events(filters)
        .annotate(team_key=Coalesce("team_id", 0), user_key=Coalesce("user_id", 0))
        .values_list("tier", "model", "team_key", "user_key", "status", "error_kind")
        .annotate(Count("id"), *sums)
    )
    for rows in (rollup, raw):
        for values in rows:
            key, requests, tokens = values[:6], values[6], values[7:]
            row = found.setdefault(
                tuple(key),
                {**dict(zip(_CUBE_KEY, key, strict=True)), "requests": 0,
                 **dict.fromkeys(TOKEN_SUMS, 0)},
            )  # fmt: skip
            row["requests"] += requests
            for name, value in zip(TOKEN_SUMS, tokens, strict=True):
                row[name] += value or 0
    return list(found.values())


def _fold(cube: list[dict[str, Any]], key: tuple[str, ...]) -> dict[tuple, dict[str, Any]]:
    out: dict[tuple, dict[str, Any]] = {}
    for row in cube:
        k = tuple(row[name] for name in key)
        into = out.setdefault(
            k, {**dict(zip(key, k, strict=True)), "requests": 0, **dict.fromkeys(TOKEN_SUMS, 0),
                "errors": 0, "refused": 0},
        )  # fmt: skip
        for name in ("requests", *TOKEN_SUMS):
            into[name] += row[name]
        if row["status"] == UsageStatus.ERROR:
            into["errors"] += row["requests"]
        elif row["status"] == UsageStatus.REFUSED:
            into["refused"] += row["requests"]
    return out


def cache_share(cached: int, prompt: int) -> float | None:
    """The share of prompt tokens read from the prompt cache; None without prompt tokens."""
    return cached / prompt if prompt else None


def usage_cost(row: dict[str, Any], price: ModelPrice) -> Decimal:
    """The estimated cost of a group's tokens: cached prompt tokens at the cached price
    (the prompt price when the model has none), the rest of the prompt at the prompt
    price, the completion (its reasoning included) at the completion price."""
    cached_price = price.cached_prompt_usd_per_million
    if cached_price is None:
        cached_price = price.prompt_usd_per_million
    cached = min(row["cached_tokens"], row["prompt_tokens"])
    dollars_per_million = (
        (row["prompt_tokens"] - cached) * price.prompt_usd_per_million
        + cached * cached_price
        + row["completion_tokens"] * price.completion_usd_per_million
    )
    return dollars_per_million / 1_000_000


def usage_by_model(
    *, filters: UsageFilters, cube: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Requests, tokens (with the cache-hit share and reasoning tokens), errors and
    refusals per tier and model, with the estimated cost."""
    cube = usage_cube(filters=filters) if cube is None else cube
    rows = [row for _, row in sorted(_fold(cube, ("tier", "model")).items())]
    prices = {price.model: price for price in ModelPrice.objects.all()}
    for row in rows:
        price = prices.get(row["model"])
        row["priced"] = price is not None
        row["cost"] = usage_cost(row, price) if price else Decimal(0)
        row["cache_share"] = cache_share(row["cached_tokens"], row["prompt_tokens"])
    return rows


def usage_totals(*, by_model: list[dict[str, Any]]) -> dict[str, Any]:
    """The headline numbers, rolled up from the per-model groups (a handful of rows)."""
    keys = ("requests", *TOKEN_SUMS, "errors", "refused", "cost")
    totals: dict[str, Any] = {key: sum(row[key] for row in by_model) for key in keys}
    totals["cost"] = Decimal(totals["cost"])
    totals["tokens"] = totals["prompt_tokens"] + totals["completion_tokens"]
    totals["cache_share"] = cache_share(totals["cached_tokens"], totals["prompt_tokens"])
    totals["unpriced_models"] = sorted({row["model"] for row in by_model if not row["priced"]})
    return totals


def usage_series(*, filters: UsageFilters) -> list[dict[str, Any]]:
    """Requests and tokens per hour (ranges up to 2 days) or per day, per tier.

    Grouped by hour in the database (the rollups' own column; TruncHour on the edges'
    few raw rows) and folded into days here: SQLite truncates dates through a Python
    function per row, which cost 6 s over a million rows.
    """
    rollup = (
        _rollup(UsageHour, filters)
        .values_list("hour", "tier")
        .annotate(Sum("requests"), Sum("prompt_tokens"), Sum("completion_tokens"))
    )
    raw = (
        _edge_events(filters)
        .annotate(at=TruncHour("created_at"))
        .values_list("at", "tier")
        .annotate(Count("id"), Sum("prompt_tokens"), Sum("completion_tokens"))
    )
    found: dict[tuple, dict[str, Any]] = {}
    for rows in (rollup, raw):
        for hour, tier, requests, prompt, completion in rows:
            bucket = timezone.localtime(hour)
            if not filters.hourly:
                bucket = bucket.replace(hour=0)
            row = found.setdefault(
                (bucket, tier),
                {"bucket": bucket, "tier": tier, "requests": 0, "prompt_tokens": 0,
                 "completion_tokens": 0},
            )  # fmt: skip
            row["requests"] += requests
            row["prompt_tokens"] += prompt or 0
            row["completion_tokens"] += completion or 0
    return [found[key] for key in sorted(found)]


def usage_errors(
    *, filters: UsageFilters, cube: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Failed and refused requests by kind, most frequent first."""
    cube = usage_cube(filters=filters) if cube is None else cube
    failed = [r for r in cube if r["status"] in (UsageStatus.ERROR, UsageStatus.REFUSED)]
    rows = [
        {"status": status, "error_kind": kind, "requests": row["requests"]}
        for (status, kind), row in _fold(failed, ("status", "error_kind")).items()
    ]
    return sorted(rows, key=lambda r: (-r["requests"], r["status"], r["error_kind"]))


LatencyCounts = dict[tuple[str, str], dict[str, list[int]]]


def usage_latency_counts(*, filters: UsageFilters) -> LatencyCounts:
    """Completed calls per tier and model counted in the fixed latency buckets.

    From UsageHourLatency for the whole hours, plus the edges' raw rows bucketed by the
    database; with a person filter (that table has no user), from the person's raw rows.
    """
    if filters.user_id is not None:
        return raw_latency(usage_events(filters=filters), group_by=("tier", "model"))
    found = raw_latency(_edge_events(filters), group_by=("tier", "model"))
    rows = (
        _rollup(UsageHourLatency, filters)
        .values_list("tier", "model")
        .annotate(*(Sum(column) for column in LATENCY_COLUMNS))
    )
    for tier, model, *sums in rows:
        counts = found.setdefault(
            (tier, model), {m: [0] * (len(e) + 1) for m, (_, e) in METRICS.items()}
        )
        at = 0
        for metric in METRICS:
            for i in range(len(counts[metric])):
                counts[metric][i] += sums[at] or 0
                at += 1
    return found


def usage_latency(
    *, filters: UsageFilters, counts: LatencyCounts | None = None
) -> list[dict[str, Any]]:
    """Time to first token p50/p95 and tokens/s p50 per tier and model (completed calls),
    estimated from bucket counts (precision: editor/usage/buckets.py)."""
    counts = usage_latency_counts(filters=filters) if counts is None else counts
    ttft_edges, tps_edges = METRICS["ttft"][1], METRICS["tps"][1]
    return [
        {
            "tier": tier,
            "model": model,
            "ttft_p50": percentile(found["ttft"], ttft_edges, 0.5),
            "ttft_p95": percentile(found["ttft"], ttft_edges, 0.95),
            "tps_p50": percentile(found["tps"], tps_edges, 0.5),
        }
        for (tier, model), found in sorted(counts.items())
    ]


def usage_ttft_histogram(
    *, filters: UsageFilters, counts: LatencyCounts | None = None
) -> dict[str, Any]:
    """Completed calls per time-to-first-token bucket and tier: {labels, tiers: {tier: [n]}}.

    TTFT_EDGES are among the fine bucket edges, so each fine bucket falls in one of these.
    """
    counts = usage_latency_counts(filters=filters) if counts is None else counts
    fine = METRICS["ttft"][1]
    into = [0] + [bucket_of(edge, TTFT_EDGES) for edge in fine]  # by each bucket's low edge
    labels = [f"< {edge} ms" for edge in TTFT_EDGES] + [f"≥ {TTFT_EDGES[-1]} ms"]
    tiers: dict[str, list[int]] = {}
    for (tier, _), found in sorted(counts.items()):
        if not any(found["ttft"]):
            continue
        row = tiers.setdefault(tier, [0] * len(labels))
        for i, n in enumerate(found["ttft"]):
            row[into[i]] += n
    return {"labels": labels, "tiers": tiers}


def usage_top_users(
    *, filters: UsageFilters, limit: int = TOP_LIMIT, cube: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    return _named(_top(filters, cube, "user_id", limit), "user_id", _usernames)


def usage_top_teams(
    *, filters: UsageFilters, limit: int = TOP_LIMIT, cube: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    return _named(_top(filters, cube, "team_id", limit), "team_id", _team_names)


def _top(filters: UsageFilters, cube, key: str, limit: int) -> list[dict[str, Any]]:
    # Ranked by all tokens; the id breaks ties so the order is the same on every engine.
    cube = usage_cube(filters=filters) if cube is None else cube
    rows = [row for (pk,), row in _fold(cube, (key,)).items() if pk]  # 0: no user/team
    for row in rows:
        row["tokens"] = row["prompt_tokens"] + row["completion_tokens"]
    return sorted(rows, key=lambda r: (-r["tokens"], r[key]))[:limit]


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


# Figures other apps add to the dashboard: {name: reader of the filters}. The assist app
# adds the completions' acceptance (editor/assist/apps.py), so usage imports no feature.
DASHBOARD_FIGURES: dict[str, Callable[..., Any]] = {}


def dashboard_figure_add(name: str, read: Callable[..., Any]) -> None:
    """Add a figure to every dashboard: `read(filters=UsageFilters)` gives its value."""
    DASHBOARD_FIGURES[name] = read


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
    "status", "error_kind", "prompt_tokens", "completion_tokens", "cached_tokens",
    "reasoning_tokens", "tokens_estimated",
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

    cube = usage_cube(filters=filters)
    counts = usage_latency_counts(filters=filters)
    by_model = usage_by_model(filters=filters, cube=cube)
    return {
        "by_model": by_model,
        "totals": usage_totals(by_model=by_model),
        "series": usage_series(filters=filters),
        "errors": usage_errors(filters=filters, cube=cube),
        "latency": usage_latency(filters=filters, counts=counts),
        "histogram": usage_ttft_histogram(filters=filters, counts=counts),
        "top_users": usage_top_users(filters=filters, cube=cube),
        "top_teams": usage_top_teams(filters=filters, cube=cube),
        **{name: read(filters=filters) for name, read in DASHBOARD_FIGURES.items()},
        "tasks": deep_tasks_summary(filters=filters),
        "now": activity_now(scope=filters.scope, team_id=filters.team_id),
        "generated_at": timezone.now(),
    }

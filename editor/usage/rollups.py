"""The hourly rollups (UsageHour, UsageHourLatency): kept beside every usage row, rebuilt
from the rows for a range.

`rollup_add` runs in usage_record's transaction: one `INSERT … ON CONFLICT DO UPDATE`
per table that adds the row to its hour (the same statement on PostgreSQL and SQLite,
atomic on both, so parallel writers never lose an increment or trip on a duplicate key).
`rollup_rebuild` recomputes whole hours from the raw rows (back-fills, a bulk import, the
benchmark's seed); `raw_hours` and `raw_latency` are the same aggregations over any set
of raw rows, which the dashboard also uses for the partial hours at a range's edges.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncHour

from editor.usage.buckets import METRICS, bucket_case, bucket_of, columns
from editor.usage.models import UsageEvent, UsageHour, UsageHourLatency, UsageStatus

HOUR_KEY = ("hour", "team_id", "user_id", "tier", "model", "feature", "status", "error_kind")
HOUR_SUMS = (
    "requests", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens",
    "duration_ms",
)  # fmt: skip
LATENCY_KEY = ("hour", "team_id", "tier", "model", "feature")
LATENCY_COLUMNS = tuple(c for metric in METRICS for c in columns(metric))


def hour_floor(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def hour_ceil(at: datetime) -> datetime:
    floor = hour_floor(at)
    return floor if floor == at else floor + timedelta(hours=1)


def _upsert_sql(table: str, key: Iterable[str], names: Iterable[str], add: Iterable[str]) -> str:
    qn = connection.ops.quote_name
    key, names = list(key), list(names)
    increments = ", ".join(f"{qn(c)} = {qn(table)}.{qn(c)} + excluded.{qn(c)}" for c in add)
    columns_sql = ", ".join(qn(c) for c in names)
    marks = ", ".join(["%s"] * len(names))
    conflict = ", ".join(qn(c) for c in key)
    # Identifiers are the models' own quoted names; every value is a parameter.
    sql = f"INSERT INTO {qn(table)} ({columns_sql}) VALUES ({marks}) "  # noqa: S608
    return sql + f"ON CONFLICT ({conflict}) DO UPDATE SET {increments}"


def _hour_param(hour: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(hour)


def rollup_add(*, event: UsageEvent) -> None:
    """Add one new usage row to its hour (call inside the transaction that wrote it)."""
    hour = _hour_param(hour_floor(event.created_at))
    key = (hour, event.team_id or 0, event.user_id or 0, event.tier, event.model,
           event.feature, event.status, event.error_kind)  # fmt: skip
    sums = (1, event.prompt_tokens, event.completion_tokens, event.cached_tokens,
            event.reasoning_tokens, event.duration_ms)  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            _upsert_sql(UsageHour._meta.db_table, HOUR_KEY, HOUR_KEY + HOUR_SUMS, HOUR_SUMS),
            [*key, *sums],
        )
        if event.status != UsageStatus.OK:
            return
        counted = []
        for metric, (field, edges) in METRICS.items():
            value = getattr(event, field)
            if value is not None:
                counted.append(columns(metric)[bucket_of(value, edges)])
        if not counted:
            return
        values = [1 if c in counted else 0 for c in LATENCY_COLUMNS]
        cursor.execute(
            _upsert_sql(
                UsageHourLatency._meta.db_table,
                LATENCY_KEY,
                LATENCY_KEY + LATENCY_COLUMNS,
                counted,
            ),
            [hour, event.team_id or 0, event.tier, event.model, event.feature, *values],
        )


def raw_hours(events: QuerySet[UsageEvent]) -> QuerySet:
    """Raw rows aggregated like UsageHour (team and user 0 for none)."""
    return (
        events.order_by()
        .annotate(hour=TruncHour("created_at"), team_key=Coalesce("team_id", 0),
                  user_key=Coalesce("user_id", 0))
        .values("hour", "team_key", "user_key", "tier", "model", "feature", "status", "error_kind")
        .annotate(
            requests=Count("id"),
            prompt=Coalesce(Sum("prompt_tokens"), 0),
            completion=Coalesce(Sum("completion_tokens"), 0),
            cached=Coalesce(Sum("cached_tokens"), 0),
            reasoning=Coalesce(Sum("reasoning_tokens"), 0),
            duration=Coalesce(Sum("duration_ms"), 0.0),
        )
    )  # fmt: skip


def raw_latency(
    events: QuerySet[UsageEvent], *, group_by: tuple[str, ...]
) -> dict[tuple, dict[str, list[int]]]:
    """{group: {metric: bucket counts}} of the completed raw rows, bucketed by the database."""
    found: dict[tuple, dict[str, list[int]]] = {}
    completed = events.order_by().filter(status=UsageStatus.OK)
    for metric, (field, edges) in METRICS.items():
        rows = (
            completed.filter(**{f"{field}__isnull": False})
            .annotate(bucket=bucket_case(field, edges))
            .values_list(*group_by, "bucket")
            .annotate(n=Count("id"))
        )
        for *group, bucket, n in rows:
            counts = found.setdefault(
                tuple(group), {m: [0] * (len(e) + 1) for m, (_, e) in METRICS.items()}
            )
            counts[metric][bucket] += n
    return found


def _hour_sql(column: str) -> str:
    # Both engines keep the time in UTC here (Django's connections run in UTC; SQLite
    # stores "YYYY-MM-DD HH:MM:SS[.ffffff]" text, which reads back as an aware datetime).
    if connection.vendor == "postgresql":
        return f"date_trunc('hour', {column})"
    return f"strftime('%%Y-%%m-%%d %%H:00:00', {column})"


def _bucket_sql(column: str, edges: tuple[float, ...]) -> str:
    whens = " ".join(f"WHEN {column} < {edge!r} THEN {i}" for i, edge in enumerate(edges))
    return f"CASE WHEN {column} IS NULL THEN -1 {whens} ELSE {len(edges)} END"


@transaction.atomic
def rollup_rebuild(*, start: datetime, end: datetime) -> dict[str, int]:
    """Recompute the rollups of every hour touching [start, end) from the raw rows.

    For back-fills and bulk imports; run it on hours that are no longer being written
    (a row recorded in an hour while it is rebuilt may be counted twice or not at all).
    Two INSERT … SELECT … GROUP BY statements: the rows never travel through Python.
    """
    start, end = hour_floor(start), hour_ceil(end)
    UsageHour.objects.filter(hour__gte=start, hour__lt=end).delete()
    UsageHourLatency.objects.filter(hour__gte=start, hour__lt=end).delete()
    qn = connection.ops.quote_name
    source = qn(UsageEvent._meta.db_table)
    created = qn("created_at")
    in_range = f"{created} >= %s AND {created} < %s"
    params = [_hour_param(start), _hour_param(end)]
    hour_columns = ", ".join(qn(c) for c in HOUR_KEY + HOUR_SUMS)
    # Identifiers are the models' quoted names and the edges are constants of buckets.py;
    # the range is passed as parameters.
    hours_sql = f"""
        INSERT INTO {qn(UsageHour._meta.db_table)} ({hour_columns})
        SELECT {_hour_sql(created)}, COALESCE({qn("team_id")}, 0), COALESCE({qn("user_id")}, 0),
               tier, model, feature, status, error_kind, COUNT(*), SUM(prompt_tokens),
               SUM(completion_tokens), SUM(cached_tokens), SUM(reasoning_tokens),
               SUM(duration_ms)
        FROM {source} WHERE {in_range}
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    """  # noqa: S608
    counts = ", ".join(
        f"SUM(CASE WHEN b_{metric} = {i} THEN 1 ELSE 0 END)"
        for metric in METRICS
        for i in range(len(columns(metric)))
    )
    buckets = ", ".join(
        f"{_bucket_sql(qn(field), edges)} AS b_{metric}"
        for metric, (field, edges) in METRICS.items()
    )
    fields = " OR ".join(f"{qn(field)} IS NOT NULL" for field, _ in METRICS.values())
    latency_columns = ", ".join(qn(c) for c in LATENCY_KEY + LATENCY_COLUMNS)
    latency_sql = f"""
        INSERT INTO {qn(UsageHourLatency._meta.db_table)} ({latency_columns})
        SELECT h, t, tier, model, feature, {counts}
        FROM (
            SELECT {_hour_sql(created)} AS h, COALESCE({qn("team_id")}, 0) AS t, tier,
                   model, feature, {buckets}
            FROM {source}
            WHERE {in_range} AND status = %s AND ({fields})
        ) bucketed
        GROUP BY h, t, tier, model, feature
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(hours_sql, params)
        hours = cursor.rowcount
        cursor.execute(latency_sql, [*params, UsageStatus.OK])
        latency = cursor.rowcount
    return {"hours": hours, "latency": latency}

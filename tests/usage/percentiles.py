"""Percentiles per group, computed by the database: PostgreSQL's percentile_cont, or a
window-function query that gives the same answer anywhere (SQLite).

Both follow percentile_cont's definition: over the n non-null values of a group in
order, position p·(n-1); the value at its floor, plus the fraction of the way to the next
one. The fallback ranks each group's values with ROW_NUMBER() in one pass, keeps the two
rows around the position and interpolates in SQL. p is cast to a double: Django binds
parameters as literals, which PostgreSQL reads as numeric, and only double-precision
arithmetic on both engines gives the same answer as percentile_cont to the last bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Aggregate, FloatField, QuerySet


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate: percentile_cont(p) WITHIN GROUP (ORDER BY x)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: str, *, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("a percentile is between 0 and 1")
        super().__init__(expression, fraction=float(fraction), **extra)

    def as_sql(self, compiler, connection, **extra_context):
        # float8 cast: the same arithmetic as the fallback's float parameter.
        extra_context["fraction"] = f"CAST({self.extra['fraction']!r} AS DOUBLE PRECISION)"
        return super().as_sql(compiler, connection, **extra_context)


Spec = tuple[str, str, float]  # (output name, column, fraction)


def percentiles_by_group(
    queryset: QuerySet,
    *,
    group_by: Sequence[str],
    specs: Sequence[Spec],
    native: bool | None = None,
) -> dict[tuple, dict[str, float | None]]:
    """{group values: {name: percentile}} for each group of `queryset` (already filtered).

    `native` None picks percentile_cont on PostgreSQL and the window query elsewhere;
    tests pass False on PostgreSQL to check that both give the same numbers.
    """
    if native is None:
        native = connection.vendor == "postgresql"
    if native:
        rows = (
            queryset.order_by()
            .values(*group_by)
            .annotate(**{name: PercentileCont(col, fraction=p) for name, col, p in specs})
        )
        return {
            tuple(row[g] for g in group_by): {name: row[name] for name, _, _ in specs}
            for row in rows
        }
    result: dict[tuple, dict[str, float | None]] = {}
    for name, column, fraction in specs:
        for key, value in _window_percentile(queryset, group_by, column, fraction):
            result.setdefault(key, {n: None for n, _, _ in specs})[name] = value
    return result


def _window_percentile(
    queryset: QuerySet, group_by: Sequence[str], column: str, fraction: float
) -> list[tuple[tuple, float]]:
    inner = queryset.order_by().filter(**{f"{column}__isnull": False}).values(*group_by, column)
    sql, params = inner.query.sql_with_params()
    qn = connection.ops.quote_name
    groups = ", ".join(qn(g) for g in group_by)
    value = qn(column)
    # lo = floor(p·(n-1)), spelled for both engines: SQLite's cast truncates, PostgreSQL's
    # rounds (and SQLite may be built without floor()).
    query = f"""
        SELECT {groups},
               MAX(CASE WHEN i = lo THEN v END)
               + (COALESCE(MAX(CASE WHEN i = lo + 1 THEN v END), MAX(CASE WHEN i = lo THEN v END))
                  - MAX(CASE WHEN i = lo THEN v END)) * (MAX(pos) - MAX(lo))
        FROM (
            SELECT {groups}, v, i, pos,
                   CASE WHEN CAST(pos AS INTEGER) > pos THEN CAST(pos AS INTEGER) - 1
                        ELSE CAST(pos AS INTEGER) END AS lo
            FROM (
                SELECT {groups}, {value} AS v,
                       ROW_NUMBER() OVER (PARTITION BY {groups} ORDER BY {value}) - 1 AS i,
                       CAST(%s AS DOUBLE PRECISION)
                       * (COUNT(*) OVER (PARTITION BY {groups}) - 1) AS pos
                FROM ({sql}) base
            ) ranked
        ) placed
        WHERE i = lo OR i = lo + 1
        GROUP BY {groups}
    """  # noqa: S608 - identifiers are quoted model field names, values are parameters
    with connection.cursor() as cursor:
        cursor.execute(query, [float(fraction), *params])
        rows = cursor.fetchall()
    width = len(group_by)
    return [(tuple(row[:width]), row[width]) for row in rows]

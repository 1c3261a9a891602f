"""Fixed latency buckets for the hourly rollups, and percentiles read from bucket counts.

Edges follow a 1-1.25-1.5-2-2.5-3-4-5-6-8 series per decade, so two neighbouring edges
are at most a third apart (3 → 4) and the dashboard's time-to-first-token histogram
edges (selectors.TTFT_EDGES) are among them: the histogram is an exact sum of buckets.

Precision: a percentile is estimated inside the bucket that holds the value at rank
floor(p·(n-1)) (linear interpolation by rank within the bucket, as Prometheus'
histogram_quantile does). The exact percentile (percentile_cont) lies between that value
and the next one, so the estimate is off by less than the width of that bucket plus the
next: under 34 % of the value for one bucket (usually far less), and values below the
first edge or above the last are clamped to it.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Case, IntegerField, Value, When

_SERIES = (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8)


def _edges(low: float, high: float) -> tuple[float, ...]:
    out = []
    decade = 1e-3
    while decade <= high:
        for step in _SERIES:
            edge = round(step * decade, 6)
            if low <= edge <= high:
                out.append(edge)
        decade *= 10
    return tuple(out)


# Time to first token, ms: 10 ms … 60 s.  Tokens per second: 1 … 8,000.
TTFT_BUCKET_EDGES = _edges(10, 60_000)
TPS_BUCKET_EDGES = _edges(1, 8_000)
METRICS = {"ttft": ("ttft_ms", TTFT_BUCKET_EDGES), "tps": ("tokens_per_s", TPS_BUCKET_EDGES)}


def columns(metric: str) -> list[str]:
    """The rollup's count columns of one metric: bucket i counts values in [edge i-1, edge i)."""
    return [f"{metric}_{i}" for i in range(len(METRICS[metric][1]) + 1)]


def bucket_of(value: float, edges: Sequence[float]) -> int:
    for i, edge in enumerate(edges):
        if value < edge:
            return i
    return len(edges)


def bucket_case(field: str, edges: Sequence[float]) -> Case:
    """The same bucket index computed by the database (for raw rows at a range's edges)."""
    whens = [When(**{f"{field}__lt": edge}, then=Value(i)) for i, edge in enumerate(edges)]
    return Case(*whens, default=Value(len(edges)), output_field=IntegerField())


def percentile(counts: Sequence[int], edges: Sequence[float], fraction: float) -> float | None:
    """The p-th percentile estimated from bucket counts (see the module's precision note)."""
    n = sum(counts)
    if not n:
        return None
    rank = fraction * (n - 1)  # 0-based position of the value percentile_cont starts from
    seen = 0
    for i, count in enumerate(counts):
        if count and rank < seen + count:
            lo = edges[i - 1] if i > 0 else edges[0]
            hi = edges[i] if i < len(edges) else edges[-1]
            if lo == hi:
                return float(lo)
            # The bucket's values are taken as spread evenly: value k of c sits at (k+½)/c.
            return lo + (hi - lo) * (int(rank) - seen + 0.5) / count
        seen += count
    return float(edges[-1])

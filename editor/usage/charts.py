"""The dashboard's figures shaped for its charts and for the tables under them.

Both come from the same rows, so the table under a chart always shows its numbers.
Empty hours or days are filled with zeros here: a gap in a time axis would mislead.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from editor.usage.selectors import UsageFilters

TIER_ORDER = ("fast", "deep", "review")


def _buckets(filters: UsageFilters) -> list[datetime]:
    step = timedelta(hours=1) if filters.hourly else timedelta(days=1)
    first = filters.start.replace(minute=0, second=0, microsecond=0)
    if not filters.hourly:
        first = first.replace(hour=0)
    out, at = [], first
    while at < filters.end:
        out.append(at)
        at += step
    return out


def _tiers(found: set[str]) -> list[str]:
    return [t for t in TIER_ORDER if t in found] + sorted(found - set(TIER_ORDER))


def chart_data(*, figures: dict[str, Any], filters: UsageFilters) -> dict[str, Any]:
    series = figures["series"]
    buckets = _buckets(filters)
    index = {bucket: i for i, bucket in enumerate(buckets)}
    tiers = _tiers({row["tier"] for row in series})
    tokens = {tier: [0] * len(buckets) for tier in tiers}
    requests = {tier: [0] * len(buckets) for tier in tiers}
    for row in series:
        bucket = row["bucket"]
        i = index.get(bucket.replace(tzinfo=buckets[0].tzinfo) if buckets else bucket)
        if i is None:
            continue
        tokens[row["tier"]][i] += row["prompt_tokens"] + row["completion_tokens"]
        requests[row["tier"]][i] += row["requests"]
    fmt = "%b %d %H:00" if filters.hourly else "%b %d"
    labels = [bucket.strftime(fmt) for bucket in buckets]
    histogram = figures["histogram"]
    models = [
        row for row in figures["by_model"] if row["prompt_tokens"] or row["completion_tokens"]
    ]
    hist_tiers = _tiers(set(histogram["tiers"]))
    return {
        "time": {
            "labels": labels,
            "tiers": tiers,
            "tokens": [tokens[t] for t in tiers],
            "requests": [requests[t] for t in tiers],
            # The table lists only buckets with traffic: 720 empty hours help nobody.
            "rows": [
                {
                    "label": labels[i],
                    "tokens": [tokens[t][i] for t in tiers],
                    "requests": [requests[t][i] for t in tiers],
                }
                for i in range(len(buckets))
                if any(requests[t][i] for t in tiers)
            ],
        },
        # Cache-hit share (% of prompt tokens) and reasoning tokens per tier and model.
        "cache": {
            "labels": [f"{row['tier']} · {row['model']}" for row in models],
            "tiers": [row["tier"] for row in models],
            "share": [
                None if row["cache_share"] is None else round(row["cache_share"] * 100, 1)
                for row in models
            ],
            "reasoning": [row["reasoning_tokens"] for row in models],
        },
        "ttft": {
            "labels": histogram["labels"],
            "tiers": hist_tiers,
            "counts": [histogram["tiers"][t] for t in hist_tiers],
            "rows": [
                {"label": label, "counts": [histogram["tiers"][t][i] for t in hist_tiers]}
                for i, label in enumerate(histogram["labels"])
            ],
        },
    }

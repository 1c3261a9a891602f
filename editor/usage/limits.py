"""The limits that apply to a person and a team: their admin rows over the settings' defaults.

Admission runs on every model request, so the rows are cached per process for
CACHE_TTL_S: a change in the admin takes effect within that time everywhere (and at
once in the process that saved it, which clears its cache).
"""

from __future__ import annotations

import dataclasses
import time

from django.conf import settings

from editor.usage.models import TeamLimit, UserLimit

CACHE_TTL_S = 10.0
_cache: dict[tuple[str, int], tuple[float, object]] = {}


@dataclasses.dataclass(frozen=True)
class Limits:
    """0 means no limit."""

    requests_per_minute: int
    concurrent_streams: int
    monthly_tokens: int
    task_tokens: int


def _cached(kind: str, pk: int | None) -> tuple[bool, object]:
    if pk is None:
        return True, None
    hit = _cache.get((kind, pk))
    if hit is not None and hit[0] > time.monotonic():
        return True, hit[1]
    return False, None


def limits_cached(*, user_id: int | None, team_id: int | None) -> bool:
    """True when limits_get would not touch the database (so async callers skip a thread)."""
    return _cached("user", user_id)[0] and _cached("team", team_id)[0]


def _row(kind: str, pk: int | None) -> object:
    found, value = _cached(kind, pk)
    if found:
        return value
    if kind == "user":
        value = UserLimit.objects.filter(user_id=pk).first()
    else:
        value = TeamLimit.objects.filter(team_id=pk).first()
    _cache[kind, pk] = (time.monotonic() + CACHE_TTL_S, value)
    return value


def _pick(row: object, field: str, default: int) -> int:
    value = getattr(row, field, None) if row is not None else None
    return int(default if value is None else value)


def limits_get(*, user_id: int | None, team_id: int | None) -> Limits:
    user_row = _row("user", user_id)
    team_row = _row("team", team_id)
    return Limits(
        requests_per_minute=_pick(
            user_row, "requests_per_minute", settings.FLINT_QUOTA_USER_REQUESTS_PER_MINUTE
        ),
        concurrent_streams=_pick(
            user_row, "concurrent_streams", settings.FLINT_QUOTA_USER_CONCURRENT_STREAMS
        ),
        monthly_tokens=_pick(team_row, "monthly_tokens", settings.FLINT_QUOTA_TEAM_MONTHLY_TOKENS),
        task_tokens=_pick(team_row, "task_tokens", settings.FLINT_QUOTA_TASK_TOKENS),
    )


def limits_forget() -> None:
    """Drop this process's cache (after an admin change, and between tests)."""
    _cache.clear()

"""Quotas and rate limits, enforced atomically in Redis (one Lua script per admission).

Four counters, all under `<FLINT_CHANNEL_PREFIX>:quota:` in settings.REDIS_URL:

- requests per minute per user: a sliding-window log (sorted set of admission times);
- concurrent streams per user: a sorted set of open stream ids (scored by start time, so
  a slot whose process died is freed after FLINT_QUOTA_STREAM_MAX_S);
- tokens per team per calendar month (UTC) and tokens per deep task: counters that an
  admission raises by a reservation (prompt + max output tokens) and the release corrects
  to what the call really used.

The script checks every limit and, only if all pass, counts the request in all of them,
so fifty parallel admissions against room for ten admit exactly ten. A token counter
missing from Redis (first use this month, or Redis restarted) is seeded from the usage
rows with SET NX before the script runs again. A refusal is recorded as a usage row with
status "refused" and raised as QuotaExceeded, a FlintError whose code "quota" is the
error kind on the room socket and whose status is the API's 429.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import UTC, datetime, timedelta

import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db.models import F, Sum

from editor.core.errors import FlintError
from editor.core.redis_clients import LuaScript, sync_client
from editor.usage.limits import Limits, limits_get
from editor.usage.models import UsageEvent, UsageStatus
from editor.usage.services import usage_record

_WINDOW_S = 60
_TASK_TTL_S = 14 * 24 * 3600

_ADMIT = LuaScript("""
local now, member = tonumber(ARGV[1]), ARGV[2]
local rpm, streams, stream_max = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local budget, task_budget, reserve = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60)
  local n = redis.call('ZCARD', KEYS[1])
  if n >= rpm then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {'rpm', n, tostring(tonumber(oldest[2]) + 60 - now)}
  end
end
if streams > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - stream_max)
  local n = redis.call('ZCARD', KEYS[2])
  if n >= streams then return {'streams', n, '0'} end
end
local team_used, task_used = 0, 0
if budget > 0 then
  local v = redis.call('GET', KEYS[3])
  if not v then return {'seed_team', 0, '0'} end
  team_used = tonumber(v)
  if team_used + reserve > budget then return {'team_budget', team_used, '0'} end
end
if task_budget > 0 then
  local v = redis.call('GET', KEYS[4])
  if not v then return {'seed_task', 0, '0'} end
  task_used = tonumber(v)
  if task_used + reserve > task_budget then return {'task_budget', task_used, '0'} end
end
if rpm > 0 then
  redis.call('ZADD', KEYS[1], now, member)
  redis.call('EXPIRE', KEYS[1], 120)
end
if streams > 0 then
  redis.call('ZADD', KEYS[2], now, member)
  redis.call('EXPIRE', KEYS[2], stream_max + 60)
end
if budget > 0 then redis.call('INCRBY', KEYS[3], reserve) end
if task_budget > 0 then redis.call('INCRBY', KEYS[4], reserve) end
return {'ok', 0, '0'}
""")

# Correct a reservation only where it was made (the key may have expired since: then the
# next admission seeds it again from the usage rows, which include this call).
_RELEASE = LuaScript("""
redis.call('ZREM', KEYS[1], ARGV[1])
local delta = tonumber(ARGV[2])
for i = 2, 3 do
  if ARGV[i + 1] == '1' and redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('INCRBY', KEYS[i], delta)
  end
end
return 1
""")


class QuotaExceeded(FlintError):
    """A request refused by a limit: `reason` is rpm, streams, team_budget or task_budget."""

    status = 429
    code = kind = "quota"  # `kind`: as a ModelError's, what the room socket's frame says

    def __init__(self, message: str, *, reason: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after


@dataclasses.dataclass
class Ticket:
    """An admitted request; hand it back to quota_release when the call ends."""

    member: str
    user_id: int | None
    team_id: int | None
    task_id: int | None
    reserved: int
    team_counted: bool
    task_counted: bool
    released: bool = False


@dataclasses.dataclass(frozen=True)
class _Call:
    keys: list[str]
    args: list[str | int | float]
    limits: Limits
    month: str


# --- keys and figures ------------------------------------------------------------------


def _prefix() -> str:
    return f"{settings.FLINT_CHANNEL_PREFIX}:quota"


def month_key(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m")


def _keys(user_id: int | None, team_id: int | None, task_id: int | None, month: str) -> list[str]:
    p = _prefix()
    return [
        f"{p}:rpm:user:{user_id}",
        f"{p}:streams:user:{user_id}",
        f"{p}:tokens:team:{team_id}:{month}",
        f"{p}:tokens:task:{task_id}",
    ]


def _month_start(month: str) -> datetime:
    return datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)


def _month_ttl_s(month: str) -> int:
    # Until a day after the month ends: long enough, and the key cleans itself up.
    start = _month_start(month)
    end = (start + timedelta(days=32)).replace(day=1) + timedelta(days=1)
    return max(60, int((end - datetime.now(UTC)).total_seconds()))


def team_tokens_used(*, team_id: int, month: str) -> int:
    """Tokens of this team's usage rows this month (the seed of its Redis counter)."""
    total = UsageEvent.objects.filter(
        team_id=team_id, created_at__gte=_month_start(month)
    ).aggregate(n=Sum(F("prompt_tokens") + F("completion_tokens")))["n"]
    return int(total or 0)


def task_tokens_used(*, task_id: int) -> int:
    total = UsageEvent.objects.filter(task_id=task_id).aggregate(
        n=Sum(F("prompt_tokens") + F("completion_tokens"))
    )["n"]
    return int(total or 0)


def tokens_human(n: int) -> str:
    """1.2M, 950k, 812: how the refusal messages write token counts."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    return f"{n:,}"


def _call(*, user_id: int | None, team_id: int | None, task_id: int | None, reserve: int) -> _Call:
    limits = limits_get(user_id=user_id, team_id=team_id)
    month = month_key()
    args = [
        repr(time.time()),
        uuid.uuid4().hex,
        limits.requests_per_minute if user_id is not None else 0,
        limits.concurrent_streams if user_id is not None else 0,
        int(settings.FLINT_QUOTA_STREAM_MAX_S),
        limits.monthly_tokens if team_id is not None else 0,
        limits.task_tokens if task_id is not None else 0,
        max(0, int(reserve)),
    ]
    return _Call(_keys(user_id, team_id, task_id, month), args, limits, month)


def _refusal(result: list, call: _Call) -> QuotaExceeded:
    reason, used, extra = result[0].decode(), int(result[1]), float(result[2])
    limits = call.limits
    if reason == "rpm":
        wait = max(1, round(extra))
        return QuotaExceeded(
            f"Rate limit reached: {limits.requests_per_minute} requests a minute — "
            f"try again in {wait} s.",
            reason=reason,
            retry_after=wait,
        )
    if reason == "streams":
        return QuotaExceeded(
            f"You already have {used} answers streaming, your limit — wait for one or stop it.",
            reason=reason,
        )
    if reason == "team_budget":
        budget = limits.monthly_tokens
        return QuotaExceeded(
            f"Team budget reached: {tokens_human(min(used, budget))} of {tokens_human(budget)} "
            "tokens this month — ask a team owner.",
            reason=reason,
        )
    return QuotaExceeded(
        f"Task budget reached: {tokens_human(min(used, limits.task_tokens))} of "
        f"{tokens_human(limits.task_tokens)} tokens for this task.",
        reason=reason,
    )


def _ticket(call: _Call, *, user_id, team_id, task_id) -> Ticket:
    return Ticket(
        member=str(call.args[1]),
        user_id=user_id,
        team_id=team_id,
        task_id=task_id,
        reserved=int(call.args[7]),
        team_counted=bool(call.args[5]),
        task_counted=bool(call.args[6]),
    )


def _seed(client: redis.Redis, call: _Call, what: str, team_id, task_id) -> None:
    if what == "seed_team":
        used = team_tokens_used(team_id=team_id, month=call.month)
        client.set(call.keys[2], used, nx=True, ex=_month_ttl_s(call.month))
    else:
        client.set(call.keys[3], task_tokens_used(task_id=task_id), nx=True, ex=_TASK_TTL_S)


def _record_refusal(exc: QuotaExceeded, **where) -> None:
    usage_record(
        user=where["user_id"],
        team_id=where["team_id"],
        room_id=where.get("room_id"),
        task_id=where.get("task_id"),
        tier=where["tier"],
        model=where["model"],
        feature=where["feature"],
        status=UsageStatus.REFUSED,
        prompt_tokens=0,
        completion_tokens=0,
        tokens_estimated=False,
        duration_ms=0,
        request_id=where.get("request_id", ""),
        error_kind=exc.reason,
        error_message=exc.message,
    )


# --- synchronous: Celery workers, management commands, tests ----------------------------


def _client_sync() -> redis.Redis:
    return sync_client()  # the process's shared, bounded pool


def quota_admit_sync(
    *,
    user_id: int | None,
    team_id: int | None,
    tier: str,
    model: str,
    feature: str,
    reserve_tokens: int,
    room_id: int | None = None,
    task_id: int | None = None,
    request_id: str = "",
) -> Ticket:
    """Admit one model call or raise QuotaExceeded (after recording the refusal)."""
    client = _client_sync()
    call = _call(user_id=user_id, team_id=team_id, task_id=task_id, reserve=reserve_tokens)
    for _ in range(3):
        result = _ADMIT.run_sync(keys=call.keys, args=call.args)
        status = result[0].decode()
        if status == "ok":
            return _ticket(call, user_id=user_id, team_id=team_id, task_id=task_id)
        if not status.startswith("seed_"):
            break
        _seed(client, call, status, team_id, task_id)
    exc = _refusal(result, call)
    _record_refusal(
        exc, user_id=user_id, team_id=team_id, room_id=room_id, task_id=task_id, tier=tier,
        model=model, feature=feature, request_id=request_id,
    )  # fmt: skip
    raise exc


def quota_release_sync(ticket: Ticket | None, *, used_tokens: int) -> None:
    """The call ended: free its stream slot and turn its reservation into what it used."""
    if ticket is None or ticket.released:
        return
    ticket.released = True
    keys, args = _release_call(ticket, used_tokens)
    _RELEASE.run_sync(keys=keys, args=args)


def _release_call(ticket: Ticket, used_tokens: int) -> tuple[list[str], list]:
    keys = _keys(ticket.user_id, ticket.team_id, ticket.task_id, month_key())
    delta = max(0, int(used_tokens)) - ticket.reserved
    args = [ticket.member, delta, int(ticket.team_counted), int(ticket.task_counted)]
    return [keys[1], keys[2], keys[3]], args


# --- asynchronous: the room socket's relay ----------------------------------------------


async def quota_admit(
    *,
    user_id: int | None,
    team_id: int | None,
    tier: str,
    model: str,
    feature: str,
    reserve_tokens: int,
    room_id: int | None = None,
    task_id: int | None = None,
    request_id: str = "",
) -> Ticket:
    """quota_admit_sync for the event loop: one Redis round trip when nothing needs seeding."""
    call = await _call_async(
        user_id=user_id, team_id=team_id, task_id=task_id, reserve=reserve_tokens
    )
    for _ in range(3):
        result = await _ADMIT.run(keys=call.keys, args=call.args)
        status = result[0].decode()
        if status == "ok":
            return _ticket(call, user_id=user_id, team_id=team_id, task_id=task_id)
        if not status.startswith("seed_"):
            break
        await sync_to_async(_seed)(_client_sync(), call, status, team_id, task_id)
    exc = _refusal(result, call)
    await sync_to_async(_record_refusal)(
        exc, user_id=user_id, team_id=team_id, room_id=room_id, task_id=task_id, tier=tier,
        model=model, feature=feature, request_id=request_id,
    )  # fmt: skip
    raise exc


async def _call_async(**kwargs) -> _Call:
    from editor.usage.limits import limits_cached

    if limits_cached(user_id=kwargs["user_id"], team_id=kwargs["team_id"]):
        return _call(**kwargs)
    return await sync_to_async(_call)(**kwargs)


async def quota_release(ticket: Ticket | None, *, used_tokens: int) -> None:
    if ticket is None or ticket.released:
        return
    ticket.released = True
    keys, args = _release_call(ticket, used_tokens)
    await _RELEASE.run(keys=keys, args=args)


# --- per-task budget for the deep-task loop -------------------------------------------


@dataclasses.dataclass(frozen=True)
class TaskBudget:
    limit: int  # 0: no limit
    used: int
    remaining: int | None  # None: no limit


def quota_task_budget(*, task_id: int, team_id: int | None) -> TaskBudget:
    """What a deep task may still spend; raises QuotaExceeded when nothing is left.

    The agent loop calls it before each model call, caps max_tokens by `remaining`, and
    admits the call itself with quota_admit_sync(task_id=…, reserve_tokens=…), which
    counts it against the same budget atomically. `used` is the Redis counter when it
    exists (it includes calls in flight), else the task's usage rows.
    """
    limit = limits_get(user_id=None, team_id=team_id).task_tokens
    raw = _client_sync().get(_keys(None, None, task_id, "")[3])
    used = int(raw) if raw is not None else task_tokens_used(task_id=task_id)
    if not limit:
        return TaskBudget(limit=0, used=used, remaining=None)
    if used >= limit:
        raise QuotaExceeded(
            f"Task budget reached: {tokens_human(used)} of {tokens_human(limit)} tokens "
            "for this task.",
            reason="task_budget",
        )
    return TaskBudget(limit=limit, used=used, remaining=limit - used)

"""A cap on failed token authentications per client address (API Bearer and ?token=).

A token is 32 random bytes, so guessing one is hopeless; the cap is there so that a
script hammering the API or the sockets with bad tokens costs it a 429 (a 4029 close on a
socket) instead of a database lookup each, and so that such a run shows up. Counted in
Redis (shared by every daphne process) as a sliding one-minute log of failure times per
address under `<FLINT_CHANNEL_PREFIX>:authfail:` (as the quotas count requests). While an
address is over the cap, even a good token from it is refused: answering it would tell a
guesser which of its tries was right.

Redis down: the check lets requests through (and logs it). Token auth must not fail
closed for everyone because a counter is unreachable; the relays are down then
anyway.
"""

from __future__ import annotations

import logging
import time
import uuid

import redis
from django.conf import settings

from editor.accounts.models import AccessToken
from editor.accounts.tokens import token_authenticate_row
from editor.core.errors import FlintError, NotAuthenticated
from editor.core.redis_clients import LuaScript

log = logging.getLogger(__name__)
_WINDOW_S = 60

# Failures of the last minute. An address over the cap is refused before its token is
# looked at, and so records nothing more: the log holds at most about `cap` entries.
_COUNT = LuaScript("""
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
return redis.call('ZCARD', KEYS[1])
""")
_RECORD = LuaScript("""
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]) + 1)
""")


class TooManyFailures(FlintError):
    status = 429
    code = "throttled"


def _key(client_ip: str) -> str:
    return f"{settings.FLINT_CHANNEL_PREFIX}:authfail:{client_ip}"


def _limit() -> int:
    return int(settings.FLINT_AUTH_FAILURES_PER_MINUTE)


def _over_limit(client_ip: str) -> bool:
    if _limit() <= 0:
        return False
    try:
        count = _COUNT.run_sync(keys=[_key(client_ip)], args=[time.time(), _WINDOW_S])
    except redis.RedisError:
        log.warning("auth throttle: Redis unreachable, not counting", exc_info=True)
        return False
    return int(count) >= _limit()


# An address found under the cap by over_limit() is taken as under it for this long here,
# unless this process counts a failure from it meanwhile: a reconnect burst of a
# thousand sockets from one address asked Redis a thousand times (issue 11). A failure
# counted by another process shows here within this time. Only sockets whose token is
# known good here (kept or just read) ask it, and what this could let through in that
# second is what the cap protects: a right guess answered — of a token already in use.
_UNDER_CAP_S = 1.0
_under_cap_until: dict[str, float] = {}


async def over_limit(client_ip: str | None) -> bool:
    """_over_limit from the event loop (no trip to the sync thread): a socket whose token's
    verdict is kept (token_cache.py) is still refused while its address is over the cap."""
    if _limit() <= 0:
        return False
    address = client_ip or "unknown"
    if _under_cap_until.get(address, 0.0) > time.monotonic():
        return False
    try:
        count = await _COUNT.run(keys=[_key(address)], args=[time.time(), _WINDOW_S])
    except redis.RedisError:
        log.warning("auth throttle: Redis unreachable, not counting", exc_info=True)
        return False
    over = int(count) >= _limit()
    if not over:
        if len(_under_cap_until) > 10_000:  # many addresses: start over, never grow
            _under_cap_until.clear()
        _under_cap_until[address] = time.monotonic() + _UNDER_CAP_S
    return over


def _record_failure(client_ip: str) -> None:
    _under_cap_until.pop(client_ip, None)
    if _limit() <= 0:
        return
    try:
        now = time.time()
        _RECORD.run_sync(keys=[_key(client_ip)], args=[now, _WINDOW_S, f"{now}:{uuid.uuid4().hex}"])
    except redis.RedisError:
        log.warning("auth throttle: Redis unreachable, not counting", exc_info=True)


def token_authenticate_throttled(raw: str, *, client_ip: str | None) -> AccessToken:
    """token_authenticate_row, refused with TooManyFailures while the address is over the cap."""
    address = client_ip or "unknown"
    if _over_limit(address):
        raise TooManyFailures(
            "Too many failed token attempts from your address; wait a minute and try again."
        )
    try:
        return token_authenticate_row(raw)
    except NotAuthenticated:
        _record_failure(address)
        raise

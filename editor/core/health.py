"""Health of what Flint depends on: the database, Redis, and Celery workers.

Each check answers {"ok": bool, "ms": float, ...}; a failed one says why in "error", in
words an operator can act on. /healthz is public, so addresses and driver messages are
shown only with DEBUG on; they are always logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis
from celery import current_app
from django.conf import settings
from django.db import connection

from editor.core.redis_clients import probe_client

logger = logging.getLogger(__name__)

CHECKS = ("database", "redis", "celery")
# The last failure logged per check, in this process: a probe every few seconds (the
# launcher's wait for the worker, a balancer) logs a failure once, not once per probe.
_failing: dict[str, str] = {}


class CheckFailed(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def _timed(name: str, check: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = check()
        state = {"ok": True, **(detail or {})}
        if _failing.pop(name, None) is not None:
            logger.info("health: %s: ok again", name)
    except Exception as exc:  # a health check reports every failure, it does not raise
        if isinstance(exc, CheckFailed):
            reason, detail = exc.reason, exc.detail
        else:
            reason, detail = f"the {name} check failed", f"{type(exc).__name__}: {exc}"
        if _failing.get(name) != reason:
            _failing[name] = reason
            logger.warning("health: %s: %s%s", name, reason, f" ({detail})" if detail else "")
        state = {
            "ok": False,
            "error": f"{reason} ({detail})" if settings.DEBUG and detail else reason,
        }
    state["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return state


def _redis_address(url: str) -> str:
    """The address without credentials: health answers are public."""
    from urllib.parse import urlparse

    parsed = urlparse(url)
    if parsed.scheme == "unix":
        return f"unix://{parsed.path}"
    return f"{parsed.scheme}://{parsed.hostname}:{parsed.port or 6379}"


def _database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        raise CheckFailed(
            f"the {connection.vendor} database does not answer", f"{type(exc).__name__}: {exc}"
        ) from exc
    return {"vendor": connection.vendor}


def _redis() -> dict[str, Any]:
    address = _redis_address(settings.REDIS_URL)
    client = probe_client(timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise CheckFailed(
            "Redis does not answer; live rooms and background tasks need it",
            f"{address}: {type(exc).__name__}: {exc}",
        ) from exc
    finally:
        client.close()
    return {}


def _workers(timeout: float) -> dict[str, Any]:
    # The project's app (webapp/celery.py sets itself current); core does not import webapp.
    replies = current_app.control.ping(timeout=timeout) or []
    names = sorted(name for reply in replies for name in reply)
    if not names:
        raise CheckFailed("no Celery worker answered; deep tasks and reviews will wait")
    return {"workers": len(names), "names": names} if settings.DEBUG else {"workers": len(names)}


def database_health() -> dict[str, Any]:
    return {"database": _timed("database", _database)}


def services_health(*, worker_timeout: float = 1.0, celery: bool = True) -> dict[str, Any]:
    """Redis and workers; touches no database, so it may run off the main sync thread."""
    report = {"redis": _timed("redis", _redis)}
    if not celery:
        return report
    # Asking workers goes through Redis; without Redis it can only time out.
    if report["redis"]["ok"]:
        report["celery"] = _timed("celery", lambda: _workers(worker_timeout))
    else:
        report["celery"] = {"ok": False, "error": "Redis is down, so workers cannot be asked"}
    return report


def parse_skip(raw: Iterable[str]) -> set[str]:
    """`?skip=celery`: checks a caller does not depend on (a web node's own health probe)."""
    names = {part.strip() for item in raw for part in item.split(",") if part.strip()}
    unknown = names - set(CHECKS)
    if unknown:
        raise ValueError(f"unknown check(s) {', '.join(sorted(unknown))}; known: {CHECKS}")
    if "database" in names or "redis" in names:
        raise ValueError("only celery may be skipped: without the database and Redis nothing works")
    return names


def health_report(*, worker_timeout: float = 1.0, skip: set[str] = frozenset()) -> dict[str, Any]:
    report = {
        **database_health(),
        **services_health(worker_timeout=worker_timeout, celery="celery" not in skip),
    }
    report["ok"] = all(part["ok"] for part in report.values())
    return report

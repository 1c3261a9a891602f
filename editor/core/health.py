"""Health of what Flint depends on: the database, Redis, and Celery workers."""

from __future__ import annotations

import time
from typing import Any

import redis
from django.conf import settings
from django.db import connection


def _timed(check) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = check()
        state = {"ok": True, **(detail or {})}
    except Exception as exc:  # a health check reports every failure, it does not raise
        state = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    state["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return state


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def _redis() -> dict[str, Any]:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return {}


def _workers(timeout: float) -> dict[str, Any]:
    from webapp.celery import app

    replies = app.control.ping(timeout=timeout) or []
    names = sorted(name for reply in replies for name in reply)
    if not names:
        raise RuntimeError("no Celery worker answered; deep tasks and reviews will wait")
    return {"workers": names}


def database_health() -> dict[str, Any]:
    return {"database": _timed(_database)}


def services_health(*, worker_timeout: float = 1.0) -> dict[str, Any]:
    """Redis and workers; touches no database, so it may run off the main sync thread."""
    report = {"redis": _timed(_redis)}
    # Asking workers goes through Redis; without Redis it can only time out.
    if report["redis"]["ok"]:
        report["celery"] = _timed(lambda: _workers(worker_timeout))
    else:
        report["celery"] = {"ok": False, "error": "Redis is down, so workers cannot be asked"}
    return report


def health_report(*, worker_timeout: float = 1.0) -> dict[str, Any]:
    report = {**database_health(), **services_health(worker_timeout=worker_timeout)}
    report["ok"] = all(part["ok"] for part in report.values())
    return report

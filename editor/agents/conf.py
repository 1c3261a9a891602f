"""The agents' settings, read once in webapp/settings.py (`# --- agents`), with defaults.

Reading through getattr keeps the app importable while the settings section is added,
and lets tests override one value with the `settings` fixture.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "FLINT_AGENTS_QUEUE": None,  # None: CELERY_TASK_DEFAULT_QUEUE
    "FLINT_AGENTS_MAX_STEPS": 40,
    "FLINT_AGENTS_WALL_SECONDS": 1200,
    "FLINT_AGENTS_STEP_MAX_TOKENS": 8192,
    "FLINT_AGENTS_STEP_RETRIES": 2,
    "FLINT_AGENTS_SOFT_TIME_LIMIT": 1500,
    "FLINT_AGENTS_TIME_LIMIT": 1560,
    "FLINT_AGENTS_HEARTBEAT_S": 5.0,
    "FLINT_AGENTS_STALE_S": 60.0,
    "FLINT_AGENTS_MAX_RUNNING_PER_ROOM": 8,
    "FLINT_AGENTS_COMPACT_AT": 0.75,
    "FLINT_AGENTS_SANDBOX": "auto",  # auto | off
    "FLINT_AGENTS_SANDBOX_UID": 1_000_000_000,  # far above /etc/subuid ranges
    "FLINT_AGENTS_SANDBOX_UIDS": 64,
    "FLINT_AGENTS_SANDBOX_LIMITS": "auto",  # auto | watchdog (editor/agents/watchdog.py)
    "FLINT_AGENTS_COMMAND_TIMEOUT_S": 60,
    "FLINT_AGENTS_COMMAND_CPU_S": 60,
    "FLINT_AGENTS_COMMAND_MEMORY_MB": 1024,
    "FLINT_AGENTS_COMMAND_PROCESSES": 64,
    "FLINT_AGENTS_COMMAND_FILE_MB": 64,
    "FLINT_AGENTS_COMMAND_DISK_MB": 1024,
    "FLINT_AGENTS_COMMAND_OUTPUT_BYTES": 16_384,
    "FLINT_AGENTS_PLAN_EXPIRE_S": 3600,  # a plan nobody decided on (plans.py)
    "FLINT_AGENTS_OUTPUT_EVERY_S": 0.25,  # live output of a model turn, at most this often
    # The prepared environment (environments.py): set-up script limits and its cache.
    "FLINT_AGENTS_SETUP_TIMEOUT_S": 600,
    "FLINT_AGENTS_SETUP_DISK_MB": 2048,
    "FLINT_AGENTS_ENV_CACHE_DIR": "",  # empty: <temp dir>/flint-agent-envs
    "FLINT_AGENTS_ENV_CACHE_MB": 4096,
    "FLINT_AGENTS_ENV_CACHE_TTL_S": 7 * 24 * 3600,
}


def get(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


def queue() -> str:
    return get("FLINT_AGENTS_QUEUE") or settings.CELERY_TASK_DEFAULT_QUEUE

"""Collab settings, with defaults; webapp/settings.py reads them from the environment."""

from __future__ import annotations

from django.conf import settings


def max_message_bytes() -> int:
    """The largest binary message a client may send (close 4009 above it).

    daphne has its own cap on incoming messages (1 MiB by default); webapp/serve.py, which
    every daphne of Flint is started through, sets it just above this one.
    """
    return int(getattr(settings, "FLINT_COLLAB_MAX_MESSAGE_BYTES", 8 * 1024 * 1024))


def idle_grace_seconds() -> float:
    """How long a document stays in memory after its last client has gone."""
    return float(getattr(settings, "FLINT_COLLAB_IDLE_GRACE_SECONDS", 10.0))


def compact_every() -> int:
    """Compact a document's log into its snapshot after this many appended updates."""
    return int(getattr(settings, "FLINT_COLLAB_COMPACT_EVERY", 1000))


def writer_idle_seconds() -> float:
    """The update writer's thread and connection end after this long without an append."""
    return float(getattr(settings, "FLINT_COLLAB_WRITER_IDLE_SECONDS", 10.0))


def agent_hold_seconds() -> float:
    """How long a writer's named cursor (a deep task's apply) stays after its write."""
    return float(getattr(settings, "FLINT_COLLAB_AGENT_HOLD_SECONDS", 4.0))

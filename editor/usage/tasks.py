"""Celery tasks of the usage app."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task

from editor.usage.rollups import rollup_rebuild


@shared_task(name="usage.rollup_rebuild", soft_time_limit=1800, time_limit=1860)
def usage_rollup_rebuild_task(start: str, end: str) -> dict[str, int]:
    """Rebuild the rollups of [start, end) (ISO datetimes with a zone) from the usage rows."""
    return rollup_rebuild(start=datetime.fromisoformat(start), end=datetime.fromisoformat(end))

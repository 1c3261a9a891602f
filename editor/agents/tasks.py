"""Celery tasks of the agents app: APIs that take ids, claim a row and call a service."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings


@shared_task(
    name="agents.run_task",
    bind=True,
    acks_late=True,
    # A lost pool child is reported (task_failure → "worker lost", signals.py) rather than
    # redelivered: rerunning an agent from scratch behind the team's back would surprise
    # them, and the claim would refuse it anyway. They get a retry button instead.
    reject_on_worker_lost=False,
    soft_time_limit=settings.FLINT_AGENTS_SOFT_TIME_LIMIT,
    time_limit=settings.FLINT_AGENTS_TIME_LIMIT,
)
def run_task(self, task_id: int) -> str | None:
    from editor.agents.runner import task_run

    return task_run(
        task_id=task_id, celery_id=self.request.id or "", hostname=self.request.hostname or ""
    )


@shared_task(
    name="agents.run_review",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=False,
    soft_time_limit=settings.FLINT_AGENTS_SOFT_TIME_LIMIT,
    time_limit=settings.FLINT_AGENTS_TIME_LIMIT,
)
def run_review(self, run_id: int) -> str | None:
    from editor.agents.review import review_run

    return review_run(run_id=run_id)


@shared_task(name="agents.sweep", soft_time_limit=60, time_limit=90)
def sweep() -> int:
    """For Celery beat: end tasks whose worker is gone (see services.tasks_sweep)."""
    from editor.agents.services import tasks_sweep

    return tasks_sweep()

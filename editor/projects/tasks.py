"""Celery tasks of the projects app: each takes ids and calls a service."""

from __future__ import annotations

from celery import shared_task

from editor.projects.uploads import upload_process, uploads_purge_expired


@shared_task(name="projects.upload_process", soft_time_limit=600, time_limit=660)
def upload_process_task(upload_id: str) -> None:
    upload_process(upload_id=upload_id)


@shared_task(name="projects.uploads_purge_expired", soft_time_limit=120, time_limit=180)
def uploads_purge_expired_task() -> int:
    return uploads_purge_expired()

"""Flint's Django project: settings, ASGI entry point, URLs, Celery app."""

from webapp.celery import app as celery_app

__all__ = ["celery_app"]

"""The Celery app: configured from Django settings (CELERY_*), tasks found in editor apps."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("flint")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The apps reach this app as `celery.current_app` (they must not import webapp). A new
# app is current only in the thread that made it; as the default it is current in every
# thread (daphne's sync threads, the health check's pool) instead of a bare fallback app.
app.set_default()

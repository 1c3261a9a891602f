"""Fixtures that start real processes (daphne, a Celery worker); see tests/support/live.py."""

"""What the terminal shows: a refusal is one line, a bug keeps its traceback, and a
not-ready /healthz (the launcher polls it while the worker starts) is no error."""

from __future__ import annotations

import logging

from django.http import HttpResponse
from django.test import Client
from django.utils.log import log_response


def test_a_refused_page_is_one_warning_line_without_a_traceback(cast, caplog, db):
    client = Client()
    client.force_login(cast.dave)  # in the team, not in the room

    with caplog.at_level(logging.INFO):
        response = client.get(f"/rooms/{cast.room.pk}/")

    assert response.status_code == 403
    lines = [r for r in caplog.records if r.name == "django.request"]
    assert [(r.levelname, r.getMessage()) for r in lines] == [
        ("WARNING", f"Forbidden (Permission denied): /rooms/{cast.room.pk}/")
    ]
    assert lines[0].exc_info is None
    # Printed once: Django's own DEBUG console handler on "django" is gone, the root's
    # handler is the only one.
    assert logging.getLogger("django").handlers == []
    assert logging.getLogger("django.request").handlers == []


def test_a_server_error_keeps_its_traceback(caplog):
    try:
        raise RuntimeError("a bug")
    except RuntimeError as bug:
        with caplog.at_level(logging.INFO):
            log_response(
                "Internal Server Error: %s", "/x", response=HttpResponse(status=500), exception=bug
            )

    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelname == "ERROR"
    assert record.exc_info is not None


def test_healthz_while_not_ready_logs_no_error_and_each_failure_once(
    client, settings, db, tmp_path, caplog, monkeypatch
):
    from editor.core import health

    monkeypatch.setattr(health, "_failing", {})  # what earlier tests' probes left
    settings.REDIS_URL = f"unix://{tmp_path / 'nobody-listens.sock'}"

    with caplog.at_level(logging.INFO):
        for _ in range(3):  # the launcher polls while the worker comes up
            assert client.get("/healthz").status_code == 503

    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [line.split(":")[1].strip() for line in warned] == ["redis"]

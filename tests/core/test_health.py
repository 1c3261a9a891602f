"""GET /healthz: the state of the database, Redis and Celery workers (editor/core/health.py)."""

from __future__ import annotations

import pytest

from tests.support.live import http_get, json_body


@pytest.mark.live
def test_healthz_is_ok_with_a_live_worker(live_flint, transactional_db):
    status, report = live_flint.health()

    assert status == 200, report
    assert report["ok"] is True
    assert report["database"]["ok"] is True
    assert report["redis"]["ok"] is True
    assert report["celery"]["ok"] is True
    assert report["celery"]["workers"] >= 1
    # daphne runs with the development default DEBUG=1, so it names the workers.
    assert live_flint.worker.node in report["celery"]["names"]


@pytest.mark.live
def test_healthz_skip_celery_leaves_the_worker_ping_out(live_flint, transactional_db):
    status, body = http_get(live_flint.url + "healthz?skip=celery")
    report = json_body(body)

    assert status == 200, report
    assert set(report) == {"ok", "database", "redis"}


def test_healthz_is_503_with_a_reason_when_redis_is_unreachable(client, settings, db, tmp_path):
    settings.REDIS_URL = f"unix://{tmp_path / 'nobody-listens.sock'}"

    response = client.get("/healthz")

    assert response.status_code == 503
    report = response.json()
    assert report["ok"] is False
    assert report["database"]["ok"] is True
    assert report["redis"]["ok"] is False
    assert report["redis"]["error"].startswith("Redis does not answer")
    assert report["celery"] == {"ok": False, "error": "Redis is down, so workers cannot be asked"}


def test_healthz_shows_the_address_in_debug_but_never_a_password(client, settings, db):
    from tests.support.live import free_port

    settings.DEBUG = True
    settings.REDIS_URL = f"redis://:hunter2@127.0.0.1:{free_port()}/0"

    report = client.get("/healthz").json()

    assert report["redis"]["ok"] is False
    assert "redis://127.0.0.1:" in report["redis"]["error"]
    assert "hunter2" not in report["redis"]["error"]


def test_healthz_hides_addresses_when_debug_is_off(client, settings, db, tmp_path):
    settings.DEBUG = False
    settings.REDIS_URL = f"unix://{tmp_path / 'nobody-listens.sock'}"

    report = client.get("/healthz").json()

    assert str(tmp_path) not in report["redis"]["error"]


def test_healthz_refuses_to_skip_what_everything_needs(client, db):
    response = client.get("/healthz?skip=redis")

    assert response.status_code == 400
    assert "only celery may be skipped" in response.json()["error"]


def test_healthz_names_unknown_checks(client, db):
    response = client.get("/healthz?skip=cache")

    assert response.status_code == 400
    assert "unknown check(s) cache" in response.json()["error"]

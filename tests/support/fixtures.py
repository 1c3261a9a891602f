"""Fixtures that start real processes (daphne, a Celery worker); see tests/support/live.py."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.live import (
    LiveFlint,
    LiveProcess,
    start_daphne,
    start_worker,
    wait_healthy,
)


@pytest.fixture(scope="session")
def live_flint(django_db_setup, django_db_blocker) -> Iterator[LiveFlint]:
    """One real daphne and one real Celery worker on the test database, for the session.

    Use it together with `transactional_db` (or `cast` + `transactional_db`), so the rows
    a test writes are committed and the other processes can read them::

        @pytest.mark.live
        def test_room_page(live_flint, transactional_db, cast):
            status, body = http_get(live_flint.url + f"rooms/{cast.room.pk}/")

    `live_flint.url` / `.ws_url` end with "/" (`http://127.0.0.1:<port>/`), `.port` is
    the port, `.daphne` / `.worker` are the processes (`.log_path`, `.log_tail()`,
    `.node` for the worker's Celery name) and `.health()` asks /healthz. The processes
    share REDIS_URL and FLINT_CHANNEL_PREFIX with the test process: a `group_send`
    from the test reaches sockets connected to daphne, and `task.delay()` reaches the
    worker. When a test using it fails, the tails of both logs are added to its report.
    """
    with django_db_blocker.unblock():
        worker = start_worker()
        try:
            daphne = start_daphne()
        except BaseException:
            worker.stop()
            raise
    flint = LiveFlint(daphne=daphne, worker=worker)
    try:
        report = wait_healthy(flint.url, timeout=60)
        if worker.node not in report.get("celery", {}).get("names", [worker.node]):
            raise AssertionError(f"/healthz did not list our worker {worker.node}: {report}")
        yield flint
    finally:
        flint.stop()


class LiveProcesses:
    """Starts more daphne processes or workers for one test; all stop at its end."""

    def __init__(self) -> None:
        self.started: list[LiveProcess] = []

    def daphne(self, **options) -> LiveProcess:
        live = start_daphne(**options)
        self.started.append(live)
        return live

    def worker(self, **options) -> LiveProcess:
        live = start_worker(**options)
        self.started.append(live)
        return live

    def stop(self) -> None:
        for live in reversed(self.started):
            live.stop()


@pytest.fixture
def live_processes(django_db_setup, django_db_blocker) -> Iterator[LiveProcesses]:
    """A factory for extra processes, e.g. a second daphne to show that two web processes
    share one Redis::

        def test_two_web_processes(live_flint, live_processes, transactional_db):
            second = live_processes.daphne()   # .url, .ws_url, .port like live_flint
    """
    processes = LiveProcesses()
    with django_db_blocker.unblock():
        try:
            yield processes
        finally:
            processes.stop()


@pytest.fixture
def allow_sync_orm(monkeypatch) -> None:
    """Lets a test use the ORM while Playwright's sync API runs its loop in this thread."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failed test that used live processes shows the end of their logs."""
    report = yield
    if report.failed:
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, LiveFlint):
                lives = value.processes
            elif isinstance(value, LiveProcesses):
                lives = value.started
            elif isinstance(value, LiveProcess):
                lives = [value]
            else:
                continue
            for live in lives:
                state = "running" if live.alive() else f"exited {live.process.returncode}"
                title = f"{live.name} log ({state}, {os.path.relpath(live.log_path)})"
                report.sections.append((title, live.log_tail(40)))
    return report


@pytest.fixture(autouse=True)
def _close_connections_of_the_sync_thread() -> Iterator[None]:
    """Closes the database connection `sync_to_async` opened in asgiref's shared thread.

    An async test's `sync_to_async(service)(...)` runs in that thread, whose connection
    Django never closes; on PostgreSQL it would keep the test database from being dropped
    at the end of the run ("being accessed by other users").
    """
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=30)


@pytest.fixture
def browser() -> Iterator:
    """A headless Chromium for one test (tests/support/browser.py launch_browser).

    List it last among a test's fixtures: it then closes first, before the database and
    the live processes go. Closing fails the test on a Content-Security-Policy violation.
    """
    from playwright.sync_api import sync_playwright

    from tests.support.browser import launch_browser

    with sync_playwright() as playwright:
        chromium = launch_browser(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def patient_expect() -> Iterator[None]:
    """For pages waiting on a real worker (a deep task takes several model turns):
    Playwright's `expect` waits 15 s instead of its 5 s, for the test's length."""
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)

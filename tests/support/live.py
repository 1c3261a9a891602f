"""Real Flint processes for integration tests: daphne and Celery workers on the TEST database.

The children see the database pytest-django created (never the developer's own), and
inherit REDIS_URL, FLINT_DATA_DIR and FLINT_CHANNEL_PREFIX from the test process, so a
`group_send` in a test, in daphne and in a worker all reach the same groups and queue.
Each child writes its output to test-output/logs/; when one fails to come up, the error
carries the tail of its log. Use them through the fixtures in tests/support/fixtures.py.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from editor.core.processes import die_with_parent

REPO = Path(__file__).resolve().parents[2]
LOG_DIR = REPO / "test-output" / "logs"
_counter = itertools.count(1)


class LiveProcessError(RuntimeError):
    """A live process did not come up (the message ends with the tail of its log)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the kernel picks it; a tiny race remains)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def live_database_url() -> str:
    """DATABASE_URL of the database the test process uses (after django_db_setup)."""
    from django.db import connection

    params = connection.settings_dict
    engine, name = params["ENGINE"], str(params["NAME"])
    if engine == "django.db.backends.sqlite3":
        test_name = (params.get("TEST") or {}).get("NAME")
        if not test_name or name != str(test_name):
            raise LiveProcessError(
                f"refusing to start live processes on {name!r}: it is not the test database "
                "(use the fixtures, which depend on django_db_setup)"
            )
        return f"sqlite:///{name}"
    if engine == "django.db.backends.postgresql":
        if not name.startswith("test_"):
            raise LiveProcessError(
                f"refusing to start live processes on {name!r}: it is not the test database"
            )
        user = quote(params.get("USER") or "", safe="")
        password = quote(params.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = params.get("HOST") or "localhost"
        port = f":{params['PORT']}" if params.get("PORT") else ""
        return f"postgres://{auth}{host}{port}/{quote(name, safe='')}"
    raise LiveProcessError(f"live processes do not know the database engine {engine}")


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("REDIS_URL", "FLINT_DATA_DIR", "FLINT_CHANNEL_PREFIX"):
        if not env.get(name):
            raise LiveProcessError(f"{name} is not set; tests/conftest.py sets it at start-up")
    env.update(
        DATABASE_URL=live_database_url(),
        DJANGO_SETTINGS_MODULE="webapp.settings",
        PYTHONUNBUFFERED="1",
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # a browser test may set it; children never
    env.update(extra or {})
    return env


@dataclass
class LiveProcess:
    """One running child: daphne (url, ws_url, port) or a Celery worker (node)."""

    name: str
    process: subprocess.Popen
    log_path: Path
    host: str = "127.0.0.1"
    port: int | None = None
    node: str | None = None
    _log_file: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Base URL with a trailing slash: `live.url + "accounts/login/"`."""
        return f"http://{self.host}:{self.port}/"

    @property
    def ws_url(self) -> str:
        """Base WebSocket URL with a trailing slash: `live.ws_url + f"ws/rooms/{room.pk}"`."""
        return f"ws://{self.host}:{self.port}/"

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log written)"
        return "\n".join(text.splitlines()[-lines:])

    def describe_failure(self, what: str) -> str:
        code = self.process.poll()
        state = "still running" if code is None else f"exited with code {code}"
        return (
            f"{self.name} {what} ({state}); last lines of {self.log_path}:\n"
            f"{self.log_tail()}\n--- end of {self.name} log ---"
        )

    def assert_alive(self) -> None:
        if not self.alive():
            raise LiveProcessError(self.describe_failure("died"))

    def stop(self, *, timeout: float = 15.0) -> int | None:
        """SIGTERM its process group, wait, SIGKILL what is left; returns the exit code."""
        if self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        # Pool children of a Celery worker may outlive it by a moment: never leave them.
        _signal_group(self.process.pid, signal.SIGKILL)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return self.process.returncode


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _spawn(name: str, args: list[str], env: dict[str, str], **attrs: Any) -> LiveProcess:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"{name}-{os.getpid()}-{next(_counter)}.log"
    log_file = log_path.open("w")
    log_file.write(f"$ {' '.join(args)}\n")
    log_file.flush()
    process = subprocess.Popen(
        args,
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
        process_group=0,  # so stop() reaches the worker's pool children too
    )
    return LiveProcess(name=name, process=process, log_path=log_path, _log_file=log_file, **attrs)


def http_get(url: str, *, timeout: float = 5.0) -> tuple[int, bytes]:
    """Status and body of a GET; HTTP errors are answers too, not exceptions."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def json_body(body: bytes) -> Any:
    """Parsed JSON, or a failure that shows what came instead (an HTML error page, say)."""
    try:
        return json.loads(body)
    except ValueError:
        text = body[:2000].decode(errors="replace")
        raise AssertionError(f"expected JSON, got: {text}") from None


def start_daphne(
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> LiveProcess:
    """Start daphne on the test database and wait until it answers HTTP."""
    attempts = 1 if port else 3  # a port picked by free_port() may be taken meanwhile
    for attempt in range(attempts):
        chosen = port or free_port(host)
        args = [sys.executable, "-m", "webapp.serve", "-b", host, "-p", str(chosen)]
        live = _spawn("daphne", args, child_env(env), host=host, port=chosen)
        try:
            _wait_serving(live, timeout)
            return live
        except LiveProcessError:
            in_use = "Address already in use" in live.log_tail(200)
            live.stop()
            if not in_use or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _wait_serving(live: LiveProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not live.alive():
            break
        try:
            # Any HTTP answer means daphne serves; whether Flint is healthy is asked later.
            http_get(live.url + "healthz?skip=celery", timeout=5)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    message = live.describe_failure(f"did not answer HTTP on {live.url} within {timeout:.0f}s")
    print(message, file=sys.stderr)
    raise LiveProcessError(message)


def start_worker(
    *,
    concurrency: int = 2,
    pool: str = "prefork",
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> LiveProcess:
    """Start a Celery worker on the test database and wait until it answers a ping.

    prefork is the pool production runs (the only one that enforces hard time limits).
    """
    node = f"live-{uuid.uuid4().hex[:8]}@flint-tests"
    args = [sys.executable, "-m", "celery", "-A", "webapp", "worker", "-n", node]
    args += ["--loglevel", "INFO", "--pool", pool, "--concurrency", str(concurrency)]
    args += ["--without-gossip", "--without-mingle"]  # faster start; nothing here needs them
    live = _spawn("worker", args, child_env(env), node=node)
    try:
        _wait_pong(live, timeout)
    except LiveProcessError:
        live.stop()
        raise
    return live


def _wait_pong(live: LiveProcess, timeout: float) -> None:
    from webapp.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not live.alive():
            break
        if app.control.ping(destination=[live.node], timeout=0.5):
            return
    message = live.describe_failure(f"did not answer a ping within {timeout:.0f}s")
    print(message, file=sys.stderr)
    raise LiveProcessError(message)


def wait_healthy(url: str, *, timeout: float = 30.0) -> dict[str, Any]:
    """Poll `<url>healthz` until it answers 200; returns the report."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            status, body = http_get(url + "healthz", timeout=5)
            if status == 200:
                return json.loads(body)
            last = f"HTTP {status}: {body.decode(errors='replace')}"
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise LiveProcessError(f"{url}healthz was not OK within {timeout:.0f}s; last answer: {last}")


@dataclass
class LiveFlint:
    """One daphne and one Celery worker serving the test database."""

    daphne: LiveProcess
    worker: LiveProcess

    @property
    def url(self) -> str:
        return self.daphne.url

    @property
    def ws_url(self) -> str:
        return self.daphne.ws_url

    @property
    def port(self) -> int:
        assert self.daphne.port is not None
        return self.daphne.port

    @property
    def processes(self) -> list[LiveProcess]:
        return [self.daphne, self.worker]

    def assert_alive(self) -> None:
        for live in self.processes:
            live.assert_alive()

    def health(self) -> tuple[int, dict[str, Any]]:
        status, body = http_get(self.url + "healthz")
        return status, json_body(body)

    def stop(self) -> None:
        for live in self.processes:
            live.stop()

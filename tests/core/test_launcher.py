"""`python -m webapp.launcher` (what `make run` runs), as a newcomer meets it.

Each test runs the real launcher on the embedded path (SQLite + embedded Redis in a
fresh data directory, a free port) and checks what it promises: Flint serves, and a
signal stops every process it started, with exit 0.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from editor.core.processes import die_with_parent
from tests.support.live import LOG_DIR, REPO, free_port, http_get

pytestmark = pytest.mark.live

READY_LINE = "Press Ctrl-C to stop."


class RunningLauncher:
    def __init__(self, data_dir: Path, port: int, log_path: Path, process: subprocess.Popen):
        self.data_dir, self.port, self.log_path, self.process = data_dir, port, log_path, process
        self.url = f"http://127.0.0.1:{port}/"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if READY_LINE in self.output():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"the launcher did not get ready:\n{self.output()[-4000:]}")

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def wait_exit(self, timeout: float = 60.0) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the launcher did not exit in {timeout}s:\n{self.output()[-4000:]}")


def launcher_env(data_dir: Path, port: int) -> dict[str, str]:
    # The embedded path: no REDIS_URL or DATABASE_URL from the test run (or from CI).
    dropped = {"REDIS_URL", "DATABASE_URL", "FLINT_CHANNEL_PREFIX", "FLINT_CELERY_QUEUE"}
    # And no model server, so that the launcher's demo mode is what these tests see.
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in dropped
        and not key.startswith("OPENAI_")
        and not (key.startswith("FLINT_") and "_MODEL_" in key)
        and key != "FLINT_DEMO_MODE"
    }
    env.update(FLINT_DATA_DIR=str(data_dir), PORT=str(port), FLINT_WORKER_CONCURRENCY="1")
    return env


@pytest.fixture
def launch(request):
    """Starts launchers in fresh data directories; kills any left at the end."""
    started: list[RunningLauncher] = []
    # A short path: the embedded Redis socket must fit in a unix socket address.
    data_dir = Path(tempfile.mkdtemp(prefix="flint-launch-"))

    def start(*, port: int | None = None) -> RunningLauncher:
        port = port or free_port()
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log_path = LOG_DIR / f"launcher-{request.node.name}-{len(started)}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "webapp.launcher"],
                cwd=REPO,
                env=launcher_env(data_dir, port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
                process_group=0,  # like a terminal: our signal goes to the launcher alone
            )
        running = RunningLauncher(data_dir, port, log_path, process)
        started.append(running)
        return running

    yield start
    for running in started:
        if running.process.poll() is None:
            leftovers = running.descendants()
            running.process.kill()
            running.process.wait()
            for child in leftovers:
                child.kill()
    shutil.rmtree(data_dir, ignore_errors=True)


def assert_all_gone(processes: list[psutil.Process]) -> None:
    _, alive = psutil.wait_procs(processes, timeout=10)
    assert not alive, f"left running: {[(p.pid, p.cmdline()) for p in alive]}"


def serve_and_stop(flint: RunningLauncher, sig: int) -> None:
    status, body = http_get(flint.url + "healthz")
    assert status == 200, body
    status, body = http_get(flint.url + "accounts/login/")
    assert status == 200
    assert b"<form" in body

    children = flint.descendants()
    commands = " ".join(" ".join(child.cmdline()) for child in children)
    assert "webapp.serve" in commands and "celery" in commands and "redis-server" in commands
    # No model server is configured here, so the simulator answers, and it is said plainly.
    assert "simulate_models" in commands
    assert "Models: DEMO MODE" in flint.output()

    flint.process.send_signal(sig)
    code = flint.wait_exit()

    assert code == 0, flint.output()[-4000:]
    assert "Stopped." in flint.output()
    assert_all_gone(children)
    assert not (flint.data_dir / "redis.sock").exists()


def test_ctrl_c_stops_every_process_and_exits_0(launch):
    flint = launch()
    flint.wait_ready()
    assert f"Create your account at {flint.url}accounts/signup/" in flint.output()

    # `make run` pressed twice: the second one says so and leaves the first alone.
    second = launch(port=flint.port)
    assert second.wait_exit() == 1
    assert "Flint is already running" in second.output()
    assert flint.process.poll() is None

    serve_and_stop(flint, signal.SIGINT)


def test_sigterm_stops_every_process_and_exits_0(launch):
    flint = launch()
    flint.wait_ready()
    # Once an account exists, the next start tells people to log in instead.
    signup = (
        "from editor.accounts.services import user_signup; "
        "user_signup(username='ann', password='correct horse battery staple')"
    )
    created = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", signup],
        cwd=REPO,
        env=launcher_env(flint.data_dir, flint.port),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr

    serve_and_stop(flint, signal.SIGTERM)

    again = launch(port=flint.port)
    again.wait_ready()
    assert f"Log in at {again.url}accounts/login/" in again.output()
    again.process.send_signal(signal.SIGINT)
    assert again.wait_exit() == 0


def test_a_signal_to_make_s_process_group_is_one_stop_not_a_forced_one(launch):
    """`kill -TERM -<pgid>` of `make run` reaches the launcher twice (from the kernel, and
    relayed by make) milliseconds apart: that is one graceful stop, not a second Ctrl-C."""
    flint = launch()
    flint.wait_ready()
    children = flint.descendants()

    flint.process.send_signal(signal.SIGTERM)
    time.sleep(0.02)
    flint.process.send_signal(signal.SIGTERM)
    code = flint.wait_exit()

    output = flint.output()
    assert code == 0, output[-4000:]
    assert "killing it" not in output, output[-4000:]
    assert "Warm shutdown" in output  # the worker stopped on its own, gracefully
    assert "Stopped." in output
    assert_all_gone(children)


def test_a_child_that_dies_stops_the_rest_and_shows_its_last_lines(launch):
    flint = launch()
    flint.wait_ready()
    children = flint.descendants()
    (daphne,) = [child for child in children if "webapp.serve" in " ".join(child.cmdline())]

    daphne.kill()
    code = flint.wait_exit()

    assert code == 1
    output = flint.output()
    assert "web exited on its own (code -9); its last lines:" in output
    assert "  web | " in output
    assert_all_gone(children)


def test_a_port_in_use_is_refused_before_anything_starts(launch):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        flint = launch(port=busy.getsockname()[1])
        code = flint.wait_exit()

    assert code == 1
    assert f"Port {flint.port} on 127.0.0.1 is already in use by another program" in (
        flint.output()
    )
    assert not (flint.data_dir / "redis.sock").exists()
    assert not (flint.data_dir / "logs").exists()

"""`python -m webapp.launcher` (what `make run` runs), as a newcomer meets it.

Each test runs the real launcher on the embedded path (SQLite + embedded Redis in a
fresh data directory, a free port) and checks what it promises: Flint serves, and a
signal stops every process it started, with exit 0.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest

from tests.support.launcher import RunningLauncher, launcher_env, launcher_factory
from tests.support.live import REPO, http_get

pytestmark = pytest.mark.live


@pytest.fixture
def launch(request):
    """Starts launchers in fresh data directories; kills any left at the end."""
    yield from launcher_factory(request.node.name)


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

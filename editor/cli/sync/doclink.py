"""One synced file: its document socket, the shared replica and what is on disk.

Two pycrdt documents per file. `shared` is the replica of the room's document: remote
updates land there and it is what the socket syncs. `local` always holds exactly the
text on disk (`disk_text`), and it is the only place this client makes edits: a local
save is diffed against `local` (the version the person's editor last saw), applied there,
and the resulting update is merged into `shared` and sent. So a save never undoes a
remote edit that arrived after the editor loaded the file, and a remote write to disk is
never mistaken for a local edit (the file then equals `disk_text`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import websockets
from pycrdt import (
    Doc,
    Text,
    YMessageType,
    YSyncMessageType,
    create_sync_message,
    create_update_message,
    handle_sync_message,
)

from ..localfs import write_atomic
from . import textdiff

TEXT = "content"
GONE = 4004  # the file was deleted, or became binary (docs/PROTOCOL.md)
FATAL = {4001: "Your token no longer works: log in again.",
         4003: "You no longer have access to this room: ask a team owner."}  # fmt: skip
# A lost connection or a server that is down: try again, edits wait in the replica.
RETRYABLE = (TimeoutError, OSError, websockets.InvalidHandshake, websockets.InvalidURI)
FLUSH_DELAY_S = 0.005  # coalesce a burst of remote updates into one rewrite of the file


def read_text(path: Path) -> str | None:
    """The file as text, or None when it is missing or not UTF-8 text."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


class DocLink:
    def __init__(self, *, doc_id: str, path: str, url: str, root: Path, events: Any,
                 initial_local: str | None) -> None:  # fmt: skip
        self.doc_id, self.path, self.url, self.root = doc_id, path, url, root
        self.events = events  # the engine: log(), gone(link), fatal(message), saved()
        self.shared, self.local = Doc(), Doc()
        self.shared_text = self.shared.get(TEXT, type=Text)
        self.local_text = self.local.get(TEXT, type=Text)
        self.disk_text: str | None = None  # None until the first sync settles the file
        self.initial_local = initial_local  # the local file's text when the link began
        self.ws: Any = None
        self.synced_once = asyncio.Event()
        self.closed = False
        self.task: asyncio.Task | None = None
        self._flush_handle: asyncio.TimerHandle | None = None
        self.on_flush: Callable[[DocLink], None] | None = None  # benchmarks and tests
        self.read_only = False  # a viewer: local saves are overwritten, never sent

    @property
    def file(self) -> Path:
        return self.root / self.path

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"doc {self.path}")

    async def close(self) -> None:
        self.closed = True
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task

    # --- the socket --------------------------------------------------------------------

    async def _run(self) -> None:
        backoff = 0.05
        while not self.closed:
            try:
                async with websockets.connect(self.url, max_size=None, open_timeout=10,
                                              ping_interval=20, ping_timeout=20) as ws:  # fmt: skip
                    self.ws = ws
                    await ws.send(create_sync_message(self.shared))
                    async for data in ws:
                        if isinstance(data, bytes):
                            await self._receive(data)
                            backoff = 0.05
            except websockets.ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                if code == GONE:
                    self.ws = None
                    self.events.gone(self)
                    return
                if code in FATAL:
                    self.ws = None
                    self.events.fatal(FATAL[code])
                    return
            except RETRYABLE:
                pass
            self.ws = None
            if self.closed:
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 1.0)

    async def _receive(self, data: bytes) -> None:
        if not data or data[0] != YMessageType.SYNC or len(data) < 2:
            return  # awareness and the rest: presence comes from the room socket
        before = str(self.shared_text)
        reply = handle_sync_message(data[1:], self.shared)
        if reply is not None:
            await self._send(reply)
        if data[1] == YSyncMessageType.SYNC_STEP2 and not self.synced_once.is_set():
            self._first_sync()
            self.synced_once.set()
        elif str(self.shared_text) != before:
            self._schedule_flush()

    async def _send(self, message: bytes) -> None:
        ws = self.ws
        if ws is None:
            return  # offline: the next connect's sync step 2 carries it
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.send(message)

    def _push(self, update: bytes) -> None:
        self.shared.apply_update(update)
        if self.ws is not None:
            asyncio.get_running_loop().create_task(self._send(create_update_message(update)))

    # --- disk ----------------------------------------------------------------------------

    def _first_sync(self) -> None:
        """The room's text meets the local file: the local file wins where they differ
        (docs/CLI.md: the first sync of a file that exists on both sides)."""
        self.local.apply_update(self.shared.get_update())
        remote = str(self.shared_text)
        local = self.initial_local
        self.initial_local = None
        current = read_text(self.file)
        if current is not None:
            local = current  # saved again since the link began
        if local is not None and local != remote:
            self.disk_text = remote
            self.take_local(local, announce=True)
        else:
            self.disk_text = local  # None when there is no local file: flush writes it
        self.flush()

    def local_saved(self) -> None:
        """The watcher saw the file change (debounced)."""
        current = read_text(self.file)
        if current is None:
            return  # deleted or not text: the engine's delete/move handling decides
        if not self.synced_once.is_set():
            self.initial_local = current
            return
        if current != self.disk_text:
            self.take_local(current, announce=True)
            if str(self.shared_text) != current:
                self._schedule_flush()

    def take_local(self, new: str, *, announce: bool) -> None:
        if self.read_only:
            return
        old = str(self.local_text)
        if not textdiff.apply(self.local, self.local_text, old, new):
            self.disk_text = new
            return
        self._push(self.local.get_update(self.shared.get_state()))
        self.disk_text = new
        if announce:
            self.events.log("up", self.path)

    def _schedule_flush(self) -> None:
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            self._flush_handle = loop.call_later(FLUSH_DELAY_S, self.flush)

    def flush(self) -> None:
        """Write the shared text to disk if it differs from what is there (atomically)."""
        self._flush_handle = None
        if self.closed:
            return
        text = str(self.shared_text)
        current = read_text(self.file)
        if (not self.read_only and current is not None and self.disk_text is not None
                and current != self.disk_text):  # fmt: skip
            self.take_local(current, announce=True)  # a save the watcher has not reported
            text = str(self.shared_text)
        if current != text:
            write_atomic(self.file, text.encode("utf-8", "surrogatepass"))
            self.events.log("down", self.path)
        self.disk_text = text
        self.local.apply_update(self.shared.get_update(self.local.get_state()))
        self.events.saved(self)
        if self.on_flush is not None:
            self.on_flush(self)

    def shared_equals_disk(self) -> bool:
        return self.disk_text is not None and str(self.shared_text) == self.disk_text

"""The folder watcher (watchdog) handing debounced events to the sync's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

DEBOUNCE_S = 0.02  # editors save in steps (truncate, write, rename): wait for the last one


class _Bridge(FileSystemEventHandler):
    def __init__(self, loop: asyncio.AbstractEventLoop, sink: Callable[[str, str, str], None],
                 root: Path) -> None:  # fmt: skip
        self.loop, self.sink, self.root = loop, sink, root

    def _rel(self, path: str | bytes) -> str | None:
        path = path.decode() if isinstance(path, bytes) else path
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return None

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in ("created", "modified", "deleted", "moved", "closed"):
            return
        kind = "dir" if event.is_directory else "file"
        src = self._rel(event.src_path)
        event_type, dest = event.event_type, ""
        if event_type == "moved":
            dest = self._rel(event.dest_path)
            if src is None and dest is not None:  # moved in from outside the folder
                event_type, src, dest = "created", dest, ""
            elif dest is None:  # moved out of the folder
                event_type, dest = "deleted", ""
        if src is None:
            return
        self.loop.call_soon_threadsafe(self.sink, event_type, kind, src, dest)


class Watcher:
    """Debounces per path; a move is delivered at once (the engine renames in the room)."""

    def __init__(self, root: Path, on_change: Callable[[str], None],
                 on_move: Callable[[str, str, bool], None],
                 on_delete: Callable[[str, bool], None]) -> None:  # fmt: skip
        self.root = root
        self.on_change, self.on_move, self.on_delete = on_change, on_move, on_delete
        self.observer = Observer()
        self.pending: dict[str, asyncio.TimerHandle] = {}

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.observer.schedule(_Bridge(loop, self._event, self.root), str(self.root),
                               recursive=True)  # fmt: skip
        self.observer.start()

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(5)
        for handle in self.pending.values():
            handle.cancel()

    def _event(self, event_type: str, kind: str, src: str, dest: str) -> None:
        is_dir = kind == "dir"
        if event_type == "moved":
            self._cancel(src)
            self.on_move(src, dest, is_dir)
        elif event_type == "deleted":
            self._cancel(src)
            self.on_delete(src, is_dir)
        elif not is_dir:
            self._cancel(src)
            loop = asyncio.get_running_loop()
            self.pending[src] = loop.call_later(DEBOUNCE_S, self._fire, src)

    def _cancel(self, rel: str) -> None:
        handle = self.pending.pop(rel, None)
        if handle is not None:
            handle.cancel()

    def _fire(self, rel: str) -> None:
        self.pending.pop(rel, None)
        self.on_change(rel)

"""One object per event loop, and the background tasks it owns.

daphne runs one event loop for its whole life; each async test gets a fresh one. What
lives on a loop (the documents' hub, the rooms' hub, the access watch: their relays'
Redis connections, locks and tasks) must therefore be one per loop, looked up from the
running loop, and let go when its loop ends.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._each: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()  # callable from other threads (values())

    def current(self) -> T:
        """The running loop's, made on first use."""
        loop = asyncio.get_running_loop()
        with self._lock:
            found = self._each.get(loop)
            if found is None:
                found = self._each[loop] = self._make()
            return found

    def get(self, loop: asyncio.AbstractEventLoop) -> T | None:
        with self._lock:
            return self._each.get(loop)

    def values(self) -> list[T]:
        with self._lock:
            return list(self._each.values())

    def forget(self, instance: T) -> None:
        """`instance` closed: the next use on its loop makes a new one."""
        with self._lock:
            for loop, each in list(self._each.items()):
                if each is instance:
                    del self._each[loop]


class Tasks:
    """Background tasks kept referenced until done (asyncio keeps only weak references)."""

    def __init__(self) -> None:
        self.running: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self.running.add(task)
        task.add_done_callback(self.running.discard)
        return task

    def cancel_all(self) -> list[asyncio.Task[Any]]:
        tasks = list(self.running)
        for task in tasks:
            task.cancel()
        return tasks

"""Concurrent asks for the same answer share one read.

After a deploy or a network blip every client reconnects at once: a team's thousand
sockets arrive within a second, all with the same token, ten per document. Each used to
read the database for itself (one trip each to asgiref's single sync thread, FIFO), so
the last socket waited behind a thousand identical reads. Here the first ask for a key
starts the read, every ask for the same key that arrives before it finishes awaits that
one read, and an answer that landed may be handed out for `keep_s` seconds more (the
stragglers of the same burst).

Callers decide what may be shared: put in the key whatever must match for an answer to
hold (e.g. the person's access generation, which a revocation seen here moves on, so a
changed access never meets an answer read before it); share only answers safe to hand
to others (`shareable`: e.g. a good verdict, not a refusal that must be counted per
attempt); and say when a landed answer may still be used (`landed_ok`: e.g. only while
the person holds a socket here, whose group hears of every change of their access).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    def __init__(self, *, keep_s: float = 0.0, shareable: Callable[[T], bool] | None = None):
        self.keep_s = keep_s
        self.shareable = shareable or (lambda _answer: True)
        # Keyed by (event loop, key): a future belongs to one loop (tests run several).
        self._flights: dict[tuple[int, Hashable], asyncio.Task[T]] = {}
        self._landed: dict[tuple[int, Hashable], tuple[float, T]] = {}

    async def run(
        self,
        key: Hashable,
        fetch: Callable[[], Coroutine[Any, Any, T]],
        *,
        landed_ok: Callable[[T], bool] = lambda _answer: True,
    ) -> tuple[T, bool]:
        """(the answer, whether this call read it itself). A failed read fails every
        asker that was waiting on it; an answer that is not `shareable` is read again by
        each waiter.

        The read runs as its own task, so a first asker that goes away (its socket closed
        mid-handshake) does not cancel the read the others are waiting on.
        """
        loop = asyncio.get_running_loop()
        slot = (id(loop), key)
        landed = self._landed.get(slot)
        if landed is not None:
            if time.monotonic() - landed[0] > self.keep_s:
                del self._landed[slot]
            elif landed_ok(landed[1]):
                return landed[1], False
        flight = self._flights.get(slot)
        if flight is not None:
            answer = await asyncio.shield(flight)
            if self.shareable(answer):
                return answer, False
            return await fetch(), True
        flight = loop.create_task(fetch())
        self._flights[slot] = flight
        flight.add_done_callback(lambda done: self._land(slot, done))
        return await asyncio.shield(flight), True

    def _land(self, slot: tuple[int, Hashable], done: asyncio.Task[T]) -> None:
        if self._flights.get(slot) is done:
            del self._flights[slot]
        if done.cancelled() or done.exception() is not None:
            return  # (the exception is retrieved: nobody may be left to await it)
        if self.keep_s > 0 and self.shareable(done.result()):
            now = time.monotonic()
            # Oldest first (insertion order is landing order): drop the expired ones.
            for old, (at, _answer) in list(self._landed.items()):
                if now - at <= self.keep_s:
                    break
                del self._landed[old]
            self._landed.pop(slot, None)
            self._landed[slot] = (now, done.result())

    def clear(self) -> None:
        """Forget every landed answer (in-flight reads still land for their waiters)."""
        self._landed.clear()

"""The update log's writer: one thread and one database connection per process.

Every editor update is committed before anyone else is sent it (hub.py). Doing that
through `database_sync_to_async` cost, per keystroke, a hop onto the process's single
shared sync thread (queued behind every other sync call of the process) and, with
CONN_MAX_AGE=0, a new database connection opened and closed around each call: on SQLite
closing the last connection checkpoints the WAL into the database file and deletes it,
on PostgreSQL every keystroke paid a connect and authentication.

Here a dedicated thread keeps its own connection open and GROUP-COMMITS: it takes every
update waiting at that moment (any number of documents) and appends them in one
transaction, then settles each waiter's future on its event loop. While one commit runs
the next batch gathers, so the number of commits per second stays bounded whatever the
number of typists. A failed commit applies nothing and fails every waiter of the batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import defaultdict
from uuid import UUID

from django.db import connection, connections, transaction

from editor.collab import conf, store

log = logging.getLogger(__name__)

_Waiter = tuple[UUID, list[bytes], asyncio.AbstractEventLoop, asyncio.Future[None]]


class WriterStopped(RuntimeError):
    """An append arrived after the writer was stopped (its event loop is ending)."""


class UpdateWriter:
    """Appends updates to the log from one thread, in group commits."""

    def __init__(self, name: str = "collab-writer") -> None:
        self.name = name
        self._waiting: list[_Waiter] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.commits = 0  # for tests and the benchmark: transactions committed
        self.batched = 0  # updates committed

    async def append(self, *, doc_id: UUID, updates: list[bytes]) -> None:
        """Return once `updates` are committed; raise what the commit raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if self._stopping:
                raise WriterStopped("the update writer is stopped")
            self._waiting.append((doc_id, updates, loop, future))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._cond.notify()
        await future

    def stop(self, timeout: float = 10.0) -> None:
        """Commit what is waiting, then end the thread and close its connection."""
        with self._cond:
            self._stopping = True
            thread = self._thread
            self._cond.notify()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)

    # --- the thread ---------------------------------------------------------------------

    def _run(self) -> None:
        # The thread (and its connection) ends after an idle spell and starts again on the
        # next append: no connection is left open for a server or proxy to drop unseen,
        # and a process (or a test) that stopped editing holds none.
        idle = conf.writer_idle_seconds()
        try:
            while True:
                with self._cond:
                    deadline = time.monotonic() + idle
                    while not self._waiting and not self._stopping:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self._cond.wait(left)
                    if not self._waiting:
                        self._thread = None
                        return
                    batch, self._waiting = self._waiting, []
                error = self._commit(batch)
                _settle(batch, error)
        finally:
            connections.close_all()  # this thread's connections only (they are per thread)

    def _commit(self, batch: list[_Waiter]) -> BaseException | None:
        rows = [(doc_id, update) for doc_id, updates, _, _ in batch for update in updates]
        # Up to ROWS_PER_INSERT rows are one INSERT, atomic by itself: no transaction
        # around it (its begin/commit were a third of the writer's Python time per commit).
        several = len(rows) > store.ROWS_PER_INSERT
        try:
            with transaction.atomic() if several else contextlib.nullcontext():
                store.updates_append_many(rows=rows)
        except Exception as exc:
            log.exception("committing %d collab updates failed; none was applied", len(rows))
            # The transaction rolled back; a broken connection is replaced on next use.
            _drop_if_unusable()
            return exc
        self.commits += 1
        self.batched += len(rows)
        return None


def _drop_if_unusable() -> None:
    if connection.connection is not None and not connection.is_usable():
        connection.close()


def _settle(batch: list[_Waiter], error: BaseException | None) -> None:
    """Resolve each waiter on its own loop: one wake-up per loop, not one per update."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = defaultdict(list)
    for _, _, loop, future in batch:
        by_loop[loop].append(future)
    for loop, futures in by_loop.items():
        # RuntimeError: that loop is closed (a test ended), nobody waits any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve, futures, error)


def _resolve(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():  # the waiter was cancelled (its socket closed)
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)

"""How an open socket hears that its person's access changed: one pub/sub key per person.

A change to what someone may do (a token revoked, a logout, a password change, a role
lost or lowered) is published after its commit on `<prefix>:access:<user id>`
(`access_changed`). Each process watches the key of every person with a socket open
there, through ONE Redis pub/sub subscription (an `editor.core.relay.Relay`, as the
documents' and rooms' traffic), and pokes each of that person's sockets, which
re-checks its access and closes if it is gone (the consumers' `access_changed`).

Until issue 11 every socket joined a channel-layer group `user.<id>` when it opened and
left it when it closed: a new channel name, a receive task and three Redis round trips
per socket, a queue of thousands in a reconnect burst. Now the first socket of a person
in a process subscribes (and waits for Redis's confirmation); the others only register
in memory, and the last one's close unsubscribes.

The order that keeps revocation immediate: a socket is watched (subscription confirmed)
BEFORE it reads the person's role or uses a kept verdict, so a change committed after
that read reaches it; one committed before it is in the read.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, Protocol

from django.conf import settings

from editor.core import relay as core_relay
from editor.core.loops import PerLoop, Tasks
from editor.core.redis_clients import async_client, sync_client

log = logging.getLogger(__name__)
_CHANGED = {"type": "access.changed"}


class Watcher(Protocol):
    def access_poke(self) -> None:
        """Re-check access soon (without waiting here)."""


def access_channel(user_id: int | str) -> str:
    return f"{settings.FLINT_CHANNEL_PREFIX}:access:{user_id}"


def access_publish(user_id: int) -> None:
    """Tell every process that this person's access changed (from sync code, after commit)."""
    sync_client().publish(access_channel(user_id), core_relay.encode("service", [_CHANGED]))


class AccessWatch:
    """One process's (one event loop's) watched people and their sockets."""

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex
        self.watchers: dict[int, set[Watcher]] = {}
        # The person's subscription, once asked for: done when Redis confirmed it.
        self._subscribed: dict[int, asyncio.Task[None]] = {}
        self.tasks = Tasks()
        self.spawn = self.tasks.spawn
        self.relay = core_relay.Relay(
            name="access relay",
            log=log,
            origin=self.id,
            channel_of=access_channel,
            key_of=lambda channel: channel.rsplit(":", 1)[1],
            deliver=self._changed,
            spawn=self.spawn,
            connect=lambda: async_client(),
        )

    async def watch(self, user_id: int, watcher: Watcher) -> None:
        """From when this returns, every change of the person's access pokes `watcher`."""
        self.watchers.setdefault(user_id, set()).add(watcher)
        subscribed = self._subscribed.get(user_id)
        if subscribed is None:
            subscribed = self._subscribed[user_id] = self.spawn(self.relay.subscribe(str(user_id)))
        await asyncio.shield(subscribed)

    def unwatch(self, user_id: int, watcher: Watcher) -> None:
        watchers = self.watchers.get(user_id)
        if watchers is None or watcher not in watchers:
            return
        watchers.discard(watcher)
        if watchers:
            return
        del self.watchers[user_id]
        self._subscribed.pop(user_id, None)
        # Queued behind any subscribe already asked for (the relay's commands go in order).
        self.spawn(self.relay.unsubscribe(str(user_id)))

    def _changed(self, key: str, item: Any) -> None:
        if not isinstance(item, dict) or item.get("type") != _CHANGED["type"]:
            return
        for watcher in list(self.watchers.get(int(key), ())):
            try:
                watcher.access_poke()
            except Exception:  # one socket must not keep the others from hearing it
                log.exception("access relay: poking a socket failed")

    async def close(self) -> None:
        """Stop the relay (a test's loop ends; daphne's never does)."""
        await self.relay.close()
        self.tasks.cancel_all()
        _watches.forget(self)


_watches: PerLoop[AccessWatch] = PerLoop(AccessWatch)  # one per event loop (core/loops.py)


def access_watch() -> AccessWatch:
    return _watches.current()


class AccessWatched:
    """Mixed into a socket (both consumers): watch the person's access from its join to
    its close, and run its `access_changed()` re-check, one at a time, when poked."""

    watched_as: int | None = None  # the user id access_watch() pokes this socket for
    rechecks: Rechecks | None = None

    async def access_watch_start(self, user_id: int) -> None:
        """Returns once a change of this person's access committed from now on reaches us."""
        self.rechecks = Rechecks(self.access_changed)
        self.watched_as = user_id
        await access_watch().watch(user_id, self)

    def access_watch_stop(self) -> None:
        if self.watched_as is not None:
            access_watch().unwatch(self.watched_as, self)
            self.watched_as = None
            self.rechecks.cancel()

    def access_poke(self) -> None:
        self.rechecks.poke()


class Rechecks:
    """A socket's re-checks, one at a time: pokes during a re-check ask for one more after
    it (a change committed mid-check may not be in what it read), never for a pile."""

    def __init__(self, check) -> None:
        self._check = check
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def poke(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                await self._check()
            except Exception:
                log.exception("access re-check failed")
            if not self._again:
                return

    def cancel(self) -> None:
        if self._task is not None and not self._task.done() and self._task is not _current():
            self._task.cancel()


def _current() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None

"""A token's verdict, kept briefly, so that a person's next socket skips the sync thread.

A socket opened with ?token= is authenticated by a database read on asgiref's one shared
sync thread, behind whatever else it is doing; a page or the `flint` command opening
many sockets at once (a room and its documents, a reconnect) queued one such trip per
socket. Here the verdict of a good token is kept for TTL_S seconds, per process, keyed by
the token's hash (only the very token matches), and used only:

- while the person holds an open token socket in this process: each is in the person's
  access watch (access_watch.py), which `access_changed` reaches on every revocation, deactivation
  or logout, and the sockets' re-check (editor/rooms/recheck.py) calls `forget()` first;
  with the person's last socket here closed, nothing would tell this process, so their
  verdicts go with it;
- until the token's own expiry.

A revoked token therefore still closes its sockets at once, and is refused to a new
socket once the first re-check here has run: the gap is the relay's delivery of
`access_changed` (milliseconds), as for a socket that read the token just before the
revocation's commit. The failed-attempt cap (throttle.py) is still asked on every
socket, on the event loop.
"""

from __future__ import annotations

import copy
import hashlib
import threading
import time
from typing import Any

from django.utils import timezone

TTL_S = 10.0

_lock = threading.Lock()
_verdicts: dict[str, tuple[float, int, Any, Any]] = {}  # hash -> (at, token id, user, expires)
_holders: dict[int, int] = {}  # user id -> open token sockets here
_generation = 0  # times forgotten: a verdict read before a forget is not kept


def key(raw: str) -> str:
    """What a token is known by here (its hash: the raw token is not kept)."""
    return hashlib.sha256(raw.encode()).hexdigest()


def lookup(raw: str) -> tuple[int, Any] | None:
    """(token id, user) if this token's good verdict is kept and may be used."""
    wanted = key(raw)
    with _lock:
        kept = _verdicts.get(wanted)
        if kept is None:
            return None
        at, token_id, user, expires_at = kept
        if not _holders.get(user.pk) or time.monotonic() - at > TTL_S:
            return None
    if expires_at is not None and expires_at <= timezone.now():
        return None
    return token_id, copy.copy(user)  # each socket's own instance (re-checks refresh it)


def generation() -> int:
    """Read before the database: `keep` drops a verdict read before a `forget`."""
    with _lock:
        return _generation


def keep(raw: str, token: Any, *, read_at: int) -> None:
    """Remember a good token's verdict, read after `generation()` said read_at."""
    with _lock:
        if _generation != read_at:
            return  # someone's access changed while this was read
        _verdicts[key(raw)] = (time.monotonic(), token.pk, token.user, token.expires_at)


def holding(user_id: int) -> bool:
    """Whether the person holds an open socket here (so this process hears of changes)."""
    with _lock:
        return bool(_holders.get(user_id))


def hold(user_id: int) -> None:
    """A token socket of this person is open here: kept verdicts may be used."""
    with _lock:
        _holders[user_id] = _holders.get(user_id, 0) + 1


def release(user_id: int) -> None:
    """A token socket of this person closed; with their last one, forget their verdicts."""
    with _lock:
        left = _holders.get(user_id, 0) - 1
        if left > 0:
            _holders[user_id] = left
            return
        _holders.pop(user_id, None)
    forget(user_id)


def forget(user_id: int) -> None:
    """The person's access changed: their next socket asks the database."""
    global _generation
    with _lock:
        _generation += 1
        for key in [key for key, kept in _verdicts.items() if kept[2].pk == user_id]:
            del _verdicts[key]

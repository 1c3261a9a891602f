"""What a document socket's join looked up, kept briefly so the next join skips the database.

A join needs the person's room role (authorization) and the `user` its awareness states
carry (the profile). A team opening many files, or a page reconnecting, asks the same
questions again within seconds; each answer was a trip to the one shared sync thread and
the database. Here they are kept for TTL_S seconds, per process.

Revocation still closes sockets at once, and a kept role is never used after it: an
entry is used only while the person holds an open document socket in this process, and
each such socket is watched for the person's access changes (accounts/access_watch.py),
which every removal, demotion, deactivation, revoked token or logout reaches; the socket's
handler calls `forget()` before it re-checks, uncached. When the person's last socket
here closes, their entries go too: with no socket here, nothing would tell this process.
A joining socket enters the group before it reads a role, so a change committed after
that reaches it too. What remains is the moment between a change's commit and the first
handler's `forget()` (the relay's delivery, milliseconds): a join then is let in
on the old role until its next re-check, like a join that read the database just
before the commit.
"""

from __future__ import annotations

import threading
import time
from typing import Any

TTL_S = 10.0

_lock = threading.Lock()
_holders: dict[int, int] = {}  # user id -> open document sockets here
_roles: dict[tuple[int, int], tuple[float, Any]] = {}  # (user, room) -> (at, role)
_people: dict[int, tuple[float, dict[str, Any]]] = {}  # user -> (at, awareness user)
_generations: dict[int, int] = {}  # user -> times forgotten (see keep)


def role(user_id: int, room_id: int) -> tuple[bool, Any]:
    """(found, role): the kept role, if the person holds a socket here and it is fresh."""
    with _lock:
        if not _holders.get(user_id):
            return False, None
        kept = _roles.get((user_id, room_id))
    if kept is None or time.monotonic() - kept[0] > TTL_S:
        return False, None
    return True, kept[1]


def person(user_id: int) -> dict[str, Any] | None:
    with _lock:
        if not _holders.get(user_id):
            return None
        kept = _people.get(user_id)
    if kept is None or time.monotonic() - kept[0] > TTL_S:
        return None
    return kept[1]


def generation(user_id: int) -> int:
    """Read before the database: `keep` drops answers read before a `forget`."""
    with _lock:
        return _generations.get(user_id, 0)


def keep(
    user_id: int, room_id: int, role: Any, awareness_user: dict[str, Any], *, read_at: int
) -> None:
    """Remember a join's answers, read from the database after `generation()` said read_at."""
    now = time.monotonic()
    with _lock:
        if _generations.get(user_id, 0) != read_at:
            return  # the person's access changed while this join was reading
        _roles[(user_id, room_id)] = (now, role)
        _people[user_id] = (now, awareness_user)


def holding(user_id: int) -> bool:
    """Whether the person holds an open socket here (so this process hears of changes)."""
    with _lock:
        return bool(_holders.get(user_id))


def hold(user_id: int) -> None:
    """A socket of this person joined (and is in their group): kept answers may be used."""
    with _lock:
        _holders[user_id] = _holders.get(user_id, 0) + 1


def release(user_id: int) -> None:
    """A socket of this person closed; with their last one, forget what was kept."""
    with _lock:
        left = _holders.get(user_id, 0) - 1
        if left > 0:
            _holders[user_id] = left
            return
        _holders.pop(user_id, None)
    forget(user_id)


def forget(user_id: int) -> None:
    """The person's access changed: the next join asks the database."""
    with _lock:
        _generations[user_id] = _generations.get(user_id, 0) + 1
        for key in [key for key in _roles if key[0] == user_id]:
            del _roles[key]
        _people.pop(user_id, None)

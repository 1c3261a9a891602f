"""A room's prepared environment: its set-up script, run once and cached; its allowed hosts.

The set-up script (room settings, e.g. `pip install --target /env/py -r requirements.txt`)
runs in the sandbox before the task's first step, with the project at /work (a scratch
copy: what it writes there is dropped) and /env writable. Its output goes to the task log.
A clean exit keeps /env in the worker's cache, keyed by the room and a hash of the script,
the set-up hosts and the lock files it reads (well-known lock and requirement files, and
any project file the script names), so the next task with the same key starts from it
in moments. Task commands see /env read-only, with /env/bin, /env/py/bin and
/env/node_modules/.bin on PATH and /env/py on PYTHONPATH.

The cache (FLINT_AGENTS_ENV_CACHE_DIR, default <temp>/flint-agent-envs) is bounded:
entries older than FLINT_AGENTS_ENV_CACHE_TTL_S are dropped, and the least recently used
go until the whole is under FLINT_AGENTS_ENV_CACHE_MB. It is per worker machine.

A script that fails, hangs past FLINT_AGENTS_SETUP_TIMEOUT_S or writes more than
FLINT_AGENTS_SETUP_DISK_MB ends the task `failed` with `setup_failed` and says which.
With allowed hosts the network goes through netproxy.py (one list for the script, one for
commands); without, there is none.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from editor.agents import netproxy, sandbox
from editor.agents.bwrap import Extras
from editor.agents.loop import Outcome
from editor.agents.models import Task
from editor.agents.progress import step_add
from editor.agents.room_settings import settings_of
from editor.agents.watchdog import Limits

log = logging.getLogger(__name__)

LOCK_NAMES = re.compile(
    r"(^|/)(requirements[^/]*\.txt|constraints[^/]*\.txt|pyproject\.toml|poetry\.lock|uv\.lock"
    r"|Pipfile(\.lock)?|setup\.cfg|package(-lock)?\.json|yarn\.lock|pnpm-lock\.yaml"
    r"|Cargo\.(toml|lock)|go\.(mod|sum)|Gemfile(\.lock)?|composer\.(json|lock))$"
)
ENV_VARS = {
    "PATH": "/env/bin:/env/py/bin:/env/node_modules/.bin:/usr/local/bin:/usr/bin:/bin",
    "PYTHONPATH": "/env/py",
    "NODE_PATH": "/env/node_modules",
    "FLINT_ENV": "/env",
}
OUTPUT_SHOWN = 3500


@dataclass
class Prepared:
    extras: Extras | None = None
    failure: Outcome | None = None


def lock_files(script: str, files: dict[str, str]) -> list[str]:
    """The project files a set-up script reads, as far as we can tell."""
    return sorted(p for p in files if LOCK_NAMES.search(p) or p in script)


def cache_key(script: str, hosts: list[str], files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    digest.update(script.encode())
    digest.update(json.dumps(sorted(hosts)).encode())
    for path in lock_files(script, files):
        digest.update(b"\0" + path.encode() + b"\0" + hashlib.sha256(files[path].encode()).digest())
    return digest.hexdigest()[:32]


# --- the cache ------------------------------------------------------------------------


def cache_dir() -> Path:
    base = settings.FLINT_AGENTS_ENV_CACHE_DIR or os.path.join(
        tempfile.gettempdir(), "flint-agent-envs"
    )
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o711)  # sandbox uids traverse it to their entry; nobody lists it
    return path


def _entry(room_id: int, key: str) -> Path:
    return cache_dir() / str(room_id) / key


def _size(path: Path) -> int:
    total = 0
    for top, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(top, name)).st_blocks * 512
    return total


def cache_lookup(room_id: int, key: str) -> Path | None:
    entry = _entry(room_id, key)
    stamp = entry / "used"
    if not (entry / "env").is_dir() or not stamp.exists():
        return None
    ttl = float(settings.FLINT_AGENTS_ENV_CACHE_TTL_S)
    if time.time() - (entry / "env").stat().st_mtime > ttl:
        shutil.rmtree(entry, ignore_errors=True)
        return None
    stamp.touch()  # least recently used goes first
    return entry / "env"


def _readable(path: Path) -> None:
    """Every sandbox uid reads the cached environment (read-only bind); root owns it."""
    for top, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            full = os.path.join(top, name)
            with contextlib.suppress(OSError):
                os.lchown(full, os.geteuid(), os.getegid())
                if not os.path.islink(full):
                    mode = os.lstat(full).st_mode
                    os.chmod(full, (mode | 0o444 | (0o111 if mode & 0o111 or name in dirs
                                                         else 0)) & ~0o222)  # fmt: skip
    os.chown(path, os.geteuid(), os.getegid())
    path.chmod(0o555)


def cache_store(room_id: int, key: str, env: Path) -> tuple[Path | None, str]:
    """Move a fresh /env into the cache; (its path, "") or (None, why not cached)."""
    size = _size(env)
    cap = int(settings.FLINT_AGENTS_ENV_CACHE_MB) * 1024 * 1024
    if size > cap:
        return None, f"it is {size // 2**20} MB, more than the cache's {cap // 2**20} MB"
    room = cache_dir() / str(room_id)
    room.mkdir(exist_ok=True)
    room.chmod(0o711)
    staging = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=room))
    os.rename(env, staging / "env")
    _readable(staging / "env")
    (staging / "size").write_text(str(size))
    (staging / "used").touch()
    staging.chmod(0o711)
    try:
        os.rename(staging, _entry(room_id, key))
    except OSError:  # another worker stored the same key meanwhile: use theirs
        shutil.rmtree(staging, ignore_errors=True)
    cache_evict()
    return cache_lookup(room_id, key), ""


def cache_evict(now: float | None = None) -> int:
    """Drop expired entries, then the least recently used until under the size cap."""
    now = now or time.time()
    ttl = float(settings.FLINT_AGENTS_ENV_CACHE_TTL_S)
    cap = int(settings.FLINT_AGENTS_ENV_CACHE_MB) * 1024 * 1024
    entries = []
    dropped = 0
    for room in cache_dir().iterdir():
        if not room.is_dir():
            continue
        for entry in room.iterdir():
            if "." in entry.name:  # a staging dir: another worker's, or a crash's leftover
                if now - entry.stat().st_mtime > 3600:
                    shutil.rmtree(entry, ignore_errors=True)
                continue
            try:
                made = (entry / "env").stat().st_mtime
                used = (entry / "used").stat().st_mtime
                size = int((entry / "size").read_text())
            except (OSError, ValueError):
                shutil.rmtree(entry, ignore_errors=True)
                dropped += 1
                continue
            if now - made > ttl:
                shutil.rmtree(entry, ignore_errors=True)
                dropped += 1
            else:
                entries.append((used, size, entry))
    total = sum(size for _, size, _ in entries)
    for _used, size, entry in sorted(entries):
        if total <= cap:
            break
        shutil.rmtree(entry, ignore_errors=True)
        total -= size
        dropped += 1
    return dropped


# --- a task's environment ---------------------------------------------------------------


def _setup_limits() -> Limits:
    limits = Limits.from_settings()
    limits.timeout_s = float(settings.FLINT_AGENTS_SETUP_TIMEOUT_S)
    limits.cpu_s = max(limits.cpu_s, int(limits.timeout_s))
    limits.disk_mb = int(settings.FLINT_AGENTS_SETUP_DISK_MB)
    limits.file_mb = max(limits.file_mb, min(limits.disk_mb, 512))
    return limits


def _failed(message: str) -> Outcome:
    return Outcome(status="failed", error_kind="setup_failed", error_message=message)


class _NetNotes:
    """What the proxy saw, told once per host and kind in the task log."""

    def __init__(self, task: Task, phase: str) -> None:
        self.task, self.phase = task, phase
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, kind: str, detail: str) -> None:
        if kind == "reached" or (kind, detail) in self.seen:
            return
        self.seen.add((kind, detail))
        text = {
            "refused": f"network ({self.phase}): refused {detail}: not an allowed host",
            "unreachable": f"network ({self.phase}): the allowed host {detail} did not answer",
        }[kind]
        try:
            step_add(task=self.task, kind="error", text=text)
        finally:
            from django.db import connection

            connection.close()  # this ran on a proxy thread: its own connection


def _run_setup(
    task: Task, script: str, hosts: list[str], files: dict[str, str],
    cancelled: Callable[[], bool], key: str,
) -> tuple[Path | None, Outcome | None]:  # fmt: skip
    first = script.strip().splitlines()[0][:200]
    step_add(task=task, kind="setup", text=f"set-up script: running (not cached yet)\n$ {first}")
    kept: list[Path] = []
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        extras = None
        if hosts:
            proxy = stack.enter_context(netproxy.serve(hosts, _NetNotes(task, "set-up")))
            extras = proxy.extras()
        extras = extras or Extras()
        extras.env = {**extras.env, **ENV_VARS}
        holding = Path(tempfile.mkdtemp(prefix="flint-env-"))
        stack.callback(shutil.rmtree, holding, ignore_errors=True)

        def keep(env: Path) -> None:
            os.rename(env, holding / "env")
            kept.append(holding / "env")

        result = sandbox.run_setup(script=script, files=files, keep=keep, cancelled=cancelled,
                                   limits=_setup_limits(), extras=extras)  # fmt: skip
        seconds = time.monotonic() - started
        output = result.output.strip()
        if len(output) > OUTPUT_SHOWN:
            output = "… " + output[-OUTPUT_SHOWN:]
        if result.cancelled:
            return None, Outcome(status="cancelled", error_message="Stopped by a user.")
        if result.killed or result.timed_out or result.exit_code != 0:
            if result.timed_out:
                why = (f"did not finish within {_setup_limits().timeout_s:g} s "
                       "(FLINT_AGENTS_SETUP_TIMEOUT_S)")  # fmt: skip
            elif result.killed:
                why = "was " + result.killed.removeprefix("killed: ").replace(
                    "the command", "stopped: it"
                )
            elif result.exit_code is None:
                why = "printed too much and was stopped"
            else:
                why = f"failed with exit code {result.exit_code}"
            step_add(task=task, kind="setup", text=f"set-up script {why} after {seconds:.1f} s:\n"
                     f"{output or '(no output)'}")  # fmt: skip
            return None, _failed(
                f"The room's set-up script {why}; its output is in the log. A room owner can "
                "fix it in the room's task settings."
            )
        step_add(task=task, kind="setup", text=f"set-up script done in {seconds:.1f} s:\n"
                 f"{output or '(no output)'}")  # fmt: skip
        if not kept:
            return None, _failed("The set-up script's environment could not be kept.")
        env, why_not = cache_store(task.room_id, key, kept[0])
        if env is None:
            step_add(task=task, kind="info", text=f"set-up result not cached: {why_not}.")
            # Used for this task from a copy outside the cache, removed when the task ends.
            return None, _failed(f"The set-up script's environment is too large: {why_not}.")
        return env, None


@contextlib.contextmanager
def prepared(
    *, task: Task, commands: bool, files: dict[str, str], cancelled: Callable[[], bool]
) -> Iterator[Prepared]:
    """The task's sandbox additions, for as long as it runs (the proxy lives this long)."""
    room = settings_of(task.room)
    script = (room.setup_script or "").strip()
    hosts = list(room.command_hosts or [])
    if not commands:
        if script or hosts:
            step_add(task=task, kind="info", text="The room's set-up script and allowed hosts "
                     "are not used: commands are disabled on this worker.")  # fmt: skip
        yield Prepared()
        return
    extras = Extras()
    if script:
        key = cache_key(script, list(room.setup_hosts or []), files)
        started = time.monotonic()
        env = cache_lookup(task.room_id, key)
        if env is not None:
            step_add(task=task, kind="setup", text=f"set-up script: ready from the cache in "
                     f"{time.monotonic() - started:.2f} s (key {key[:12]})")  # fmt: skip
        else:
            env, failure = _run_setup(
                task, script, list(room.setup_hosts or []), files, cancelled, key
            )
            if failure is not None:
                yield Prepared(failure=failure)
                return
        extras.binds.append((str(env), "/env"))
        extras.env.update(ENV_VARS)
    with contextlib.ExitStack() as stack:
        if hosts:
            proxy = stack.enter_context(netproxy.serve(hosts, _NetNotes(task, "commands")))
            net = proxy.extras()
            extras.binds += net.binds
            extras.env.update(net.env)
            extras.prefix = net.prefix
            step_add(task=task, kind="info", text="network for commands: only "
                     + ", ".join(hosts))  # fmt: skip
        yield Prepared(extras=extras if (extras.binds or extras.env) else None)

"""Commands for the agent, run with bubblewrap in a throw-away copy of its working tree.

Each command gets a private host directory holding its only writable paths: the working
copy (mounted at /work), /tmp and /dev/shm. Everything else is read-only: /usr and the few
/etc files programs need to start, bwrap's own root and /dev. No network (a new, empty
network namespace), new pid/ipc/uts namespaces (only the command's own processes in
/proc), no capabilities, --die-with-parent, and rlimits per process (CPU seconds, address
space, processes, file size, no core files).

Nothing of the worker shows through: bwrap is started with an empty environment (its pid 1
inside keeps the one it was started with, readable at /proc/1/environ), and the worker's
own paths that a read-only bind could reach (source tree, data dir with the database, the
secret key and Redis's socket, the interpreter's site-packages, /usr/local/etc) are
covered by an empty read-only directory.

The command as a whole (its process tree) is bounded in memory, processes, CPU time and
disk by editor/agents/watchdog.py; going over, a wall-clock timeout or the task being
cancelled kill the whole sandbox. When the worker runs as root, the sandbox runs as an
unprivileged uid instead (FLINT_AGENTS_SANDBOX_UID): root is exempt from RLIMIT_NPROC and
bwrap keeps root's capabilities.

If bwrap is missing or fails its probe, `available()` is False and the run_command tool
is not offered: commands never run unsandboxed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from editor.agents import bwrap, watchdog
from editor.agents.watchdog import Limits

__all__ = ["CommandResult", "Limits", "available", "probe", "run_command"]

log = logging.getLogger(__name__)

_probe: tuple[bool, str] | None = None


@dataclass
class CommandResult:
    exit_code: int | None
    output: str
    timed_out: bool = False
    cancelled: bool = False
    truncated: bool = False
    changed: dict[str, str | None] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    killed: str = ""  # "killed: the command used more than …" when it went over a limit


def _preexec(limits: Limits, uid: int | None, meter: watchdog.Meter) -> Callable[[], None]:
    nproc = meter.nproc()

    def run() -> None:
        def cap(kind: int, value: int) -> None:
            resource.setrlimit(kind, (value, value))

        meter.join()  # first, while we may still write to the cgroup
        cap(resource.RLIMIT_CPU, limits.cpu_s)
        cap(resource.RLIMIT_AS, limits.memory_mb * 1024 * 1024)
        cap(resource.RLIMIT_NPROC, nproc)
        cap(resource.RLIMIT_FSIZE, min(limits.file_mb, limits.disk_mb) * 1024 * 1024)
        cap(resource.RLIMIT_CORE, 0)
        cap(resource.RLIMIT_NOFILE, 256)
        if uid is not None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)

    return run


def _run(
    argv: list[str],
    root: Path,
    limits: Limits,
    cancelled: Callable[[], bool],
    extras: bwrap.Extras | None = None,
) -> CommandResult:
    with bwrap.sandbox_uid() as uid:
        return _run_as(argv, root, limits, cancelled, uid, extras)


def _run_as(
    argv: list[str],
    root: Path,
    limits: Limits,
    cancelled: Callable[[], bool],
    uid: int | None,
    extras: bwrap.Extras | None = None,
) -> CommandResult:
    if uid is not None:
        os.chown(root, uid, uid)
        for top, dirs, files in os.walk(root):
            for name in dirs + files:
                os.lchown(os.path.join(top, name), uid, uid)
    started = time.monotonic()
    meter = watchdog.meter(limits)
    disk_bytes = limits.disk_mb * 1024 * 1024
    next_disk = 0.0
    with contextlib.ExitStack() as stack:
        stack.callback(meter.close)
        out = stack.enter_context(tempfile.TemporaryFile())
        process = subprocess.Popen(
            bwrap.bwrap_args(root, extras) + (extras.prefix if extras else []) + argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=bwrap.ENV,
            preexec_fn=_preexec(limits, uid, meter),
            start_new_session=True,
            close_fds=True,
        )
        result = CommandResult(exit_code=None, output="")
        try:
            while True:
                try:
                    result.exit_code = process.wait(timeout=0.05)
                    break
                except subprocess.TimeoutExpired:
                    pass
                over = meter.over(process.pid)
                now = time.monotonic()
                if over is None and now >= next_disk:
                    over = "disk" if watchdog.disk_over(root, disk_bytes) else None
                    # A big tree takes a while to walk: never spend more than a fifth of
                    # the time walking it.
                    next_disk = now + 4 * (time.monotonic() - now)
                if over:
                    result.killed = limits.killed(over)
                    break
                if cancelled():
                    result.cancelled = True
                    break
                if now - started > limits.timeout_s:
                    result.timed_out = True
                    break
                if out.tell() > limits.output_bytes * 64:
                    break  # a command printing without end: stop it, keep the start
        finally:
            if result.exit_code is None:
                # The new session is bwrap's; with --die-with-parent and the pid namespace,
                # killing it takes every process of the sandbox with it.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if not result.killed and result.exit_code is not None:
            # Went over just as it ended (the OOM killer's victim was its last process).
            # Only a cgroup remembers: bwrap's pid is reaped, and may be another's now.
            over = meter.over(None)
            result.killed = limits.killed(over) if over else ""
        out.seek(0)
        data = out.read(limits.output_bytes + 1)
    result.truncated = len(data) > limits.output_bytes
    result.output = data[: limits.output_bytes].decode("utf-8", "replace")
    result.seconds = time.monotonic() - started
    return result


def probe() -> tuple[bool, str]:
    """(works, why not): bwrap runs a command in the sandbox here. Probed once per process."""
    global _probe
    if _probe is not None:
        return _probe
    if str(settings.FLINT_AGENTS_SANDBOX).lower() == "off":
        _probe = (False, "the sandbox is turned off (FLINT_AGENTS_SANDBOX=off)")
        return _probe
    if shutil.which("bwrap") is None:
        _probe = (False, "bubblewrap (bwrap) is not installed on this worker")
        return _probe
    root = bwrap.make_root()
    try:
        limits = Limits.from_settings()
        limits.timeout_s = 10
        result = _run(["/bin/sh", "-c", "echo ok > probe"], root, limits, lambda: False)
        if result.exit_code == 0 and (root / "work" / "probe").read_text().strip() == "ok":
            _probe = (True, "")
            log.info(
                "agent commands run in bubblewrap; limits of each command's whole tree "
                "by %s (and the disk watchdog)",
                watchdog.mechanism(),
            )
        else:
            _probe = (False, f"bwrap failed its probe: {result.output.strip()[:200]}")
    except Exception as exc:  # any failure means: no sandbox, never "run it anyway"
        _probe = (False, f"bwrap failed its probe: {exc}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if not _probe[0]:
        log.warning("agent commands disabled: %s", _probe[1])
    return _probe


def available() -> bool:
    return probe()[0]


def _collect(work: Path, max_bytes: int) -> tuple[dict[str, str], list[str]]:
    """Regular text files under `work` (symlinks and special files never followed)."""
    found: dict[str, str] = {}
    skipped: list[str] = []
    for root, _dirs, files in os.walk(work, followlinks=False):
        for name in files:
            full = Path(root) / name
            rel = full.relative_to(work).as_posix()
            info = os.lstat(full)
            if not stat.S_ISREG(info.st_mode):
                skipped.append(f"{rel} (not a regular file)")
                continue
            if info.st_size > max_bytes:
                skipped.append(f"{rel} (larger than {max_bytes} bytes)")
                continue
            try:
                fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW)
                with os.fdopen(fd, "rb") as handle:
                    data = handle.read(max_bytes + 1)
            except OSError:
                skipped.append(f"{rel} (unreadable)")
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                skipped.append(f"{rel} (binary)")
                continue
            if "\x00" in text:
                skipped.append(f"{rel} (binary)")
                continue
            found[rel] = text
    return found, skipped


def run_command(
    *,
    command: str,
    files: dict[str, str],
    cancelled: Callable[[], bool] = lambda: False,
    limits: Limits | None = None,
    max_file_bytes: int = 2 * 1024 * 1024,
    extras: bwrap.Extras | None = None,
) -> CommandResult:
    """Run `command` with /bin/sh in a sandbox holding `files`; report what it changed.

    `extras`: the room's prepared environment and network (environments.py)."""
    if not available():
        raise RuntimeError("no sandbox on this worker")
    limits = limits or Limits.from_settings()
    root = bwrap.make_root()
    work = root / "work"
    try:
        for path, text in files.items():
            target = work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        result = _run(["/bin/sh", "-c", command], root, limits, cancelled, extras)
        after, skipped = _collect(work, max_file_bytes)
        result.skipped = skipped
        for path, text in after.items():
            if files.get(path) != text:
                result.changed[path] = text
        for path in files:
            if path not in after and not any(s.startswith(path + " ") for s in skipped):
                result.changed[path] = None
        return result
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_setup(
    *,
    script: str,
    files: dict[str, str],
    keep: Callable[[Path], None],
    cancelled: Callable[[], bool] = lambda: False,
    limits: Limits | None = None,
    extras: bwrap.Extras | None = None,
) -> CommandResult:
    """Run a room's set-up script: the project at /work (a scratch copy: its changes are
    dropped), /env writable. After a clean exit `keep(env_dir)` takes /env (the cache
    moves it away) before the sandbox's directory is removed."""
    if not available():
        raise RuntimeError("no sandbox on this worker")
    limits = limits or Limits.from_settings()
    root = bwrap.make_root()
    (root / "env").mkdir()
    extras = extras or bwrap.Extras()
    extras = bwrap.Extras(
        binds=extras.binds, env=extras.env, prefix=extras.prefix,
        writable=[*extras.writable, ("env", "/env")],
    )  # fmt: skip
    try:
        for path, text in files.items():
            target = root / "work" / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        result = _run(["/bin/sh", "-c", script], root, limits, cancelled, extras)
        if result.exit_code == 0 and not result.killed:
            keep(root / "env")
        return result
    finally:
        shutil.rmtree(root, ignore_errors=True)

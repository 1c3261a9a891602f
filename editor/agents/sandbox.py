"""Commands for the agent, run with bubblewrap in a throw-away copy of its working tree.

Each command gets: a temp directory holding the working copy (the only writable path,
mounted at /work), read-only /usr (and the few /etc files programs need to start), no
network (a new, empty network namespace), new pid/ipc/uts namespaces, no capabilities,
--die-with-parent, and rlimits set before exec (CPU seconds, address space, processes,
file size, no core files). A wall-clock timeout, or the task being cancelled, kills the
whole process group. When the worker runs as root, the sandbox runs as an unprivileged
uid instead (FLINT_AGENTS_SANDBOX_UID): root is exempt from RLIMIT_NPROC and bwrap keeps
root's capabilities, so a fork bomb would otherwise be unbounded.

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

from editor.agents import conf

log = logging.getLogger(__name__)

_ETC = ("alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime")
_probe: tuple[bool, str] | None = None


@dataclass
class Limits:
    timeout_s: float
    cpu_s: int
    memory_mb: int
    processes: int
    file_mb: int
    output_bytes: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            timeout_s=float(conf.get("FLINT_AGENTS_COMMAND_TIMEOUT_S")),
            cpu_s=int(conf.get("FLINT_AGENTS_COMMAND_CPU_S")),
            memory_mb=int(conf.get("FLINT_AGENTS_COMMAND_MEMORY_MB")),
            processes=int(conf.get("FLINT_AGENTS_COMMAND_PROCESSES")),
            file_mb=int(conf.get("FLINT_AGENTS_COMMAND_FILE_MB")),
            output_bytes=int(conf.get("FLINT_AGENTS_COMMAND_OUTPUT_BYTES")),
        )


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


def _sandbox_uid() -> int | None:
    """The uid commands run as: ours, or an unprivileged one when we are root."""
    if os.geteuid() != 0:
        return None
    return int(conf.get("FLINT_AGENTS_SANDBOX_UID"))


def _bwrap_args(work: Path) -> list[str]:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise FileNotFoundError("bwrap")
    args = [bwrap, "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session"]
    args += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib64", "lib32"):
        target = Path("/") / name
        if target.is_symlink():
            args += ["--symlink", os.readlink(target), f"/{name}"]
        elif target.is_dir():
            args += ["--ro-bind", str(target), f"/{name}"]
    for name in _ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    # /tmp and /work here are paths inside the sandbox's own mount namespace.
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]  # noqa: S108
    args += ["--bind", str(work), "/work", "--chdir", "/work"]
    args += ["--clearenv", "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin"]
    args += ["--setenv", "HOME", "/work", "--setenv", "LANG", "C.UTF-8"]
    args += ["--setenv", "TMPDIR", "/tmp"]  # noqa: S108
    return args


def _preexec(limits: Limits, uid: int | None) -> Callable[[], None]:
    def run() -> None:
        def cap(kind: int, value: int) -> None:
            resource.setrlimit(kind, (value, value))

        cap(resource.RLIMIT_CPU, limits.cpu_s)
        cap(resource.RLIMIT_AS, limits.memory_mb * 1024 * 1024)
        cap(resource.RLIMIT_NPROC, limits.processes)
        cap(resource.RLIMIT_FSIZE, limits.file_mb * 1024 * 1024)
        cap(resource.RLIMIT_CORE, 0)
        cap(resource.RLIMIT_NOFILE, 256)
        if uid is not None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)

    return run


def _run(
    argv: list[str],
    work: Path,
    limits: Limits,
    cancelled: Callable[[], bool],
) -> CommandResult:
    uid = _sandbox_uid()
    if uid is not None:
        os.chown(work, uid, uid)
        for root, dirs, files in os.walk(work):
            for name in dirs + files:
                os.lchown(os.path.join(root, name), uid, uid)
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(
            _bwrap_args(work) + argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_preexec(limits, uid),
            start_new_session=True,
            close_fds=True,
        )
        result = CommandResult(exit_code=None, output="")
        try:
            while True:
                try:
                    result.exit_code = process.wait(timeout=0.1)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if cancelled():
                    result.cancelled = True
                    break
                if time.monotonic() - started > limits.timeout_s:
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
    if str(conf.get("FLINT_AGENTS_SANDBOX")).lower() == "off":
        _probe = (False, "the sandbox is turned off (FLINT_AGENTS_SANDBOX=off)")
        return _probe
    if shutil.which("bwrap") is None:
        _probe = (False, "bubblewrap (bwrap) is not installed on this worker")
        return _probe
    work = Path(tempfile.mkdtemp(prefix="flint-probe-"))
    try:
        limits = Limits.from_settings()
        limits.timeout_s = 10
        result = _run(["/bin/sh", "-c", "echo ok > probe"], work, limits, lambda: False)
        if result.exit_code == 0 and (work / "probe").read_text().strip() == "ok":
            _probe = (True, "")
        else:
            _probe = (False, f"bwrap failed its probe: {result.output.strip()[:200]}")
    except Exception as exc:  # any failure means: no sandbox, never "run it anyway"
        _probe = (False, f"bwrap failed its probe: {exc}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
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
) -> CommandResult:
    """Run `command` with /bin/sh in a sandbox holding `files`; report what it changed."""
    if not available():
        raise RuntimeError("no sandbox on this worker")
    limits = limits or Limits.from_settings()
    work = Path(tempfile.mkdtemp(prefix="flint-sandbox-"))
    try:
        for path, text in files.items():
            target = work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        result = _run(["/bin/sh", "-c", command], work, limits, cancelled)
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
        shutil.rmtree(work, ignore_errors=True)

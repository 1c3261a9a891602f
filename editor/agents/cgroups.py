"""A cgroup per sandboxed command: the kernel bounds the tree's memory and process count.

`CgroupV2` where the worker's cgroup (or its parent, for a worker in a leaf of a delegated
subtree) gives children `memory` and `pids`; `CgroupV1` where the worker may create
cgroups in the v1 `memory`, `pids` and `cpuacct` hierarchies (root on a v1 host). The
command joins before it execs bwrap, so everything it starts is inside; `over()` reads the
counters to name the limit it hit (the OOM killer acted, a fork was refused, CPU total).
editor/agents/watchdog.py picks one, or measures /proc when neither can be had.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from editor.agents.bwrap import OWN_TASKS, uid_tasks

if TYPE_CHECKING:
    from editor.agents.watchdog import Limits

log = logging.getLogger(__name__)

_CGROUP = Path("/sys/fs/cgroup")
_V1 = ("memory", "pids", "cpuacct")


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _field(text: str, key: str) -> int:
    """`key N` from a cgroup flat-keyed file such as memory.events; 0 when absent."""
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


def _full(cgroup: Path) -> bool:
    """At its process limit: the next fork fails (RLIMIT_NPROC may refuse it first)."""
    current, limit = _read(cgroup / "pids.current").strip(), _read(cgroup / "pids.max").strip()
    return current.isdigit() and limit.isdigit() and int(current) >= int(limit)


def _own_cgroup(version: int, controller: str = "") -> str:
    for line in _read(Path("/proc/self/cgroup")).splitlines():
        _id, names, path = line.split(":", 2)
        if (version == 2 and names == "") or controller in names.split(","):
            return path.lstrip("/")
    return ""


class _Cgroup:
    """A cgroup made for one command. Subclasses name its files."""

    name = ""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.dirs: list[Path] = []
        self._join: list[bytes] = []

    def nproc(self) -> int:
        """RLIMIT_NPROC, a backstop above pids.max: the cgroup refuses first, and says so."""
        return 2 * (self.limits.processes + OWN_TASKS) + uid_tasks()

    def _make(self, parent: Path) -> Path:
        path = parent / f"flint-sandbox-{uuid.uuid4().hex[:12]}"
        path.mkdir()
        self.dirs.append(path)
        self._join.append(str(path / "cgroup.procs").encode())
        return path

    def join(self) -> None:
        """In the command's process, before exec: everything it starts is in the cgroup."""
        for procs in self._join:
            fd = os.open(procs, os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)

    def close(self) -> None:
        # bwrap is gone; its pid namespace's last processes may still be exiting.
        deadline = time.monotonic() + 2
        for path in self.dirs:
            while True:
                for pid in _read(path / "cgroup.procs").split():
                    with contextlib.suppress(OSError):
                        os.kill(int(pid), signal.SIGKILL)
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        log.warning("sandbox limits: could not remove %s", path)
                        break
                    time.sleep(0.02)


class CgroupV1(_Cgroup):
    name = "cgroup v1"

    def __init__(self, limits: Limits) -> None:
        super().__init__(limits)
        try:
            made = {c: self._make(_CGROUP / c / _own_cgroup(1, c)) for c in _V1}
            memory = str(limits.memory_mb * 1024 * 1024)
            (made["memory"] / "memory.limit_in_bytes").write_text(memory)
            with contextlib.suppress(OSError):  # only where swap accounting is on
                (made["memory"] / "memory.memsw.limit_in_bytes").write_text(memory)
            (made["pids"] / "pids.max").write_text(str(limits.processes + OWN_TASKS))
        except BaseException:
            self.close()
            raise
        self.memory, self.pids, self.cpu = made["memory"], made["pids"], made["cpuacct"]

    def over(self, _pid: int | None) -> str | None:
        if _field(_read(self.memory / "memory.oom_control"), "oom_kill"):
            return "memory"
        if _field(_read(self.pids / "pids.events"), "max") or _full(self.pids):
            return "processes"
        usage = _read(self.cpu / "cpuacct.usage").strip()
        if usage and int(usage) > self.limits.cpu_s * 1_000_000_000:
            return "cpu"
        return None


class CgroupV2(_Cgroup):
    name = "cgroup v2"

    def __init__(self, limits: Limits) -> None:
        super().__init__(limits)
        try:
            self.path = self._make(v2_parent())
            (self.path / "memory.max").write_text(str(limits.memory_mb * 1024 * 1024))
            with contextlib.suppress(OSError):
                (self.path / "memory.swap.max").write_text("0")
            (self.path / "pids.max").write_text(str(limits.processes + OWN_TASKS))
        except BaseException:
            self.close()
            raise

    def over(self, _pid: int | None) -> str | None:
        if _field(_read(self.path / "memory.events"), "oom_kill"):
            return "memory"
        if _field(_read(self.path / "pids.events"), "max") or _full(self.path):
            return "processes"
        if _field(_read(self.path / "cpu.stat"), "usage_usec") > self.limits.cpu_s * 1_000_000:
            return "cpu"
        return None

    def close(self) -> None:
        for path in self.dirs:
            with contextlib.suppress(OSError):
                (path / "cgroup.kill").write_text("1")
        super().close()


def v2_parent() -> Path:
    """Where a command's v2 cgroup goes: our cgroup, or (a worker in a leaf of a delegated
    subtree, as systemd's Delegate=yes wants it) its parent; whichever gives children
    memory and pids. Raises when neither does."""
    root = _CGROUP if (_CGROUP / "cgroup.controllers").exists() else _CGROUP / "unified"
    own = root / _own_cgroup(2)
    for parent in (own, own.parent):
        enabled = _read(parent / "cgroup.subtree_control").split()
        if parent.is_relative_to(root) and {"memory", "pids"} <= set(enabled):
            return parent
    raise FileNotFoundError(f"no cgroup v2 subtree with memory and pids at {own}")


def sweep(parents: list[Path], older_than_s: float = 600) -> None:
    """Remove the cgroups of commands whose worker was killed before it could. rmdir fails on
    a cgroup that still has processes, and a live command's is empty only for an instant."""
    for parent in parents:
        for path in parent.glob("flint-sandbox-*"):
            with contextlib.suppress(OSError):
                if time.time() - path.stat().st_mtime > older_than_s:
                    path.rmdir()
                    log.info("sandbox limits: removed %s, left by a killed worker", path)

"""Limits of one sandboxed command as a whole: memory, processes, CPU time and disk.

rlimits bound each process of a command; a command is a tree of them, and three processes
under a 1 GiB RLIMIT_AS hold 3 GiB. So the tree is bounded too, by one of two meters,
chosen once per worker (`mechanism()`, logged at the sandbox's probe):

- `cgroup v2` / `cgroup v1`: a fresh cgroup per command, joined by the command before it
  execs bwrap. The kernel enforces memory (the OOM killer acts inside the cgroup only) and
  the process count (fork fails); the watchdog reads the cgroup's counters to name what
  was hit and adds the CPU-time cap, which no cgroup controller offers as a total.
  v2 is used when the worker's cgroup is delegated with `memory` and `pids` enabled in
  its `cgroup.subtree_control`; v1 when the worker may create cgroups in the v1 `memory`,
  `pids` and `cpuacct` hierarchies (root on a cgroup v1 host).
- `watchdog`: no cgroup to be had (an unprivileged container). The tree is found through
  /proc (parent links from bwrap down; the pid namespace keeps every process of the
  command under bwrap) and sampled every 50 ms: resident memory summed, tasks counted, CPU
  time summed (live tasks' own time plus what they reaped). Between samples the per-process
  rlimits bound the overshoot.

Disk is always watched: the command's writable paths (/work, /tmp, /dev/shm) are
directories of one host directory, and its allocated blocks are summed (each entry counts
at least 4 KiB, so a flood of empty files is bounded too). Whatever is over, the command
is killed whole and the result names the limit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from editor.agents import conf

log = logging.getLogger(__name__)

_CGROUP = Path("/sys/fs/cgroup")
_V1 = ("memory", "pids", "cpuacct")
_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")
BWRAP_TASKS = 2  # bwrap itself and its init in the pid namespace are in the tree, not counted
_chosen: str | None = None  # what "auto" found, probed once


@dataclass
class Limits:
    timeout_s: float
    cpu_s: int
    memory_mb: int
    processes: int
    file_mb: int
    output_bytes: int
    disk_mb: int = 1024

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            timeout_s=float(conf.get("FLINT_AGENTS_COMMAND_TIMEOUT_S")),
            cpu_s=int(conf.get("FLINT_AGENTS_COMMAND_CPU_S")),
            memory_mb=int(conf.get("FLINT_AGENTS_COMMAND_MEMORY_MB")),
            processes=int(conf.get("FLINT_AGENTS_COMMAND_PROCESSES")),
            file_mb=int(conf.get("FLINT_AGENTS_COMMAND_FILE_MB")),
            output_bytes=int(conf.get("FLINT_AGENTS_COMMAND_OUTPUT_BYTES")),
            disk_mb=int(conf.get("FLINT_AGENTS_COMMAND_DISK_MB")),
        )

    def killed(self, what: str) -> str:
        """The tool result's first line when the command went over `what`."""
        size = {"memory": self.memory_mb, "disk": self.disk_mb}.get(what, 0)
        amount = f"{size // 1024} GiB" if size and size % 1024 == 0 else f"{size} MB"
        return {
            "memory": f"killed: the command used more than {amount} of memory",
            "disk": f"killed: the command used more than {amount} of disk",
            "processes": f"killed: the command used more than {self.processes} processes",
            "cpu": f"killed: the command used more than {self.cpu_s} s of CPU time",
        }[what]


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
        return 2 * (self.limits.processes + BWRAP_TASKS) + _uid_tasks()

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
            (made["pids"] / "pids.max").write_text(str(limits.processes + BWRAP_TASKS))
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
            self.path = self._make(_v2_parent())
            (self.path / "memory.max").write_text(str(limits.memory_mb * 1024 * 1024))
            with contextlib.suppress(OSError):
                (self.path / "memory.swap.max").write_text("0")
            (self.path / "pids.max").write_text(str(limits.processes + BWRAP_TASKS))
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


def _v2_parent() -> Path:
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


class ProcTree:
    """No cgroup: the tree under bwrap, measured from /proc."""

    name = "watchdog"

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def nproc(self) -> int:
        """RLIMIT_NPROC is the kernel's bound here: with a uid of its own, the tree's."""
        return self.limits.processes + BWRAP_TASKS + _uid_tasks()

    def join(self) -> None:
        pass

    def close(self) -> None:
        pass

    def over(self, pid: int | None) -> str | None:
        if pid is None:
            return None
        stats: dict[int, list[str]] = {}
        children: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as handle:
                    fields = handle.read().rpartition(")")[2].split()
            except OSError:
                continue  # gone meanwhile
            stats[int(entry.name)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry.name))
        tasks = ticks = pages = 0
        todo = [pid]
        while todo:
            current = todo.pop()
            fields = stats.get(current)
            if fields is None:
                continue
            # Fields after the command name: 11-14 utime stime cutime cstime,
            # 17 num_threads, 21 rss (pages); see proc(5), numbered from state = 0.
            ticks += sum(int(v) for v in fields[11:15])
            tasks += int(fields[17])
            pages += int(fields[21])
            todo += children.get(current, [])
        if pages * _PAGE > self.limits.memory_mb * 1024 * 1024:
            return "memory"
        if tasks >= self.limits.processes + BWRAP_TASKS:
            return "processes"
        if ticks / _TICK > self.limits.cpu_s:
            return "cpu"
        return None


def _uid_tasks() -> int:
    """What RLIMIT_NPROC counts besides the command: nothing when we are root (the command
    runs as a uid of its own), else the tasks our uid has already (the worker's too)."""
    return 0 if os.geteuid() == 0 else _tasks_of(os.getuid())


def _tasks_of(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                with open(f"/proc/{entry.name}/stat") as handle:
                    count += int(handle.read().rpartition(")")[2].split()[17])
        except OSError:
            continue
    return count


def disk_over(root: Path, limit_bytes: int) -> bool:
    """Does the tree under `root` take more than `limit_bytes`? Stops counting once it does."""
    used = 0
    todo = [str(root)]
    while todo:
        try:
            entries = list(os.scandir(todo.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            used += max(info.st_blocks * 512, 4096)
            if used > limit_bytes:
                return True
            if entry.is_dir(follow_symlinks=False):
                todo.append(entry.path)
    return False


Meter = CgroupV1 | CgroupV2 | ProcTree
_METERS: dict[str, type[Meter]] = {"cgroup v2": CgroupV2, "cgroup v1": CgroupV1}


def mechanism() -> str:
    """What bounds a command's tree on this worker: `cgroup v2`, `cgroup v1` or `watchdog`."""
    global _chosen
    wanted = str(conf.get("FLINT_AGENTS_SANDBOX_LIMITS")).lower()
    if wanted == "watchdog":
        return "watchdog"
    if _chosen is None:
        _chosen = _choose()
    return _chosen


def _choose() -> str:
    probe = Limits(timeout_s=1, cpu_s=1, memory_mb=64, processes=8, file_mb=1, output_bytes=1)
    for name in ("cgroup v2", "cgroup v1"):
        try:
            trial = _METERS[name](probe)
            try:  # a process can join it, as a command will
                subprocess.run(["/bin/true"], preexec_fn=trial.join, check=True)
            finally:
                trial.close()
            _sweep([path.parent for path in trial.dirs])
            return name
        except (OSError, subprocess.SubprocessError) as exc:
            log.info("sandbox limits: no %s here (%s)", name, exc)
    return "watchdog"


def _sweep(parents: list[Path], older_than_s: float = 600) -> None:
    """Remove the cgroups of commands whose worker was killed before it could. rmdir fails on
    a cgroup that still has processes, and a live command's is empty only for an instant."""
    for parent in parents:
        for path in parent.glob("flint-sandbox-*"):
            with contextlib.suppress(OSError):
                if time.time() - path.stat().st_mtime > older_than_s:
                    path.rmdir()
                    log.info("sandbox limits: removed %s, left by a killed worker", path)


def meter(limits: Limits) -> Meter:
    """A fresh meter for one command, of the kind `mechanism()` chose."""
    kind = _METERS.get(mechanism(), ProcTree)
    try:
        return kind(limits)
    except OSError as exc:  # the cgroup went away (remounted, out of ids): still bounded
        log.warning(
            "sandbox limits: %s failed for this command (%s), using the watchdog", kind, exc
        )
        return ProcTree(limits)

"""Limits of one sandboxed command as a whole: memory, processes, CPU time and disk.

rlimits bound each process of a command; a command is a tree of them, and three processes
under a 1 GiB RLIMIT_AS hold 3 GiB. So the tree is bounded too, by one of two meters,
chosen once per worker (`mechanism()`, logged at the sandbox's probe):

- `cgroup v2` / `cgroup v1` (editor/agents/cgroups.py): a fresh cgroup per command,
  joined by the command before it execs bwrap. The kernel enforces memory (the OOM killer
  acts inside the cgroup only) and the process count (a fork fails); the cgroup's counters
  name what was hit, and give the CPU total (no controller caps a total: we kill).
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

import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from editor.agents import cgroups
from editor.agents.bwrap import OWN_TASKS, uid_tasks

log = logging.getLogger(__name__)

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")
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
            timeout_s=float(settings.FLINT_AGENTS_COMMAND_TIMEOUT_S),
            cpu_s=int(settings.FLINT_AGENTS_COMMAND_CPU_S),
            memory_mb=int(settings.FLINT_AGENTS_COMMAND_MEMORY_MB),
            processes=int(settings.FLINT_AGENTS_COMMAND_PROCESSES),
            file_mb=int(settings.FLINT_AGENTS_COMMAND_FILE_MB),
            output_bytes=int(settings.FLINT_AGENTS_COMMAND_OUTPUT_BYTES),
            disk_mb=int(settings.FLINT_AGENTS_COMMAND_DISK_MB),
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


class ProcTree:
    """No cgroup: the tree under bwrap, measured from /proc."""

    name = "watchdog"

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def nproc(self) -> int:
        """RLIMIT_NPROC is the kernel's bound here: with a uid of its own, the tree's."""
        return self.limits.processes + OWN_TASKS + uid_tasks()

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
        if tasks >= self.limits.processes + OWN_TASKS:
            return "processes"
        if ticks / _TICK > self.limits.cpu_s:
            return "cpu"
        return None


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


Meter = cgroups.CgroupV1 | cgroups.CgroupV2 | ProcTree
_METERS: dict[str, type[Meter]] = {"cgroup v2": cgroups.CgroupV2, "cgroup v1": cgroups.CgroupV1}


def mechanism() -> str:
    """What bounds a command's tree on this worker: `cgroup v2`, `cgroup v1` or `watchdog`."""
    global _chosen
    wanted = str(settings.FLINT_AGENTS_SANDBOX_LIMITS).lower()
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
            cgroups.sweep([path.parent for path in trial.dirs])
            return name
        except (OSError, subprocess.SubprocessError) as exc:
            log.info("sandbox limits: no %s here (%s)", name, exc)
    return "watchdog"


def meter(limits: Limits) -> Meter:
    """A fresh meter for one command, of the kind `mechanism()` chose."""
    kind = _METERS.get(mechanism(), ProcTree)
    try:
        return kind(limits)
    except OSError as exc:  # the cgroup went away (remounted, out of ids): still bounded
        log.warning(
            "sandbox limits: %s failed for this command (%s), using the watchdog", kind.name, exc
        )
        return ProcTree(limits)

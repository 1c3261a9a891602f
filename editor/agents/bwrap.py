"""How one command's bubblewrap sandbox is laid out: its mounts, and the uid it runs as.

Writable: a private host directory per command (`make_root`) holding /work, /tmp and
/dev/shm, so one walk measures all the command can write. Read-only: /usr, the few /etc
files programs need to start, bwrap's own root and /dev (tmpfs it makes: writable, they
would be memory outside every limit). The worker's own paths that a read-only bind could
reach (source tree, data dir with the SQLite file, the secret key and Redis's socket, the
interpreter's packages, /usr/local/etc) are covered with an empty read-only directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import site
import stat
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

_ETC = ("alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime")
# bwrap itself needs nothing from the environment (the command's is set with --setenv):
# whatever it is started with, its pid 1 in the sandbox keeps, readable at /proc/1/environ.
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
OWN_TASKS = 2  # bwrap and its pid 1 inside: in the command's tree, not counted against it
_WRITABLE = {"work": "/work", "tmp": "/tmp", "shm": "/dev/shm"}  # noqa: S108 (inside)


@dataclass
class Extras:
    """What a room adds to its commands' sandbox (editor/agents/environments.py): its
    prepared environment and network proxy, bound read-only, their variables, and a
    program the command runs under (the proxy's forwarder)."""

    binds: list[tuple[str, str]] = field(default_factory=list)  # (host path, inside), ro
    env: dict[str, str] = field(default_factory=dict)
    prefix: list[str] = field(default_factory=list)
    writable: list[tuple[str, str]] = field(default_factory=list)  # under the command's root


@contextlib.contextmanager
def sandbox_uid() -> Iterator[int | None]:
    """The uid a command runs as: ours, or when we are root one of a range, its own.

    Root is exempt from RLIMIT_NPROC and bwrap would keep root's capabilities. RLIMIT_NPROC
    counts the processes of a uid, so each command running at once gets a uid of its own
    (FLINT_AGENTS_SANDBOX_UID + n), held by a lock file for as long as it runs.
    """
    if os.geteuid() != 0:
        yield None
        return
    first = int(settings.FLINT_AGENTS_SANDBOX_UID)
    count = int(settings.FLINT_AGENTS_SANDBOX_UIDS)
    locks = Path(tempfile.gettempdir()) / "flint-sandbox-uids"
    locks.mkdir(mode=0o700, exist_ok=True)
    info = locks.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o077:
        raise RuntimeError(f"{locks} is not root's own: refusing to take uids from it")
    start = os.getpid() % count  # workers start their search at different slots
    order = [(start + i) % count for i in range(count)]
    for attempt, n in enumerate([*order, start]):
        handle = open(locks / str(first + n), "a")  # noqa: SIM115 (held while it runs)
        wait = attempt == count  # every uid is busy: wait for the first one tried
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            yield first + n
        finally:
            handle.close()
        return


def _worker_paths() -> list[Path]:
    """Paths of this worker that hold secrets or code, wherever they are."""
    paths = [Path(settings.BASE_DIR), Path(settings.DATA_DIR), Path("/usr/local/etc")]
    database = settings.DATABASES["default"]
    if "sqlite" in database["ENGINE"]:
        paths.append(Path(str(database["NAME"])).parent)
    socket = getattr(settings, "EMBEDDED_REDIS_SOCKET", None)
    if socket:
        paths.append(Path(socket).parent)
    if sys.prefix != sys.base_prefix:  # a virtualenv: ours alone
        paths.append(Path(sys.prefix))
    # Our interpreter's packages; the distribution's own (/usr/lib/python3) are the image's.
    packages = [*site.getsitepackages(), sysconfig.get_path("purelib")]
    paths += [Path(p) for p in packages if not p.startswith("/usr/lib/python3/")]
    return paths


def _masks(bound: list[str]) -> list[Path]:
    """The worker's paths a read-only bind would show, outermost only."""
    found: list[Path] = []
    for path in sorted({p.resolve() for p in _worker_paths()}, key=lambda p: len(p.parts)):
        shown = any(path.is_relative_to(b) and path != Path(b) for b in bound)
        if shown and path.exists() and not any(path.is_relative_to(f) for f in found):
            found.append(path)
    return found


def bwrap_args(root: Path, extras: Extras | None = None) -> list[str]:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise FileNotFoundError("bwrap")
    args = [bwrap, "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session"]
    bound = ["/usr"]
    args += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib64", "lib32"):
        target = Path("/") / name
        if target.is_symlink():
            args += ["--symlink", os.readlink(target), f"/{name}"]
        elif target.is_dir():
            args += ["--ro-bind", str(target), f"/{name}"]
            bound.append(str(target))
    for name in _ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        bound.append(f"/etc/{name}")
    args += ["--proc", "/proc", "--dev", "/dev"]
    for name, inside in _WRITABLE.items():
        args += ["--bind", str(root / name), inside]
    for path in _masks(bound):
        hider = str(root / "empty") if path.is_dir() else "/dev/null"
        args += ["--ro-bind", hider, str(path)]
    extras = extras or Extras()
    for name, inside in extras.writable:  # inside the command's root: measured, chowned
        args += ["--bind", str(root / name), inside]
    for host, inside in extras.binds:
        args += ["--ro-bind", host, inside]
    # bwrap's own root and /dev are tmpfs it made: read-only, or they would be disk
    # (memory) outside every limit.
    args += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/work"]
    args += ["--clearenv", "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin"]
    args += ["--setenv", "HOME", "/work", "--setenv", "LANG", "C.UTF-8"]
    args += ["--setenv", "TMPDIR", "/tmp"]  # noqa: S108
    for name, value in extras.env.items():
        args += ["--setenv", name, value]
    return args


def make_root() -> Path:
    """A private host directory for one command: its writable paths and an empty one."""
    root = Path(tempfile.mkdtemp(prefix="flint-sandbox-"))
    for name in (*_WRITABLE, "empty"):
        (root / name).mkdir()
    (root / "empty").chmod(0o555)
    return root


def uid_tasks() -> int:
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

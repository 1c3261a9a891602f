"""The data directory is private: 0700, and the secrets in it 0600.

FLINT_DATA_DIR holds the SQLite database (sessions included), the generated secret key,
the embedded Redis socket and its dump, logs and blobs. Nobody but Flint's own user has
any business reading them, whatever the umask of whoever started it. Used by settings
(at import, in every process), the embedded Redis and the launcher.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
UMASK = 0o077  # the launcher's and its children's: new files 0600, directories 0700


def _restrict(path: Path, mode: int) -> None:
    """chmod what we own; a path owned by someone else is theirs to set (and not fatal)."""
    with contextlib.suppress(FileNotFoundError, PermissionError):
        if path.stat().st_uid == os.geteuid() and path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)


def private_dir(path: Path) -> Path:
    """Make the directory (0700) or tighten an existing one of ours to 0700."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _restrict(path, DIR_MODE)
    return path


def private_file_write(path: Path, text: str) -> None:
    """Create `path` 0600 and whole: never readable by others, never seen half-written.

    Written aside, then hard-linked into place, which fails if it exists: when another
    process got there first (daphne and the worker start together), theirs stays, and
    both read the same secret.
    """
    aside = path.with_name(f".{path.name}.{os.getpid()}.new")
    aside.unlink(missing_ok=True)  # a leftover of a crash, whatever its mode
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)
    finally:
        aside.unlink(missing_ok=True)


def private_file(path: Path) -> None:
    """Tighten an existing file of ours to 0600."""
    _restrict(path, FILE_MODE)


def private_sqlite(name: str) -> None:
    """Create the database file 0600 before SQLite does (its -wal and -shm files copy the
    database file's mode), and tighten those of an existing install."""
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    if not path.parent.is_dir():
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for suffix in ("", "-wal", "-shm", "-journal"):
        private_file(path.with_name(path.name + suffix))

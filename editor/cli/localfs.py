"""Writing files so that an editor or a watcher never sees half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .ignore import TMP_PREFIX


def write_atomic(target: Path, data: bytes) -> None:
    """Write beside the target and rename over it (keeping its mode when it exists)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, target.stat().st_mode & 0o7777)
        if not target.exists():
            os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise

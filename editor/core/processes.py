"""Helpers for the child processes Flint starts (the launcher, the test suite)."""

from __future__ import annotations

import ctypes
import signal
import sys

_PR_SET_PDEATHSIG = 1
# Loaded once here, not in the forked child: dlopen() between fork and exec can deadlock
# on a lock another thread of the parent held at fork time.
_libc = ctypes.CDLL("libc.so.6", use_errno=True) if sys.platform.startswith("linux") else None


def die_with_parent() -> None:
    """preexec_fn: on Linux, the kernel sends the child SIGTERM if its parent dies.

    Then even a `kill -9` of the launcher or of a test run leaves no orphan behind.
    Elsewhere it does nothing; the launcher's own signal handling still applies.
    """
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

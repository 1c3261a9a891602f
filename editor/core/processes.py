"""Helpers for the child processes Flint starts (the launcher, the test suite)."""

from __future__ import annotations

import ctypes
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """preexec_fn: on Linux, the kernel sends the child SIGTERM if its parent dies.

    Then even a `kill -9` of the launcher or of a test run leaves no orphan behind.
    Elsewhere it does nothing; the launcher's own signal handling still applies.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

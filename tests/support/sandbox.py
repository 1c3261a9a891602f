"""The one check that the agents' bubblewrap sandbox works here, for tests that need it."""

from __future__ import annotations

import pytest


def require_sandbox() -> None:
    """Fail (not skip: CI installs bubblewrap) when bubblewrap cannot run a sandbox here."""
    from editor.agents import sandbox

    works, why = sandbox.probe()
    if not works:
        pytest.fail(f"bubblewrap must work on this machine for these tests: {why}")

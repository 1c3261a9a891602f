"""The model simulator over real HTTP, and every tier pointed at it."""

from __future__ import annotations

import pytest

from editor.assist.simulator import Simulator, SimulatorThread


@pytest.fixture
def simulator():
    """A fresh simulator per test (fast by default; tests slow it down where it matters)."""
    running = SimulatorThread(Simulator(tokens_per_s=5000, ttft_ms=20, api_key="sim-key")).start()
    yield running
    running.stop()


@pytest.fixture
def tiers(settings, simulator):
    """All three tiers on the simulator, with a short timeout so hang tests are quick."""
    settings.FLINT_MODEL_TIERS = {
        name: {
            "base_url": simulator.base_url,
            "api_key": "sim-key",
            "model": f"sim-{name}",
            "timeout": 1.0,
        }
        for name in ("fast", "deep", "review")
    }
    settings.FLINT_MODEL_RETRIES = 2
    settings.FLINT_MODEL_RETRY_AFTER_MAX_S = 2.0
    return settings.FLINT_MODEL_TIERS

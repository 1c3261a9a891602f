"""The model simulator over real HTTP with the deep and review tiers pointed at it."""

from __future__ import annotations

import pytest

from editor.agents import sandbox
from editor.assist.simulator import Simulator, SimulatorThread


@pytest.fixture
def simulator():
    running = SimulatorThread(Simulator(tokens_per_s=20000, ttft_ms=5, api_key="sim-key")).start()
    yield running
    running.stop()


@pytest.fixture
def tiers(settings, simulator):
    settings.FLINT_MODEL_TIERS = {
        name: {
            "base_url": simulator.base_url,
            "api_key": "sim-key",
            "model": f"sim-{name}",
            "timeout": 5.0,
        }
        for name in ("fast", "deep", "review")
    }
    settings.FLINT_MODEL_RETRIES = 0
    return settings.FLINT_MODEL_TIERS


@pytest.fixture
def needs_sandbox():
    works, why = sandbox.probe()
    if not works:
        pytest.fail(f"bubblewrap must work on this machine for these tests: {why}")

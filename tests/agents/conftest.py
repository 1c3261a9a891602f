"""The model simulator over real HTTP with the deep and review tiers pointed at it."""

from __future__ import annotations

import pytest

from editor.agents import sandbox
from tests.support.models import simulator_start, simulator_tiers


@pytest.fixture
def simulator():
    running = simulator_start(tokens_per_s=20000, ttft_ms=5)
    yield running
    running.stop()


@pytest.fixture
def tiers(settings, simulator):
    settings.FLINT_MODEL_TIERS = simulator_tiers(simulator.base_url, timeout=5.0)
    settings.FLINT_MODEL_RETRIES = 0
    return settings.FLINT_MODEL_TIERS


@pytest.fixture
def needs_sandbox():
    works, why = sandbox.probe()
    if not works:
        pytest.fail(f"bubblewrap must work on this machine for these tests: {why}")

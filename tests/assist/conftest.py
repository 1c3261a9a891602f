"""The model simulator over real HTTP, and every tier pointed at it."""

from __future__ import annotations

import pytest

from tests.support.models import simulator_start, simulator_tiers


@pytest.fixture
def simulator():
    """A fresh simulator per test (fast by default; tests slow it down where it matters)."""
    running = simulator_start(tokens_per_s=5000, ttft_ms=20)
    yield running
    running.stop()


@pytest.fixture
def tiers(settings, simulator):
    """All three tiers on the simulator, with a short timeout so hang tests are quick."""
    settings.FLINT_MODEL_TIERS = simulator_tiers(simulator.base_url, timeout=1.0)
    settings.FLINT_MODEL_RETRIES = 2
    settings.FLINT_MODEL_RETRY_AFTER_MAX_S = 2.0
    return settings.FLINT_MODEL_TIERS

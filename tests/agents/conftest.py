"""The model simulator over real HTTP with the deep and review tiers pointed at it."""

from __future__ import annotations

import pytest

from tests.support.models import simulator_start, simulator_tiers
from tests.support.sandbox import require_sandbox


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
    require_sandbox()

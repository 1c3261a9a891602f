"""The simulator in demo mode over real HTTP, every tier on it; the sample project."""

from __future__ import annotations

import pytest

from editor.demo_room.project import sample_files
from tests.support.models import simulator_start, simulator_tiers


@pytest.fixture
def demo_sim():
    running = simulator_start(tokens_per_s=50_000, ttft_ms=2, demo=True)
    yield running
    running.stop()


@pytest.fixture
def demo_tiers(settings, demo_sim):
    settings.FLINT_MODEL_TIERS = simulator_tiers(demo_sim.base_url, timeout=10.0)
    settings.FLINT_MODEL_RETRIES = 0
    return settings.FLINT_MODEL_TIERS


@pytest.fixture
def sample() -> dict[str, str]:
    return sample_files()

"""The deep-task fixtures (the simulator as the deep and review tiers, a working sandbox)
serve these tests as they serve tests/agents/."""

from tests.agents.conftest import needs_sandbox, simulator, tiers

__all__ = ["needs_sandbox", "simulator", "tiers"]

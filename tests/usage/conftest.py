"""The simulator and tier fixtures of the assist tests, for the relay's quota tests."""

from __future__ import annotations

from tests.assist.conftest import simulator, tiers

__all__ = ["simulator", "tiers"]

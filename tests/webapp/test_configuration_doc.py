"""docs/CONFIGURATION.md lists every environment variable webapp/settings.py reads."""

from __future__ import annotations

import re

from tests.support.live import REPO

TIERS = ("FAST", "DEEP", "REVIEW")


def settings_variables() -> set[str]:
    source = (REPO / "webapp" / "settings.py").read_text()
    names = set(re.findall(r'env_\w+\(\s*"([A-Z][A-Z0-9_]*)"', source))
    # Per-tier names are built in f-strings: FLINT_{TIER}_MODEL_<suffix>.
    suffixes = set(re.findall(r'env_\w+\(\s*f"\{prefix\}_([A-Z_]+)"', source))
    suffixes |= set(re.findall(r'env_\w+\(\s*f"FLINT_\{tier\.upper\(\)\}_MODEL_([A-Z_]+)"', source))
    names |= {f"FLINT_{tier}_MODEL_{suffix}" for tier in TIERS for suffix in suffixes}
    return names


def test_the_scan_finds_the_variables_we_know_of():
    found = settings_variables()

    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "FLINT_DEEP_MODEL_API_KEY"} <= found
    assert {f"FLINT_{tier}_MODEL_{s}" for tier in TIERS for s in ("BASE_URL", "NAME")} <= found


def test_every_settings_variable_is_documented():
    documented = set(
        re.findall(r"`([A-Z][A-Z0-9_]+)`", (REPO / "docs" / "CONFIGURATION.md").read_text())
    )

    missing = sorted(settings_variables() - documented)

    assert not missing, f"add these to docs/CONFIGURATION.md: {', '.join(missing)}"

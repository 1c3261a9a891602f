"""ruff, run by the demo model on text it was sent (review) or read (deep tasks).

ruff is a dependency of Flint's dev tools and lives next to the interpreter in the venv;
without it the demo model says so and keeps to the checks it does itself (ast).
The project's own configuration is not read (`--isolated`): the demo checks the rules
below, the same for every project.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

RULES = "F,E4,E7,E9,W6,B,UP,SIM"
TIMEOUT_S = 20


@dataclass
class Finding:
    code: str
    message: str
    line: int
    fixable: bool


@functools.cache
def ruff_path() -> str | None:
    beside = Path(sys.executable).with_name("ruff")
    if beside.exists():
        return str(beside)
    return shutil.which("ruff")


def _run(args: list[str], text: str) -> subprocess.CompletedProcess[str] | None:
    ruff = ruff_path()
    if ruff is None:
        return None
    with tempfile.TemporaryDirectory(prefix="flint-demo-ruff-") as cwd:
        try:
            return subprocess.run(
                [ruff, *args], input=text, capture_output=True, text=True, timeout=TIMEOUT_S,
                cwd=cwd, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return None


def findings(path: str, text: str) -> list[Finding] | None:
    """ruff's findings for one Python file, or None when ruff cannot run here."""
    done = _run(
        ["check", "--isolated", "--select", RULES, "--output-format", "json", "--exit-zero",
         "--stdin-filename", path, "-"], text,
    )  # fmt: skip
    if done is None or done.returncode != 0:
        return None
    try:
        items = json.loads(done.stdout or "[]")
    except ValueError:
        return None
    return [
        Finding(
            code=item.get("code") or "E999",
            message=item.get("message", ""),
            line=int((item.get("location") or {}).get("row") or 1),
            fixable=bool(item.get("fix")) and (item["fix"].get("applicability") == "safe"),
        )
        for item in items
    ]


def fixed(path: str, text: str) -> str | None:
    """The text with ruff's safe fixes applied, or None when ruff cannot run here."""
    done = _run(
        ["check", "--isolated", "--select", RULES, "--fix-only", "--exit-zero",
         "--stdin-filename", path, "-"], text,
    )  # fmt: skip
    if done is None or done.returncode != 0:
        return None
    return done.stdout

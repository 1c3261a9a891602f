"""static/src/room/agents/format.js: a late API answer never undoes a newer task.status event.

A fast task can fail before the page's POST or GET answer arrives; the page once showed
such a task "running" forever (seen in CI on tests/browser/test_tasks.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

FORMAT = Path(__file__).resolve().parents[2] / "static" / "src" / "room" / "agents" / "format.js"
CASES = [  # (incoming, known, stale)
    ("running", "failed", True),
    ("queued", "running", True),
    ("queued", "succeeded", True),
    ("failed", "running", False),
    ("running", "queued", False),
    ("succeeded", "succeeded", False),
    ("queued", None, False),
]


def test_an_older_picture_of_a_task_is_stale_and_a_newer_one_is_not():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run the page's own module")
    script = (
        f"const m = await import({json.dumps(FORMAT.as_uri())});"
        f"const cases = {json.dumps(CASES)};"
        "console.log(JSON.stringify(cases.map(([i, k]) =>"
        " m.isStale({status: i}, k === null ? undefined : {status: k}))));"
    )
    done = subprocess.run(
        [node, "--input-type=module", "-e", script],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert json.loads(done.stdout) == [stale for _, _, stale in CASES]

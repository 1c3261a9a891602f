from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).resolve().parents[2] / "bench" / "node"


@pytest.fixture(autouse=True)
async def _close_collab_hub():
    """Each async test has its own loop, so its own hub: stop it before the loop ends."""
    yield
    import asyncio

    from editor.collab import hub

    current = hub._hubs.get(asyncio.get_running_loop())
    if current is not None:
        await current.close()


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """bench/node's packages (yjs, y-websocket@2, ws), installed with `npm ci` when absent."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "the Node interop test needs node and npm on PATH"
    modules = NODE_DIR / "node_modules"
    lock = NODE_DIR / "package-lock.json"
    if not (modules / "y-websocket").is_dir() or modules.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=NODE_DIR,
            check=True,
            timeout=300,
        )
    return modules

"""A few hundred stock y-websocket clients on one real daphne: nobody is closed, all converge.

The clients are the npm package's own `WebsocketProvider`, many in one Node process
(bench/node/load_clients.cjs). Each renews its awareness state every couple of seconds
(y-websocket's heartbeat is every 15 s; a shorter period compresses a minute of a big
team into the test), and one client per document types. Before issue 11's first slice,
300 such clients made daphne's Redis pools run dry (`MaxConnectionsError`) and it closed
hundreds of sockets with 4500.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest
from asgiref.sync import sync_to_async

from editor.accounts.tokens import token_create
from tests.collab.conftest import NODE_DIR
from tests.collab.yclient import text_file

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

DOCS = int(os.environ.get("FLINT_LOAD_DOCS", "30"))
PER_DOC = int(os.environ.get("FLINT_LOAD_PER_DOC", "10"))
HOLD_MS = int(os.environ.get("FLINT_LOAD_HOLD_MS", "25000"))
AWARENESS_MS = int(os.environ.get("FLINT_LOAD_AWARENESS_MS", "2000"))
TYPISTS = int(os.environ.get("FLINT_LOAD_TYPISTS_PER_DOC", "1"))


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _lines(process, timeout: float):
    while True:
        raw = await asyncio.wait_for(process.stdout.readline(), timeout)
        assert raw, "the Node load client exited early"
        yield json.loads(raw)


@pytest.mark.parametrize("processes", [1, 2], ids=["one-daphne", "two-daphnes"])
async def test_hundreds_of_stock_clients_are_never_closed_and_converge(
    processes, live_processes, node_modules, cast, tmp_path
):
    """With two daphnes, every document has clients on both: typing and heartbeats cross
    between them through the relay (CPU and memory are reported for the first)."""
    source = "start\n"
    files = [
        await sync_to_async(text_file)(cast.room, path=f"src/f{n}.py", text=source)
        for n in range(DOCS)
    ]
    tokens = [
        (await sync_to_async(token_create)(user=user, name="load"))[1]
        for user in (cast.alice, cast.bob)
    ]
    lives = [await sync_to_async(live_processes.daphne)() for _ in range(processes)]
    live = lives[0]
    config = {
        "serverUrls": [f"{each.ws_url}ws/docs" for each in lives],
        "docs": [str(f.doc_id) for f in files],
        "tokens": tokens,
        "perDoc": PER_DOC,
        "joinMs": 3000,
        "holdMs": HOLD_MS,
        "awarenessMs": AWARENESS_MS,
        "typistsPerDoc": TYPISTS,
        "keysPerSecond": 2,
        "settleMs": 15000,
    }
    path = tmp_path / "load.json"
    path.write_text(json.dumps(config))
    node = await asyncio.create_subprocess_exec(
        "node", str(NODE_DIR / "load_clients.cjs"), str(path),
        stdout=asyncio.subprocess.PIPE, cwd=NODE_DIR,
    )  # fmt: skip
    try:
        lines = _lines(node, timeout=HOLD_MS / 1000 + 120)
        joined = await anext(lines)
        cpu_start, wall_start = _cpu_seconds(live.pid), time.monotonic()
        result = await anext(lines)
        cpu = (_cpu_seconds(live.pid) - cpu_start) / (time.monotonic() - wall_start)
        rss = _rss_mb(live.pid)
    finally:
        if node.returncode is None:
            node.kill()
        await node.wait()
    report = {"joined": joined, "result": result, "daphne_cpu_share": round(cpu, 3)}
    report["daphne_rss_mb"] = round(rss, 1)
    figures = {k: v for k, v in result.items() if k != "lengths"}
    print(json.dumps({**report, "result": figures}))  # for docs/PERFORMANCE.md (pytest -s)

    assert result["event"] == "result", result
    assert joined["synced"] == joined["total"] == DOCS * PER_DOC, report
    assert result["closes"] == {}, report
    assert result["connectionErrors"] == 0, report
    assert result["connected"] == DOCS * PER_DOC, report
    assert result["diverged"] == [], report
    typed_per_doc = {len(set(lengths)) for lengths in result["lengths"].values()}
    assert typed_per_doc == {1}, report
    stored = sum(lengths[0] - len(source) for lengths in result["lengths"].values())
    assert stored == result["typed"], report
    for each in lives:
        log = each.log_path.read_text(errors="replace")
        assert "MaxConnectionsError" not in log
        assert "message failed" not in log
        # Redis took every publish and the subscription never broke.
        assert "collab relay: publishing" not in log
        assert "collab relay: reading" not in log

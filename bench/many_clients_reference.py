"""The Node reference server under the load test's clients, for docs/PERFORMANCE.md.

Runs y-websocket@2's `bin/server.cjs` (bench/node) and `bench/node/load_clients.cjs`
with the same configuration tests/collab/test_load.py gives Flint, and prints the
clients' result with the server's CPU share (user + system, % of one core, over the
hold and settle) and RSS. Flint's side: `pytest -s tests/collab/test_load.py` with the
same FLINT_LOAD_* variables.

    python bench/many_clients_reference.py [--docs 30] [--per-doc 10]
        [--awareness-ms 15000] [--typists 0] [--hold-ms 25000]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

NODE_DIR = Path(__file__).resolve().parent / "node"


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=30)
    parser.add_argument("--per-doc", type=int, default=10)
    parser.add_argument("--awareness-ms", type=int, default=15000)
    parser.add_argument("--typists", type=int, default=0)
    parser.add_argument("--hold-ms", type=int, default=25000)
    args = parser.parse_args()
    if not (NODE_DIR / "node_modules" / "y-websocket").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)
    port = _free_port()
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port))
    server = subprocess.Popen(
        ["node", "node_modules/y-websocket/bin/server.cjs"],
        cwd=NODE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(1.0)
        config = {
            "serverUrls": [f"ws://127.0.0.1:{port}"],
            "docs": [str(uuid.uuid4()) for _ in range(args.docs)],
            "tokens": ["unused"],
            "perDoc": args.per_doc,
            "joinMs": 3000,
            "holdMs": args.hold_ms,
            "awarenessMs": args.awareness_ms,
            "typistsPerDoc": args.typists,
            "keysPerSecond": 2,
            "settleMs": 15000,
        }
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
            json.dump(config, file)
        clients = subprocess.Popen(
            ["node", "load_clients.cjs", file.name], cwd=NODE_DIR, stdout=subprocess.PIPE, text=True
        )
        joined = json.loads(clients.stdout.readline())
        cpu_start, wall_start = _cpu_seconds(server.pid), time.monotonic()
        result = json.loads(clients.stdout.readline())
        cpu = (_cpu_seconds(server.pid) - cpu_start) / (time.monotonic() - wall_start)
        rss = _rss_mb(server.pid)
        clients.wait(60)
        os.unlink(file.name)
    finally:
        server.terminate()
        server.wait(10)
    result.pop("lengths", None)
    report = {"joined": joined, "result": result, "server_cpu_share": round(cpu, 3)}
    print(json.dumps({**report, "server_rss_mb": round(rss, 1)}))


if __name__ == "__main__":
    main()

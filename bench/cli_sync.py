"""`flint sync` latency: a local save until another client sees it, and a remote edit until
the local file is rewritten (p50/p99). One daphne, one `flint sync` process, one pycrdt
document client (tests/collab/yclient.py) on the same file.

Writes bench/results/cli_sync.json. Run: .venv/bin/python bench/cli_sync.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.collab_latency import free_port, wait_port  # noqa: E402

START = "".join(f"line {i}: some code here\n" for i in range(200))


def setup(work: Path) -> dict:
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "webapp.settings"
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from editor.accounts.services import user_signup
    from editor.accounts.tokens import token_create
    from editor.rooms.services import room_create, team_create
    from tests.collab.yclient import text_file

    alice = user_signup(username="alice", password=os.urandom(12).hex(), display_name="Alice")
    room = room_create(team=team_create(name="Bench", owner=alice), actor=alice, name="Sync")
    _, token = token_create(user=alice, name="bench")
    doc = text_file(room, path="bench.py", text=START)
    return {"token": token, "room": room.pk, "doc": str(doc.doc_id)}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


async def measure(port: int, ids: dict, folder: Path, rounds: int) -> dict:
    import websockets

    from tests.collab.yclient import websocket_client

    url = f"ws://127.0.0.1:{port}/ws/docs/{ids['doc']}?token={ids['token']}"
    ws = await websockets.connect(url, max_size=None)
    doc = websocket_client(ws)
    await doc.sync()
    path = folder / "bench.py"
    save_ms, remote_ms = [], []
    for i in range(rounds):
        # local save -> the other client has it
        marker = f"# saved {i}\n"
        text = path.read_text()
        start = time.perf_counter()
        path.write_text(marker + text)
        await doc.pump_until(lambda m=marker: str(doc.text).startswith(m), timeout=10)
        save_ms.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(0.05)
        # remote edit -> the local file is rewritten
        marker = f"# remote {i}\n"
        start = time.perf_counter()
        await doc.insert(0, marker)
        while not path.read_text().startswith(marker):
            await asyncio.sleep(0.0005)
        remote_ms.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(0.05)
    await ws.close()
    return {
        "local_save_to_other_client_ms": {"p50": pct(save_ms, 0.5), "p99": pct(save_ms, 0.99),
                                          "mean": round(statistics.mean(save_ms), 2)},
        "remote_edit_to_local_file_ms": {"p50": pct(remote_ms, 0.5),
                                         "p99": pct(remote_ms, 0.99),
                                         "mean": round(statistics.mean(remote_ms), 2)},
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "cli_sync.json"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="flint-cli-sync-bench-"))
    from editor.core.embedded_redis import EmbeddedRedis

    redis = EmbeddedRedis(work / "redis", persist=False)
    env = dict(os.environ)
    env.update(FLINT_DATA_DIR=str(work), REDIS_URL=redis.start(), DEBUG="0",
               DATABASE_URL=f"sqlite:///{work / 'bench.sqlite3'}", PYTHONUNBUFFERED="1",
               FLINT_CHANNEL_PREFIX="cli-sync-bench")  # fmt: skip
    os.environ.update(env)
    ids = setup(work)
    port = free_port()
    children: list[subprocess.Popen] = []
    try:
        log = (work / "daphne.log").open("w")
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", "webapp.serve", "-b", "127.0.0.1", "-p", str(port)],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        wait_port(port)
        client_env = {**env, "FLINT_CONFIG": str(work / "flint.json")}
        flint = [sys.executable, "-m", "editor.cli"]
        subprocess.run(
            [*flint, "login", f"http://127.0.0.1:{port}", "--token", ids["token"]],
            cwd=REPO,
            env=client_env,
            check=True,
            capture_output=True,
        )
        folder = work / "folder"
        sync = subprocess.Popen(
            [*flint, "sync", str(folder), "--room", str(ids["room"]), "--json"],
            cwd=REPO,
            env=client_env,
            stdout=subprocess.PIPE,
            stderr=(work / "sync.log").open("w"),
            text=True,
            start_new_session=True,
        )
        children.append(sync)
        for line in sync.stdout:
            if json.loads(line)["event"] == "ready":
                break
        results = asyncio.run(measure(port, ids, folder, args.rounds))
    finally:
        for child in reversed(children):
            os.killpg(child.pid, signal.SIGINT if child is children[-1] else signal.SIGTERM)
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
        redis.stop()
    report = {"rounds": args.rounds, "machine": {"cpus": os.cpu_count(),
              "python": platform.python_version()}, **results}  # fmt: skip
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

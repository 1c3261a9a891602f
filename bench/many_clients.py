"""Many idle stock y-websocket clients: Flint's daphne beside y-websocket's Node server.

Issue 11, "Speed and scale": N clients over D documents (default 1,000 over 100), held
idle for `--hold-s`, in one run, one phase after another with the SAME clients
(bench/node/load_clients.cjs: stock `y-websocket@2` WebsocketProviders in one Node
process) against

  node     y-websocket@2's `bin/server.cjs` (in memory, one process);
  flint_1  one daphne, started as the product starts it (`python -m webapp.serve`);
  flint_2  two daphnes behind one Redis, every document's clients split between them.

Flint runs on a throwaway FLINT_DATA_DIR with SQLite (migrated first) and an embedded
Redis unless `--database-url` / `--redis-url` are given; a user, a team, a room and D
files are made through Flint's services, and the clients join with an API token
(`?token=`). Nobody types (unless `--typists`); the only traffic is y-websocket's own
awareness renewal (y-protocols renews a client's state every 15 s) and the servers'
pings. After the hold, the first client of every document (on the first server) inserts
a line, and every client must hold it within `--settle-ms` (with two daphnes, the
clients on the second one get it through Redis).

Per phase: closes the clients saw (by code), the servers' CPU (user + system from /proc,
% of one core) over the hold, their RSS before the clients, at the end of the hold and
the change per connection and per open document, the time for every client to join
and sync; then the ratios Flint / Node. Writes bench/results/many_clients.json and
prints a markdown table. Everything listens on 127.0.0.1; every process it starts is
stopped at the end, on an error or Ctrl-C too.

    .venv/bin/python bench/many_clients.py [--clients 1000] [--docs 100] [--hold-s 300]
        [--join-ms 0] [--phases node,flint_1,flint_2] [--nice -10] [--no-pin]
        [--redis-url redis://…] [--database-url postgres://…/empty_db]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
NODE_DIR = REPO / "bench" / "node"
OUT = REPO / "bench" / "results" / "many_clients.json"
GOAL_RATIO = 3.0  # issue 11: idle CPU and join time each at most 3x Node's

SETUP = """
import json, os, sys
from editor.accounts.services import user_signup
from editor.accounts.tokens import token_create
from editor.projects.services import file_create
from editor.rooms.services import room_create, team_create

docs = int(os.environ["BENCH_DOCS"])
owner = user_signup(username="bench", password=os.urandom(16).hex(), display_name="Bench")
team = team_create(name="Bench", owner=owner)
room = room_create(team=team, actor=owner, name="Many clients")
_, token = token_create(user=owner, name="many clients bench")
files = [
    file_create(room=room, actor=owner, path=f"src/f{n:04d}.py", text=f"# file {n}\\n")
    for n in range(docs)
]
sys.stdout.write("BENCH " + json.dumps({"token": token, "docs": [str(f.doc_id) for f in files]}))
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) in MB."""
    out = {"rss": 0.0, "hwm": 0.0}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            out["rss"] = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            out["hwm"] = int(line.split()[1]) / 1024
    return out


def machine_jiffies() -> tuple[int, int]:
    cpu = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(cpu) - cpu[3] - cpu[4], sum(cpu)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Children:
    """Every process the benchmark starts, each in its own process group."""

    work: Path
    server_cpus: set[int]
    nice: int
    running: list[subprocess.Popen] = field(default_factory=list)
    logs: dict[int, Path] = field(default_factory=dict)

    def spawn(self, name: str, args: list[str], env: dict[str, str], **kw: Any) -> subprocess.Popen:
        from editor.core.processes import die_with_parent

        log_path = self.work / f"{name}-{len(self.logs)}.log"
        stdout = kw.pop("stdout", None)
        with log_path.open("w") as log:
            process = subprocess.Popen(
                args,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=stdout or log,
                stderr=log,
                preexec_fn=die_with_parent,  # even a kill -9 of the benchmark leaves no child
                process_group=0,  # a Ctrl-C reaches the benchmark, which stops them in order
                **kw,
            )
        self.running.append(process)
        self.logs[process.pid] = log_path
        return process

    def place(self, pid: int, cpus: set[int] | None = None) -> None:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(pid, cpus or self.server_cpus)
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, pid, self.nice)

    def stop(self, process: subprocess.Popen, timeout: float = 15.0) -> None:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
        if process in self.running:
            self.running.remove(process)

    def stop_all(self) -> None:
        for process in reversed(list(self.running)):
            self.stop(process)


def wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310 (127.0.0.1 only)
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer: it serves
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s; log {log}:\n{tail}")


def wait_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


class Lines:
    """The Node load client's JSON lines, read by a thread so that waits are bounded."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self.thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.queue.put(line)
        self.queue.put(None)

    def next(self, event: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {event!r} line from the load client in {timeout:.0f}s")
            try:
                line = self.queue.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"the load client exited before its {event!r} line")
            message = json.loads(line)
            if message.get("event") == "error":
                raise RuntimeError(f"the load client failed: {message.get('message')}")
            if message.get("event") == event:
                return message


def log_problems(path: Path) -> dict[str, int]:
    """Counts of the lines in a server log that mean something went wrong."""
    text = path.read_text(errors="replace") if path.exists() else ""
    needles = ("Traceback", "MaxConnectionsError", "ERROR", "message failed", "collab relay:")
    return {needle: text.count(needle) for needle in needles if needle in text}


def run_phase(
    name: str,
    children: Children,
    *,
    start_servers,
    docs: list[str],
    token: str,
    args: argparse.Namespace,
    client_cpus: set[int],
    extra_pids: dict[str, int],
) -> dict:
    """Start the phase's servers, run the clients against them, stop the servers."""
    per_doc = args.clients // len(docs)
    servers = start_servers()  # [(process, ws base url)]
    try:
        time.sleep(2.0)  # let start-up work settle before the baseline
        server_pids = [process.pid for process, _ in servers]
        base = {pid: memory_mb(pid)["rss"] for pid in server_pids}
        config = {
            "serverUrls": [url for _, url in servers],
            "docs": docs,
            "tokens": [token],
            "perDoc": per_doc,
            "joinMs": args.join_ms,
            "holdMs": int(args.hold_s * 1000),
            # 0: no extra renewals, only y-protocols' own (every 15 s per client).
            "awarenessMs": args.awareness_ms or min(int(args.hold_s * 1000) * 10, 2**31 - 1),
            "typistsPerDoc": args.typists,
            "keysPerSecond": args.keys_per_second,
            "settleMs": args.settle_ms,
            "editAfterHold": True,
        }
        config_path = children.work / f"clients-{name}.json"
        config_path.write_text(json.dumps(config))
        pids = {f"server{i}": pid for i, pid in enumerate(server_pids)} | extra_pids
        cpu0 = {k: cpu_seconds(pid) for k, pid in pids.items()}
        wall0 = time.monotonic()
        node = children.spawn(
            f"clients-{name}",
            [shutil.which("node") or "node", "load_clients.cjs", str(config_path)],
            dict(os.environ),
            cwd=NODE_DIR,
            stdout=subprocess.PIPE,
            text=True,
        )
        children.place(node.pid, client_cpus)
        pids["clients"] = node.pid
        cpu0["clients"] = 0.0
        lines = Lines(node)
        joined = lines.next("joined", args.join_ms / 1000 + 90)
        cpu1, wall1 = {k: cpu_seconds(p) for k, p in pids.items()}, time.monotonic()
        busy1 = machine_jiffies()
        lines.next("held", args.hold_s + 60)
        cpu2, wall2 = {k: cpu_seconds(p) for k, p in pids.items()}, time.monotonic()
        busy2 = machine_jiffies()
        held_memory = {pid: memory_mb(pid) for pid in server_pids}
        result = lines.next("result", args.settle_ms / 1000 + 60)
        with contextlib.suppress(subprocess.TimeoutExpired):
            node.wait(30)
        children.stop(node)
    finally:
        for process, _ in servers:
            children.stop(process)
    result.pop("lengths", None)
    join_s, hold_s = wall1 - wall0, wall2 - wall1
    cpu_join = {k: round(100 * (cpu1[k] - cpu0[k]) / join_s, 2) for k in pids}
    cpu_hold = {k: round(100 * (cpu2[k] - cpu1[k]) / hold_s, 2) for k in pids}
    busy = 100 * (os.cpu_count() or 1) * (busy2[0] - busy1[0]) / max(busy2[1] - busy1[1], 1)
    server_keys = [f"server{i}" for i in range(len(server_pids))]
    rss_base = sum(base.values())
    rss_held = sum(m["rss"] for m in held_memory.values())
    clients = joined["total"]
    closes = result.get("closes", {})
    phase = {
        "servers": len(server_pids),
        "clients": clients,
        "docs": len(docs),
        "join_s": round(joined["ms"] / 1000, 2),
        "synced": joined["synced"],
        "closes": closes,
        "closes_total": sum(closes.values()),
        "clients_ever_closed": result.get("clientsClosed"),
        "connection_errors": result.get("connectionErrors"),
        "connected_at_end": result.get("connected"),
        "diverged_docs": len(result.get("diverged", [])),
        "edit_after_hold": result.get("edit"),
        "edit_settled_ms": result.get("settledMs"),
        "typed": result.get("typed"),
        # Keystrokes that reached another client (each typed key x the doc's other clients),
        # timed from the typist's insert to that client's copy (same Node process).
        "delivered_updates": result.get("delivered"),
        "keystroke_latency_ms": result.get("latency"),
        "cpu_ms_per_delivered_update": (
            round(10 * sum(cpu_hold[k] for k in server_keys) * hold_s / result["delivered"], 4)
            if result.get("delivered")
            else None
        ),
        "hold_s": round(hold_s, 1),
        # The headline: the servers' CPU over the hold, % of one core (two daphnes: sum).
        "idle_cpu_pct": round(sum(cpu_hold[k] for k in server_keys), 2),
        "cpu_pct_hold": cpu_hold,
        "cpu_pct_join": cpu_join,
        "machine_busy_pct_hold": round(busy, 1),
        "rss_mb_before_clients": round(rss_base, 1),
        "rss_mb_held": round(rss_held, 1),
        "rss_mb_peak": round(sum(m["hwm"] for m in held_memory.values()), 1),
        "rss_kb_per_connection": round(1024 * (rss_held - rss_base) / clients, 1),
        "rss_kb_per_doc": round(1024 * (rss_held - rss_base) / len(docs), 1),
        "log_problems": {
            key: log_problems(children.logs[pid])
            for key, pid in zip(server_keys, server_pids, strict=True)
        },
    }
    return phase


def setup_flint(children: Children, env: dict[str, str], docs: int) -> dict:
    """Migrate, then one user, team, room, token and `docs` files through the services."""
    python = sys.executable
    for step, argv in (
        ("migrate", [python, "manage.py", "migrate", "--verbosity", "0"]),
        ("setup", [python, "manage.py", "shell", "-c", SETUP]),
    ):
        process = children.spawn(
            step,
            argv,
            {**env, "BENCH_DOCS": str(docs)},
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        out, _ = process.communicate(timeout=600)
        children.running.remove(process)
        if process.returncode:
            log = children.logs[process.pid].read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{step} failed:\n{log}")
    return json.loads(out.rsplit("BENCH ", 1)[1])


def ratio(flint: float, node: float) -> float | None:
    return round(flint / node, 2) if node > 0 else None


def table(results: dict) -> str:
    phases = results["phases"]
    node = phases.get("node")
    rows = [
        "| phase | clients / docs | closes (by code) | edit reached other daphne | join s (x Node) "
        "| idle CPU % of a core (x Node) | Redis CPU % | RSS MB before -> held "
        "| KB per conn / per doc |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, p in phases.items():
        join = f"{p['join_s']}"
        cpu = f"{p['idle_cpu_pct']}"
        if node and name != "node":
            join += f" ({ratio(p['join_s'], node['join_s'])}x)"
            cpu += f" ({ratio(p['idle_cpu_pct'], node['idle_cpu_pct'])}x)"
        closes = ", ".join(f"{n} x {c}" for c, n in p["closes"].items()) or "0"
        edit = p["edit_after_hold"] or {}
        reach = "—"
        if p["servers"] > 1:
            reach = f"{edit.get('otherServerWithEdit')} of {edit.get('otherServerClients')}"
        elif edit:
            reach = f"(all: {edit.get('clientsWithEdit')} of {p['clients']})"
        redis = p["cpu_pct_hold"].get("redis", "—") if name != "node" else "—"
        rows.append(
            f"| {name} | {p['clients']} / {p['docs']} | {closes} | {reach} | {join} | {cpu} "
            f"| {redis} | {p['rss_mb_before_clients']} -> {p['rss_mb_held']} "
            f"| {p['rss_kb_per_connection']} / {p['rss_kb_per_doc']} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--hold-s", type=float, default=300.0, help="idle hold after the join")
    parser.add_argument(
        "--join-ms",
        type=int,
        default=0,
        help="spread the clients' connects over this long (0: all at once, a burst)",
    )
    parser.add_argument(
        "--awareness-ms",
        type=int,
        default=0,
        help="extra awareness renewals by the load client (0: only y-websocket's own, 15 s)",
    )
    parser.add_argument("--typists", type=int, default=0, help="typists per document (not idle)")
    parser.add_argument("--keys-per-second", type=float, default=2, help="each typist's rate")
    parser.add_argument("--settle-ms", type=int, default=15000)
    parser.add_argument("--phases", default="node,flint_1,flint_2")
    parser.add_argument("--nice", type=int, default=0, help="niceness of servers and clients")
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the load client on the last CPU, the servers and Redis on the others",
    )
    parser.add_argument("--redis-url", help="default: an embedded Redis on a unix socket")
    parser.add_argument("--database-url", help="an EMPTY database (default: a fresh SQLite)")
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs)")
    args = parser.parse_args()
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(phases) - {"node", "flint_1", "flint_2"}
    if unknown or args.clients < args.docs or args.docs < 1:
        parser.error(f"bad --phases {sorted(unknown)} or fewer clients than docs")

    # A SIGTERM (or the terminal's hang-up) unwinds like Ctrl-C, through the finally.
    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    if not (NODE_DIR / "node_modules" / "y-websocket").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)
    cpus = sorted(os.sched_getaffinity(0))
    client_cpus, server_cpus = set(cpus), set(cpus)
    if args.pin and len(cpus) >= 2:
        client_cpus, server_cpus = {cpus[-1]}, set(cpus[:-1])
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    work = Path(tempfile.mkdtemp(prefix="flint-many-clients-"))
    children = Children(work=work, server_cpus=server_cpus, nice=args.nice)
    redis = None
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    results: dict[str, Any] = {"phases": {}, "failed": {}}
    try:
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
        env.update(
            FLINT_DATA_DIR=str(work / "data"),
            FLINT_CHANNEL_PREFIX=f"many-clients-{os.getpid()}",
            DJANGO_SETTINGS_MODULE="webapp.settings",
            DEBUG="0",
            PYTHONUNBUFFERED="1",
        )
        if args.database_url:
            env["DATABASE_URL"] = args.database_url
        (work / "data").mkdir(mode=0o700)
        extra_pids: dict[str, int] = {}
        if "flint_1" in phases or "flint_2" in phases:
            if args.redis_url:
                env["REDIS_URL"] = args.redis_url
            else:
                from editor.core.embedded_redis import EmbeddedRedis

                redis = EmbeddedRedis(work / "redis", persist=False)
                env["REDIS_URL"] = redis.start()
                assert redis.process is not None
                children.place(redis.process.pid)
                extra_pids["redis"] = redis.process.pid
            ids = setup_flint(children, env, args.docs)
            docs, token = ids["docs"], ids["token"]
        else:
            import uuid

            docs, token = [str(uuid.uuid4()) for _ in range(args.docs)], "unused"

        def daphnes(count: int):
            def start():
                servers = []
                for _ in range(count):
                    port = free_port()
                    argv = [
                        sys.executable,
                        "-m",
                        "webapp.serve",
                        "-b",
                        "127.0.0.1",
                        "-p",
                        str(port),
                    ]
                    process = children.spawn("daphne", argv, env, cwd=REPO)
                    children.place(process.pid)
                    wait_http(
                        f"http://127.0.0.1:{port}/healthz?skip=celery",
                        process,
                        children.logs[process.pid],
                    )
                    servers.append((process, f"ws://127.0.0.1:{port}/ws/docs"))
                return servers

            return start

        def node_server():
            port = free_port()
            server_cjs = NODE_DIR / "node_modules" / "y-websocket" / "bin" / "server.cjs"
            process = children.spawn(
                "node-server",
                [shutil.which("node") or "node", str(server_cjs)],
                {**os.environ, "HOST": "127.0.0.1", "PORT": str(port)},
                cwd=NODE_DIR,
            )
            children.place(process.pid)
            wait_port(port, process)
            return [(process, f"ws://127.0.0.1:{port}")]

        starters = {"node": node_server, "flint_1": daphnes(1), "flint_2": daphnes(2)}
        for name in phases:
            print(f"{time.strftime('%H:%M:%S')} {name}: {args.clients} clients over "
                  f"{args.docs} documents, hold {args.hold_s:.0f} s", flush=True)  # fmt: skip
            try:
                phase = run_phase(
                    name,
                    children,
                    start_servers=starters[name],
                    docs=docs,
                    token=token,
                    args=args,
                    client_cpus=client_cpus,
                    extra_pids=extra_pids if name != "node" else {},
                )
            except (RuntimeError, TimeoutError) as exc:  # recorded; the other phases still run
                results["failed"][name] = str(exc)[-4000:]
                print(f"{name} failed: {exc}", file=sys.stderr, flush=True)
                children.stop_all()  # the load client, if it still runs
                continue
            results["phases"][name] = phase
            print(json.dumps({name: phase}), flush=True)
            time.sleep(3.0)  # sockets closed, documents released, before the next phase
    finally:
        children.stop_all()
        if redis is not None:
            redis.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work dir kept: {work}")

    node = results["phases"].get("node")
    results["ratios"] = {}
    for name in ("flint_1", "flint_2"):
        flint = results["phases"].get(name)
        if not (flint and node):
            continue
        idle = ratio(flint["idle_cpu_pct"], node["idle_cpu_pct"])
        with_redis = ratio(
            flint["idle_cpu_pct"] + flint["cpu_pct_hold"].get("redis", 0.0), node["idle_cpu_pct"]
        )
        join = ratio(flint["join_s"], node["join_s"])
        edit = flint["edit_after_hold"] or {}
        results["ratios"][name] = {
            "idle_cpu_vs_node": idle,
            "idle_cpu_with_redis_vs_node": with_redis,
            "join_vs_node": join,
            "goals_met": {
                "zero_closes": flint["closes_total"] == 0,
                "idle_cpu_at_most_3x": idle is not None and idle <= GOAL_RATIO,
                "join_at_most_3x": join is not None and join <= GOAL_RATIO,
                "edit_reached_every_client": edit.get("clientsWithEdit") == flint["clients"],
            },
        }
    results["meta"] = {
        "started": started,
        "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} CPU, {platform.platform()}, "
        f"Python {platform.python_version()}",
        "node": subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip(),
        "clients": args.clients,
        "docs": args.docs,
        "per_doc": args.clients // args.docs,
        "hold_s": args.hold_s,
        "join_ms": args.join_ms,
        "awareness": f"load client every {args.awareness_ms} ms"
        if args.awareness_ms
        else "y-websocket's own renewal only (every 15 s per client)",
        "typists_per_doc": args.typists,
        "keys_per_second": args.keys_per_second,
        "database": "given --database-url" if args.database_url else "SQLite (fresh, WAL)",
        "redis": "given --redis-url" if args.redis_url else "embedded (unix socket)",
        "cpus": {"load client": sorted(client_cpus), "servers and Redis": sorted(server_cpus)},
        "nice": args.nice,
        "load_avg_after": os.getloadavg(),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(table(results))
    print()
    print(json.dumps(results["ratios"], indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

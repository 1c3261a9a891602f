"""Deep-task loop benchmark: 30 tool-call turns on each wire and transport, in one run.

A deep task is a chain of model turns, each answered by a tool call whose result joins
the transcript. This runs that chain through Flint's gateway (the calls a deep task's
worker makes: `complete_sync`) against the simulator, with a simulated 240 ms to first
token per turn and a tool result of `--result-bytes` each turn (a file read), for:

  chat/HTTP            Chat Completions: the whole transcript every turn
  responses/HTTP       the Responses API, stateless: the whole transcript (with the
                       encrypted reasoning items) every turn
  responses/WebSocket  WebSocket mode: one socket, only the new items each turn

Figures per mode (docs/PERFORMANCE.md, "Deep-task loop"):

  end_to_end_s         the 30 turns, wall clock
  overhead_ms_per_turn (end to end - 30 x the simulator's own time per turn) / 30: what
                       the client, the transport and the server's reading of the request
                       add to a turn beyond the model's time
  bytes_per_turn       request body (HTTP) or response.create event (WebSocket) sizes,
                       first / middle / last turn

Run: python bench/deep_loop_bench.py [--turns 30] [--result-bytes 4000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import multiprocessing
import os
import platform
import socket
import statistics
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
KEY = "bench-key"
TTFT_MS = 240.0
MODES = (("chat", "http"), ("responses", "http"), ("responses", "websocket"))
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a file.",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
        },
    }
]


def loop(wire: str, transport: str, base_url: str, turns: int, result: str) -> float:
    """The chain of `turns` tool-call turns through the gateway; its wall time in s."""
    from django.conf import settings

    from editor.assist import gateway
    from editor.assist.tiers import tier_get

    settings.FLINT_MODEL_TIERS = {
        "deep": {
            "base_url": base_url,
            "api_key": KEY,
            "model": "sim-deep",
            "timeout": 30.0,
            "wire": wire,
            "transport": transport,
        }
    }
    tier = tier_get("deep")
    messages = [
        {"role": "system", "content": "You are a coding agent. " * 40},
        {"role": "user", "content": "bench-loop: read every file, one per turn."},
    ]
    started = time.perf_counter()
    for _ in range(turns):
        reply = gateway.complete_sync(
            tier, gateway.ModelRequest(messages=messages, tools=TOOLS, max_tokens=2000)
        )
        assert reply.tool_calls, reply
        message = {
            "role": "assistant",
            "content": reply.text or None,
            "tool_calls": reply.tool_calls,
        }
        if "responses_output" in reply.message:
            message["responses_output"] = reply.message["responses_output"]
        messages.append(message)
        for call in reply.tool_calls:
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
    return time.perf_counter() - started


def serve(port: int, link_bytes_per_s: float) -> None:
    """The simulator process: one tool call per turn, with a reasoning summary (carried
    back on the stateless wire as an encrypted item, as a reasoning model's would be)."""
    sys.path.insert(0, str(REPO))
    from editor.assist.simulator import Simulator, rules_from

    rules = rules_from([{"marker": "bench-loop", "reasoning": "Next file.", "tool_calls": [
        {"name": "read_file", "arguments": {"path": "src/module.py"}}]}])  # fmt: skip
    # tokens_per_s=0: the answer goes out whole at its TTFT, so a turn's model time is
    # exactly TTFT on every wire (no pacing ticks that differ between event formats). The
    # link is crossed before TTFT starts: what it costs counts as overhead.
    simulator = Simulator(tokens_per_s=0, ttft_ms=TTFT_MS, api_key=KEY, rules=rules,
                          link_bytes_per_s=link_bytes_per_s)  # fmt: skip

    async def run() -> None:
        await simulator.start("127.0.0.1", port)
        await asyncio.Event().wait()

    asyncio.run(run())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"the simulator did not listen on {port}")


def sizes_of(base_url: str) -> list[int]:
    request = urllib.request.Request(  # noqa: S310 - the benchmark's own simulator
        base_url + "/sim/stats", headers={"Authorization": f"Bearer {KEY}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())["request_sizes"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--result-bytes", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3, help="runs per mode (median kept)")
    parser.add_argument(
        "--links",
        type=float,
        nargs="+",
        default=[0.0, 10.0],
        help="client-to-model link speeds in MB/s to run over (0: localhost, no link)",
    )
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "deep_loop.json"))
    args = parser.parse_args()

    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)
    result = ("x = 1  # a line of the file that was read\n" * 1000)[: args.result_bytes]
    model_s = TTFT_MS / 1000  # the simulator's own time per turn
    report: dict = {}
    for link in args.links:
        # The simulator in a process of its own (as a model server is): in this one it
        # would share the GIL with the client and its socket thread.
        port = free_port()
        server = multiprocessing.get_context("spawn").Process(
            target=serve, args=(port, link * 1_000_000), daemon=True
        )
        server.start()
        base_url = f"http://127.0.0.1:{port}/v1"
        try:
            wait_port(port)
            for wire, transport in MODES:
                name = f"{wire}/{'WebSocket' if transport == 'websocket' else 'HTTP'}"
                name += f" @ {link:g} MB/s" if link else " @ localhost"
                loop(wire, transport, base_url, 2, result)  # warm: connections, imports
                runs, sizes = [], []
                for _ in range(args.rounds):
                    seen = len(sizes_of(base_url))
                    runs.append(loop(wire, transport, base_url, args.turns, result))
                    sizes = sizes_of(base_url)[seen:]
                wall = statistics.median(runs)
                report[name] = {
                    "end_to_end_s": round(wall, 3),
                    "overhead_ms_per_turn": round(
                        (wall - args.turns * model_s) / args.turns * 1000, 2
                    ),
                    "bytes_per_turn": {
                        "first": sizes[0],
                        "middle": sizes[len(sizes) // 2],
                        "last": sizes[-1],
                    },
                    "runs_s": [round(r, 3) for r in runs],
                }
                print(name, json.dumps(report[name]))
        finally:
            server.terminate()
            server.join(timeout=10)
    out = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "turns": args.turns,
        "ttft_ms": TTFT_MS,
        "result_bytes": args.result_bytes,
        "model_s_per_turn": round(model_s, 4),
        "modes": report,
    }
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""The model simulator over real HTTP with the deep and review tiers pointed at it."""

from __future__ import annotations

import http.server
import threading

import pytest

from editor.agents import sandbox
from tests.support.models import simulator_start, simulator_tiers


@pytest.fixture
def simulator():
    running = simulator_start(tokens_per_s=20000, ttft_ms=5)
    yield running
    running.stop()


@pytest.fixture
def tiers(settings, simulator):
    settings.FLINT_MODEL_TIERS = simulator_tiers(simulator.base_url, timeout=5.0)
    settings.FLINT_MODEL_RETRIES = 0
    return settings.FLINT_MODEL_TIERS


@pytest.fixture
def needs_sandbox():
    works, why = sandbox.probe()
    if not works:
        pytest.fail(f"bubblewrap must work on this machine for these tests: {why}")


class _Hello(http.server.BaseHTTPRequestHandler):
    """A host on the test machine that says which port it is: reached, or not, from the
    sandbox through the allowlisting proxy (netproxy)."""

    def do_GET(self):
        body = f"hello from {self.server.server_port}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def two_hosts():
    """Two HTTP servers on loopback; their ports."""
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [s.server_port for s in servers]
    for server in servers:
        server.shutdown()
        server.server_close()

"""Hosts on the test machine for the sandbox's network allowlist (editor/agents/netproxy.py):
two loopback HTTP servers that say which port they are, one allowed and one not."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest


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
def two_hosts() -> Iterator[list[int]]:
    """Two HTTP servers on loopback; their ports."""
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [s.server_port for s in servers]
    for server in servers:
        server.shutdown()
        server.server_close()

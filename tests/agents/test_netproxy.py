"""The sandbox's network: none, or an allow-listing proxy (editor/agents/netproxy.py).

Real bubblewrap, real sockets: two HTTP servers on loopback stand for an allowed host and
one that is not; a port nobody listens on stands for an allowed host that does not answer.
"""

from __future__ import annotations

import socket

import pytest

from editor.agents import netproxy, sandbox

pytestmark = pytest.mark.usefixtures("needs_sandbox")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


FETCH = (
    'python3 -c "import sys, urllib.request\n'
    "try:\n"
    "    print(urllib.request.urlopen(sys.argv[1], timeout=20).read().decode())\n"
    "except Exception as e:\n"
    "    print('FAILED', getattr(e, 'code', ''), getattr(e, 'read', lambda: b'')().decode().strip()"
    ' or e)" '
)


def test_without_allowed_hosts_there_is_no_network(two_hosts):
    result = sandbox.run_command(command=FETCH + f"http://127.0.0.1:{two_hosts[0]}/", files={})
    assert "FAILED" in result.output and "hello" not in result.output


def test_an_allowed_host_is_reached_and_another_is_refused(two_hosts):
    allowed, other = two_hosts
    dead = _free_port()
    notes: list[tuple[str, str]] = []
    listed = [f"127.0.0.1:{allowed}", f"127.0.0.1:{dead}"]
    with netproxy.serve(listed, lambda kind, detail: notes.append((kind, detail))) as proxy:
        command = "; ".join(FETCH + f"http://127.0.0.1:{p}/" for p in (allowed, other, dead))
        command += "; curl -sS -o /dev/null -w 'tls %{http_code}\\n' https://127.0.0.1:" + str(
            other
        )
        result = sandbox.run_command(command=command, files={}, extras=proxy.extras())
    lines = result.output.splitlines()
    assert lines[0] == f"hello from {allowed}", result.output
    assert lines[1].startswith("FAILED 403") and "not an allowed host" in lines[1]
    assert lines[2].startswith("FAILED 502") and "did not answer" in lines[2]
    assert ("reached", f"127.0.0.1:{allowed}") in notes
    assert ("refused", f"127.0.0.1:{other}") in notes
    assert any(kind == "unreachable" and str(dead) in detail for kind, detail in notes)
    # CONNECT (what HTTPS uses) to a host not on the list is refused as well.
    assert ("refused", f"127.0.0.1:{other}") in notes and "tls 000" in result.output


@pytest.mark.parametrize(
    ("allowed", "host", "port", "ok"),
    [
        (["pypi.org"], "pypi.org", 443, True),
        (["pypi.org"], "pypi.org", 8080, False),
        (["pypi.org"], "evil-pypi.org", 443, False),
        (["*.pythonhosted.org"], "files.pythonhosted.org", 443, True),
        (["*.pythonhosted.org"], "pythonhosted.org.evil.com", 443, False),
        (["localhost:8000"], "localhost", 8000, True),
        (["localhost:8000"], "localhost", 80, False),
    ],
)
def test_host_matching(allowed, host, port, ok):
    assert netproxy.host_allowed(allowed, host, port) is ok

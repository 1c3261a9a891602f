"""The sandbox's only way out: an allow-listing HTTP proxy on a unix socket.

Commands run in an empty network namespace. When a room allows hosts, the worker starts
this proxy for the task (one for the set-up script, one for commands: two lists) on a unix
socket in a directory bound read-only into the sandbox at /flint/net. Inside, a small
forwarder (FORWARDER, run under the command) listens on 127.0.0.1:3128 and passes each
connection to the socket; HTTP_PROXY/HTTPS_PROXY point there, so pip, npm, curl and
urllib use it. The proxy takes `CONNECT host:port` (TLS) and absolute-form `GET
http://host/…` requests, and connects only to allowed hosts: `host` (ports 80 and 443),
`*.host` (its subdomains, same ports) or `host:port`. Everything else gets 403 and a line
in the task log; an allowed host that does not answer gets 502 and a line saying so.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import socketserver
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from editor.agents.bwrap import Extras

INSIDE_DIR = "/flint/net"
INSIDE_PORT = 3128
CONNECT_TIMEOUT_S = 10.0
HEAD_MAX = 16_384
DEFAULT_PORTS = (80, 443)

# Runs inside the sandbox with its python3: listen on loopback, hand each connection to
# the proxy's unix socket, then exec the command (the listener lives in a forked child,
# which dies with the sandbox's pid namespace when the command ends).
FORWARDER = r"""
import os, socket, sys, threading

def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

def serve(listener, path):
    while True:
        client, _ = listener.accept()
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(path)
        except OSError:
            client.close()
            continue
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[2])))
listener.listen(64)
if os.fork() == 0:
    serve(listener, sys.argv[1])
    os._exit(0)
listener.close()
os.execvp(sys.argv[3], sys.argv[3:])
"""


def host_allowed(allowed: list[str], host: str, port: int) -> bool:
    host = host.lower().rstrip(".")
    for entry in allowed:
        name, _, fixed = entry.partition(":")
        ports = (int(fixed),) if fixed else DEFAULT_PORTS
        if port not in ports:
            continue
        if name.startswith("*."):
            if host.endswith(name[1:]):
                return True
        elif host == name:
            return True
    return False


def _split_target(target: str, default_port: int) -> tuple[str, int]:
    if target.startswith("["):  # [v6]:port
        host, _, rest = target[1:].partition("]")
        port = rest.lstrip(":")
    else:
        host, _, port = target.rpartition(":") if ":" in target else (target, "", "")
    return host, int(port) if port.isdigit() else default_port


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def _answer(self, code: int, reason: str, body: str) -> None:
        data = body.encode() + b"\n"
        head = (
            f"HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(OSError):
            self.request.sendall(head.encode() + data)

    def handle(self) -> None:
        client: socket.socket = self.request
        client.settimeout(30)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < HEAD_MAX:
            try:
                chunk = client.recv(4096)
            except OSError:
                return
            if not chunk:
                return
            head += chunk
        header, _, rest = head.partition(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            self._answer(400, "Bad Request", "Flint's proxy: not an HTTP request.")
            return
        method, target, version = parts
        if method.upper() == "CONNECT":
            host, port = _split_target(target, 443)
        elif target.lower().startswith("http://"):
            hostport, _, path = target[7:].partition("/")
            host, port = _split_target(hostport, 80)
            # Origin-form for the server, and no keep-alive: one request per connection.
            kept = [
                line
                for line in lines[1:]
                if not line.lower().startswith(("proxy-", "connection:", "keep-alive:"))
            ]
            header = "\r\n".join([f"{method} /{path} {version}", *kept, "Connection: close"])
            rest = header.encode("latin-1") + b"\r\n\r\n" + rest
        else:
            self._answer(400, "Bad Request", "Flint's proxy takes CONNECT or http:// requests.")
            return
        if not host_allowed(self.server.allowed, host, port):
            self.server.note("refused", f"{host}:{port}")
            self._answer(
                403, "Forbidden",
                f"Flint: {host}:{port} is not an allowed host of this room "
                f"(allowed: {', '.join(self.server.allowed) or 'none'}).",
            )  # fmt: skip
            return
        try:
            upstream = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
        except OSError as exc:
            why = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
            self.server.note("unreachable", f"{host}:{port} ({why})")
            self._answer(502, "Bad Gateway", f"Flint: the allowed host {host}:{port} did not "
                         f"answer ({why}).")  # fmt: skip
            return
        self.server.note("reached", f"{host}:{port}")
        upstream.settimeout(None)
        client.settimeout(None)
        with upstream:
            if method.upper() == "CONNECT":
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest:
                    upstream.sendall(rest)
            else:
                upstream.sendall(rest)
            back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
            back.start()
            _pipe(client, upstream)
            back.join(timeout=600)


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, allowed: list[str], note: Callable[[str, str], None]):
        self.allowed = allowed
        self.note = note
        super().__init__(path, _Handler)


@dataclass
class Proxy:
    directory: Path
    allowed: list[str]

    def extras(self) -> Extras:
        """The sandbox's side: the socket's directory, the variables, the forwarder."""
        url = f"http://127.0.0.1:{INSIDE_PORT}"
        env = {name: url for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
        env["NO_PROXY"] = env["no_proxy"] = ""
        prefix = [
            "python3",
            f"{INSIDE_DIR}/forward.py",
            f"{INSIDE_DIR}/proxy.sock",
            str(INSIDE_PORT),
        ]
        return Extras(binds=[(str(self.directory), INSIDE_DIR)], env=env, prefix=prefix)


@contextlib.contextmanager
def serve(allowed: list[str], note: Callable[[str, str], None]) -> Iterator[Proxy]:
    """Run a proxy for `allowed` hosts for as long as the block lasts."""
    directory = Path(tempfile.mkdtemp(prefix="flint-net-"))
    # The sandbox's uid must reach the socket (bwrap binds the directory as that uid).
    directory.chmod(0o755)
    (directory / "forward.py").write_text(FORWARDER)
    (directory / "forward.py").chmod(0o644)
    path = str(directory / "proxy.sock")
    server = _Server(path, allowed, note)
    os.chmod(path, 0o666)  # noqa: S103 - any sandbox uid; its dir is bound into theirs only
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name="flint-net-proxy", daemon=True)  # fmt: skip
    thread.start()
    try:
        yield Proxy(directory=directory, allowed=allowed)
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(directory, ignore_errors=True)

"""The fan-out's direct write (editor/core/fanout.py) against daphne's and autobahn's own
classes: it finds the socket behind the `send` daphne gives an application, and it puts
on the wire exactly the bytes autobahn's sendMessage would.

End to end, every test that runs a real daphne (test_live.py, test_load.py) goes through
the direct write; the WebsocketCommunicator tests (test_consumers.py) go through the
consumer.send() fallback.
"""

from __future__ import annotations

import asyncio
import socket

import pytest
from autobahn.websocket.protocol import WebSocketProtocol
from channels.sessions import InstanceSessionWrapper
from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory
from twisted.internet import tcp
from twisted.internet.protocol import Protocol
from twisted.internet.testing import MemoryReactor, StringTransport

from editor.core.fanout import frame, wire_of, write

PAYLOAD = bytes([0, 2, 3]) + b"\x01\x02\x03"  # a y-websocket sync update frame's body


def _open_protocol() -> WebSocketProtocol:
    server = Server(application=None, endpoints=["tcp:port=0"])
    protocol = WebSocketFactory(server).buildProtocol(None)
    protocol.makeConnection(StringTransport())
    protocol.state = WebSocketProtocol.STATE_OPEN  # as after the handshake
    return protocol


async def test_wire_of_finds_the_socket_behind_daphnes_send():
    server = Server(application=None, endpoints=["tcp:port=0"])
    protocol = WebSocketFactory(server).buildProtocol(None)
    sends = []

    async def application(scope, receive, send):
        sends.append(send)

    server.application = application
    server.connections = {protocol: {"connected": 0}}  # what run() sets up
    server.create_application(protocol, {"type": "websocket", "path": "/ws/docs/x"})
    await asyncio.sleep(0)  # the application instance runs as a task
    [send] = sends
    protocol.transport = StringTransport()
    assert wire_of(send) is protocol
    # A cookie-authenticated socket's send is Channels' session wrapper around daphne's.
    wrapped = InstanceSessionWrapper({"type": "websocket", "cookies": {}}, send)
    assert wire_of(wrapped.send) is protocol


@pytest.mark.parametrize("send", [None, print, lambda message: None])
def test_wire_of_anything_else_is_none(send):
    assert wire_of(send) is None


@pytest.mark.parametrize("size", [6, 200, 70_000])  # the three WebSocket length forms
def test_the_prepared_frame_is_what_autobahn_would_send(size):
    payload = (PAYLOAD * (size // len(PAYLOAD) + 1))[:size]
    by_autobahn, direct = _open_protocol(), _open_protocol()
    by_autobahn.sendMessage(payload, isBinary=True)
    prepared = frame(payload)
    assert write(direct, prepared) is True
    assert direct.transport.value() == by_autobahn.transport.value()
    # The same prepared frame goes to another peer unchanged.
    again = _open_protocol()
    write(again, prepared)
    assert again.transport.value() == by_autobahn.transport.value()


def test_nothing_is_written_to_a_closing_socket():
    protocol = _open_protocol()
    protocol.state = WebSocketProtocol.STATE_CLOSING
    assert write(protocol, frame(PAYLOAD)) is False
    assert protocol.transport.value() == b""


def test_a_frame_goes_straight_to_an_idle_socket_and_through_twisted_when_it_is_busy():
    """daphne's TCP transport: sent at once when its buffer is empty, else queued behind it."""
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    reactor = MemoryReactor()
    transport = tcp.Server(ours, Protocol(), ("127.0.0.1", 1), None, 1, reactor)
    protocol = _open_protocol()
    protocol.transport = transport
    prepared = frame(PAYLOAD)
    assert write(protocol, prepared)
    assert theirs.recv(100) == prepared.payloadHybi  # no event-loop turn needed
    assert transport not in reactor.getWriters()
    transport.write(b"pending")  # something already waits in Twisted's buffer
    write(protocol, prepared)
    assert transport._tempDataBuffer == [b"pending", prepared.payloadHybi]
    transport.doWrite()
    assert theirs.recv(100) == b"pending" + prepared.payloadHybi
    ours.close()
    theirs.close()

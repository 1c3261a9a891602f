"""Fan-out built once: one WebSocket frame per message, the same bytes written to every peer.

Channels' public way to send is `consumer.send()`, one call per peer: for each peer it
goes consumer.send -> daphne's Server.handle_reply -> WebSocketProtocol.handle_reply ->
autobahn's sendMessage -> sendFrame (frames the payload again) -> sendData (which formats
its debug-log arguments, hltype/hlval through click's styling, on every write even with
debug off) -> the Twisted transport. py-spy put that chain at ~45 % of an idle daphne's
CPU with 1,000 stock clients (each awareness heartbeat goes to nine peers), ~59 us per
peer against Node's ~22 us.

So the collab hub and the room hub (editor/rooms/hub.py) frame a message ONCE (autobahn's
own `PreparedMessage`, the object autobahn provides for broadcast) and write those bytes
straight to each peer's Twisted transport.
This goes below Channels' public API (docs/PROTOCOL.md, "Fan-out"): the daphne protocol
of a socket is the first argument of the `send` callable daphne hands the application
(`functools.partial(Server.handle_reply, protocol)`), behind Channels' session wrapper
for cookie-authenticated sockets. `wire_of()` finds it and checks what it found; when it
does not find a daphne protocol (Channels' WebsocketCommunicator in tests, another ASGI
server, a future daphne that changes the call), the peer has no wire and the hub sends
through `consumer.send()` as before. Same bytes on the wire either way.

One step further below, Twisted: its TCP transport never writes at once; `write()`
buffers and registers the socket with the event loop (an epoll_ctl), the loop wakes on
writable, sends, and unregisters (another epoll_ctl): ~15 % of the idle daphne after
the change above. `_write_now()` sends at once when the transport has nothing pending
(what Node's libuv does, uv_try_write) and hands Twisted whatever the kernel did not
take, so Twisted's buffer, flow control and error handling still own every other case.

Order stays: everything daphne sends for a socket is written synchronously to the same
transport in call order, this writes there too, and it writes past the transport only
when the transport's buffer is empty. Merging: a frame the kernel cannot take at once
waits in Twisted's buffer, and what is written to that peer during the same event-loop
tick joins it and leaves with one syscall when the socket is writable again.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from autobahn.websocket.protocol import PreparedMessage, WebSocketProtocol
from channels.sessions import InstanceSessionWrapper
from twisted.internet import tcp

log = logging.getLogger(__name__)

_OPEN = WebSocketProtocol.STATE_OPEN


def wire_of(send: Any) -> WebSocketProtocol | None:
    """The daphne (autobahn) protocol behind an ASGI `send` callable, or None."""
    owner = getattr(send, "__self__", None)
    if isinstance(owner, InstanceSessionWrapper):  # cookie auth: Channels' session layer
        send = owner.real_send
    if not isinstance(send, functools.partial) or not send.args:
        return None
    protocol = send.args[0]
    if not isinstance(protocol, WebSocketProtocol) or not hasattr(protocol, "transport"):
        return None
    return protocol


def frame(message: bytes, *, binary: bool = True) -> PreparedMessage:
    """The message as one unmasked WebSocket frame (server to client), built once: binary
    (documents' Yjs messages) or text (the room socket's JSON, UTF-8 encoded)."""
    return PreparedMessage(message, isBinary=binary, applyMask=False, doNotCompress=False)


def write(protocol: WebSocketProtocol, prepared: PreparedMessage) -> bool:
    """Write a prepared frame to one peer; False if its socket is not open any more.

    autobahn's own path is kept for a connection that negotiated compression (the frame
    must be compressed per connection) or that has chopped/synchronous writes queued
    (those must stay in order); otherwise the ready bytes go to the transport.
    """
    if protocol.state != _OPEN:
        return False
    if protocol._perMessageCompress is not None or protocol.send_queue:
        protocol.sendPreparedMessage(prepared)
    else:
        _write_now(protocol.transport, prepared.payloadHybi)
    return True


def _write_now(transport: Any, data: bytes) -> None:
    """`transport.write(data)`, sent at once when nothing is waiting before it."""
    if (
        type(transport) is not tcp.Server  # daphne's plain TCP connection, not a test's
        or transport.TLS
        or transport.dataBuffer
        or transport._tempDataBuffer
        or not transport.connected
        or transport.disconnecting
        or transport._writeDisconnected
    ):
        transport.write(data)
        return
    try:
        sent = transport.socket.send(data)
    except BlockingIOError:
        sent = 0
    except OSError:
        transport.write(data)  # Twisted meets the error when it writes, and closes
        return
    if sent < len(data):
        transport.write(data[sent:])

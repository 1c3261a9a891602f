"""Room sockets for consumer tests: a session cookie and a joined room socket.

The origin is the one `FLINT_WS_ALLOWED_ORIGINS` allows by default in development
(`http://<allowed host>:8000`), so a cookie socket passes the full-origin check.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


def session_cookie(user) -> bytes:
    """The `Cookie` header of a fresh logged-in session of `user`."""
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def room_socket(user, room) -> WebsocketCommunicator:
    """`user`'s room socket on the real ASGI app, connected (disconnect it at the end)."""
    from webapp.asgi import application

    cookie = await sync_to_async(session_cookie)(user)
    socket = WebsocketCommunicator(
        application, f"/ws/rooms/{room.pk}", headers=[(b"cookie", cookie), ORIGIN]
    )
    assert (await socket.connect())[0]
    return socket

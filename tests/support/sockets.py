"""Sockets for consumer tests: a session cookie, a room or document socket on the real app.

`ws_communicator` builds every test's socket (not yet connected, for tests that connect
many at once or expect a refusal); `room_socket` is one joined room socket. Document
sockets with a synced Yjs client: tests/collab/yclient.py `token_doc_client`.

The origin is the one `FLINT_WS_ALLOWED_ORIGINS` allows by default in development
(`http://<allowed host>:8000`), so a cookie socket passes the full-origin check.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")


def session_cookie(user) -> bytes:
    """The `Cookie` header of a fresh logged-in session of `user`."""
    client = Client()
    client.force_login(user)
    return client_cookie(client)


def client_cookie(client: Client) -> bytes:
    """The `Cookie` header of a logged-in test Client's session."""
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def ws_communicator(
    path: str,
    *,
    user=None,
    session: Client | None = None,
    token: str | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> WebsocketCommunicator:
    """A socket to `path` on the real ASGI app, not connected yet.

    Credentials: a `token` (in the query string, as API clients send it), or the session
    cookie of `user` (a fresh login) or of `session` (a logged-in Client); none is an
    anonymous socket. `headers` go besides the cookie: by default the allowed origin for
    a browser's (cookie or anonymous) socket, none for a token's.
    """
    from webapp.asgi import application

    if token is not None:
        path = f"{path}?token={token}"
    if headers is None:
        headers = [] if token is not None else [ORIGIN]
    if user is not None:
        headers = [(b"cookie", await sync_to_async(session_cookie)(user)), *headers]
    elif session is not None:
        headers = [(b"cookie", client_cookie(session)), *headers]
    return WebsocketCommunicator(application, path, headers=headers)


async def room_socket(user, room, **credentials) -> WebsocketCommunicator:
    """`user`'s room socket (or a `token`'s or `session`'s, with user None), connected.

    `room` is a Room or a room id. Disconnect it at the end.
    """
    room_id = getattr(room, "pk", room)
    socket = await ws_communicator(f"/ws/rooms/{room_id}", user=user, **credentials)
    assert (await socket.connect())[0]
    return socket

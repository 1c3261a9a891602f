"""A pycrdt y-websocket client for tests: speaks to the consumer in-process or over TCP."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pycrdt import Awareness, Doc, Text, YMessageType, YSyncMessageType

from editor.collab.protocol import awareness_message, parse, sync_message

TEXT_NAME = "content"


class Closed(Exception):
    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"closed with {code} {reason}")
        self.code = code
        self.reason = reason


class YClient:
    """A document replica plus the client half of the sync protocol."""

    def __init__(
        self,
        send: Callable[[bytes], Awaitable[None]],
        recv: Callable[[float], Awaitable[bytes]],
        *,
        client_id: int | None = None,
    ) -> None:
        self._send = send
        self._recv = recv
        self.doc = Doc(client_id=client_id) if client_id else Doc()
        self.text = self.doc.get(TEXT_NAME, type=Text)
        self.awareness = Awareness(self.doc)
        self.synced = False
        self.received_updates = 0

    async def send(self, data: bytes) -> None:
        await self._send(data)

    async def sync(self, timeout: float = 5.0) -> None:
        """Do what WebsocketProvider does on open; return once the server's step 2 is in."""
        await self.send(sync_message(YSyncMessageType.SYNC_STEP1, self.doc.get_state()))
        deadline = time.monotonic() + timeout
        while not self.synced:
            await self.receive_one(max(0.01, deadline - time.monotonic()))

    async def receive_one(self, timeout: float = 5.0) -> None:
        data = await self._recv(timeout)
        message = parse(data)
        if message.kind == YMessageType.SYNC:
            if message.sync_type == YSyncMessageType.SYNC_STEP1:
                reply = self.doc.get_update(message.payload)
                await self.send(sync_message(YSyncMessageType.SYNC_STEP2, reply))
            else:
                self.doc.apply_update(message.payload)
                if message.sync_type == YSyncMessageType.SYNC_STEP2:
                    self.synced = True
                else:
                    self.received_updates += 1
        elif message.kind == YMessageType.AWARENESS:
            self.awareness.apply_awareness_update(message.payload, "remote")

    async def pump_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out; text is {str(self.text)[:200]!r}")
            try:
                await self.receive_one(remaining)
            except TimeoutError:
                continue

    async def insert(self, index: int, chunk: str) -> bytes:
        state = self.doc.get_state()
        self.text.insert(index, chunk)
        update = self.doc.get_update(state)
        await self.send(sync_message(YSyncMessageType.SYNC_UPDATE, update))
        return update

    async def delete(self, start: int, end: int) -> None:
        state = self.doc.get_state()
        del self.text[start:end]
        await self.send(sync_message(YSyncMessageType.SYNC_UPDATE, self.doc.get_update(state)))

    async def set_cursor(self, user: dict) -> None:
        self.awareness.set_local_state({"user": user})
        update = self.awareness.encode_awareness_update([self.doc.client_id])
        await self.send(awareness_message(update))


def communicator_client(communicator, **kwargs) -> YClient:
    """A YClient on a channels WebsocketCommunicator; a close raises Closed."""

    async def send(data: bytes) -> None:
        await communicator.send_to(bytes_data=data)

    async def recv(timeout: float) -> bytes:
        # receive_output's own timeout cancels the application: wait without it.
        if await communicator.receive_nothing(timeout, interval=0.005):
            raise TimeoutError
        output = await communicator.receive_output(1)
        if output["type"] == "websocket.close":
            raise Closed(output.get("code"), output.get("reason", ""))
        return output["bytes"]

    return YClient(send, recv, **kwargs)


def websocket_client(ws, **kwargs) -> YClient:
    """A YClient on a `websockets` client connection."""
    import websockets

    async def send(data: bytes) -> None:
        await ws.send(data)

    async def recv(timeout: float) -> bytes:
        try:
            data = await asyncio.wait_for(ws.recv(), timeout)
        except websockets.ConnectionClosed as exc:
            rcvd = exc.rcvd
            raise Closed(rcvd.code if rcvd else None, rcvd.reason if rcvd else "") from exc
        return data

    return YClient(send, recv, **kwargs)


def text_file(room, *, path: str = "src/main.py", text: str = "print('hi')\n", editable=True):
    """A project file in `room` (the row the projects app would make on upload)."""
    from editor.projects.models import ProjectFile

    data = text.encode()
    return ProjectFile.objects.create(
        room=room,
        path=path,
        path_key=path.casefold(),
        kind="text" if editable else "binary",
        editable=editable,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        text=text if editable else None,
    )


async def token_doc_socket(user, doc_id) -> Any:
    """`user`'s document socket on the real ASGI app, opened with a fresh token, connected
    (not synced: it may be refused). Disconnect it at the end."""
    from asgiref.sync import sync_to_async

    from editor.accounts.tokens import token_create
    from tests.support.sockets import ws_communicator

    _, secret = await sync_to_async(token_create)(user=user, name="document socket")
    communicator = await ws_communicator(f"/ws/docs/{doc_id}", token=secret)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def token_doc_client(user, doc_id, **kwargs) -> tuple:
    """`user`'s document socket (token_doc_socket) and its YClient, synced:
    (the communicator, its YClient). Disconnect the communicator at the end."""
    communicator = await token_doc_socket(user, doc_id)
    client = communicator_client(communicator, **kwargs)
    await client.sync()
    return communicator, client

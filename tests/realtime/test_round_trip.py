"""The real round trip: a Celery task on a real worker pushes through the room relay
(real Redis) to a WebSocket client connected to a real daphne process."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from asgiref.sync import sync_to_async

from editor.accounts.tokens import token_create
from editor.rooms.tasks import room_event_task

pytestmark = pytest.mark.live


async def _receive_until(ws, kind: str, *, timeout: float = 15.0) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind:
                return message


async def test_worker_task_reaches_a_connected_socket(live_flint, transactional_db, cast):
    _, secret = await sync_to_async(token_create)(user=cast.bob, name="round trip")
    url = f"{live_flint.ws_url}ws/rooms/{cast.room.pk}?token={secret}"
    async with websockets.connect(url) as bob:
        hello = await _receive_until(bob, "hello")
        assert hello["role"] == "editor"
        await sync_to_async(room_event_task.delay)(
            cast.room.pk, "notice", {"text": "hello from a worker"}
        )
        notice = await _receive_until(bob, "notice")
    assert notice["text"] == "hello from a worker"
    # It really went through the worker: its log names the task it ran.
    assert "rooms.room_event" in live_flint.worker.log_tail(200)


async def test_outsider_socket_on_real_daphne_gets_the_forbidden_close_code(
    live_flint, transactional_db, cast
):
    _, secret = await sync_to_async(token_create)(user=cast.mallory, name="probe")
    url = f"{live_flint.ws_url}ws/rooms/{cast.room.pk}?token={secret}"
    async with websockets.connect(url) as mallory:
        error = json.loads(await mallory.recv())
        assert error["type"] == "error"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await mallory.recv()
    assert closed.value.rcvd.code == 4003

"""A few hundred room sockets over many rooms on real daphnes: presence, heartbeats and
AI stream frames; nobody is closed by the server and nobody misses a frame.

Each socket is what a room page opens (/ws/rooms/<id>, JSON frames); the client is the
`websockets` library, many in this process. Every socket moves between files now and
then (`presence.where`, which the whole room hears, itself included) and pings; the
presence heartbeat runs on the server (every HEARTBEAT_S). Meanwhile an "AI stream" runs
in every room: frames published to the room's relay channel the way a Celery worker or
another process sends them (editor/rooms/relay.py), which every socket of the room must
receive, all of them, in order. With two daphnes, each room's sockets are split between
them, so every move also crosses processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import uuid

import pytest
import websockets
from asgiref.sync import sync_to_async

from editor.accounts.tokens import token_create
from editor.core.redis_clients import async_client
from editor.core.relay import encode
from editor.rooms.relay import room_channel, room_item
from editor.rooms.services import room_create

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

ROOMS = int(os.environ.get("FLINT_ROOM_LOAD_ROOMS", "30"))
PER_ROOM = int(os.environ.get("FLINT_ROOM_LOAD_PER_ROOM", "10"))
HOLD_S = float(os.environ.get("FLINT_ROOM_LOAD_HOLD_S", "20"))
STREAM_FRAMES = 40  # per room, during the hold


class Socket:
    def __init__(self, url: str, room_id: int) -> None:
        self.url = url
        self.room_id = room_id
        self.frames: list[dict] = []
        self.close_code: int | None = None
        self.moves_sent = 0
        self.ws = None

    async def open(self) -> None:
        self.ws = await websockets.connect(self.url, max_size=2**22, open_timeout=60)
        self.reader = asyncio.create_task(self._read())
        # "hello" comes once the socket is in its room: from then on it hears all.
        while not self.kinds("hello") and self.close_code is None:
            await asyncio.sleep(0.05)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.frames.append(json.loads(raw))
        except websockets.ConnectionClosed:
            pass
        self.close_code = self.ws.close_code

    def kinds(self, kind: str) -> list[dict]:
        return [f for f in self.frames if f.get("type") == kind]

    async def wander(self, files: list[tuple[str, str]], until: float) -> None:
        """Move between files and ping, like a person working in the room."""
        while time.monotonic() < until and self.close_code is None:
            doc_id, path = random.choice(files)
            await self.ws.send(
                json.dumps({"type": "presence.where", "doc_id": doc_id, "path": path})
            )
            self.moves_sent += 1
            await self.ws.send(json.dumps({"type": "ping", "t": time.time()}))
            await asyncio.sleep(random.uniform(1.5, 3.0))


async def _stream(room_id: int, request: str) -> None:
    """An AI stream to a room, published to its relay channel frame by frame."""
    redis = async_client()
    for n in range(STREAM_FRAMES):
        frame = {"type": "assist.delta", "request": request, "n": n, "text": f"token {n} "}
        await redis.publish(room_channel(room_id), encode("load-test", [room_item(frame)]))
        await asyncio.sleep(HOLD_S / 2 / STREAM_FRAMES)


@pytest.mark.parametrize("processes", [1, 2], ids=["one-daphne", "two-daphnes"])
async def test_hundreds_of_room_sockets_are_never_closed_and_hear_everything(
    live_processes, cast, processes
):
    rooms = [cast.room] + [
        await sync_to_async(room_create)(team=cast.team, actor=cast.alice, name=f"Room {n}")
        for n in range(1, ROOMS)
    ]
    _, token = await sync_to_async(token_create)(user=cast.alice, name="room load")
    lives = [await sync_to_async(live_processes.daphne)() for _ in range(processes)]
    sockets = [
        Socket(f"{lives[n % processes].ws_url}ws/rooms/{room.pk}?token={token}", room.pk)
        for room in rooms
        for n in range(PER_ROOM)
    ]
    started = time.monotonic()
    await asyncio.gather(*(s.open() for s in sockets))
    joined_s = time.monotonic() - started
    files = [(str(uuid.uuid4()), f"src/f{n}.py") for n in range(5)]
    until = time.monotonic() + HOLD_S
    wanderers = [asyncio.create_task(s.wander(files, until)) for s in sockets]
    await asyncio.gather(*(_stream(room.pk, f"r{room.pk}") for room in rooms))
    await asyncio.gather(*wanderers)
    await asyncio.sleep(2)  # the last frames in flight
    for s in sockets:
        await s.ws.close()
    await asyncio.gather(*(s.reader for s in sockets))

    moves = {room.pk: 0 for room in rooms}
    for s in sockets:
        moves[s.room_id] += s.moves_sent
    heard = [len(s.kinds("assist.delta")) for s in sockets]
    report = {
        "sockets": len(sockets),
        "rooms": ROOMS,
        "daphnes": processes,
        "joined_s": round(joined_s, 2),
        "moves_sent": sum(moves.values()),
        "stream_frames_heard_min": min(heard),
        "sockets_missing_stream_frames": sum(1 for n in heard if n < STREAM_FRAMES),
        "sockets_missing_moves": sum(
            1 for s in sockets if len(s.kinds("presence.where")) < moves[s.room_id]
        ),
    }
    print(json.dumps(report))
    server_closes = [s.close_code for s in sockets if s.close_code not in (1000, None)]
    assert server_closes == [], report
    assert report["sockets_missing_stream_frames"] == 0, report
    assert report["sockets_missing_moves"] == 0, report
    for s in sockets:
        assert s.kinds("hello"), "every socket was greeted"
        # It saw the others of its room arrive (the snapshot or their join), itself too.
        assert len({f["conn"] for f in s.kinds("presence.join")}) == PER_ROOM, report
        # Every move in its room, its own included, each once.
        assert len(s.kinds("presence.where")) == moves[s.room_id], report
        assert len(s.kinds("pong")) == s.moves_sent, "its pings were answered"
        stream = [f["n"] for f in s.frames if f.get("type") == "assist.delta"]
        assert stream == list(range(STREAM_FRAMES)), (s.room_id, stream[:5], len(stream))
        assert {f["request"] for f in s.kinds("assist.delta")} == {f"r{s.room_id}"}
    for live in lives:
        log = live.log_path.read_text(errors="replace")
        for problem in ("MaxConnectionsError", "ChannelFull", "over capacity", "Traceback"):
            assert problem not in log, (problem, live.log_path)

"""A few hundred room sockets over many rooms on one real daphne: presence, heartbeats and
AI stream frames, and nobody is closed by the server.

Each socket is what a room page opens (/ws/rooms/<id>, JSON frames); the client is the
`websockets` library, many in this process. Every socket moves between files now and
then (`presence.where`, which the whole room hears) and pings; the presence heartbeat
runs on the server (every HEARTBEAT_S). Meanwhile "AI streams" are relayed to every
room: frames sent to the room's group the way the model gateway's relay sends them
(`assist.event`), which every socket of the room must receive, all of them, in order.
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
from channels.layers import get_channel_layer

from editor.accounts.tokens import token_create
from editor.rooms.events import room_group
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
        self.ws = None

    async def open(self) -> None:
        self.ws = await websockets.connect(self.url, max_size=2**22, open_timeout=60)
        self.reader = asyncio.create_task(self._read())
        # "hello" comes once the socket is in its room's group: from then on it hears all.
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
            await self.ws.send(json.dumps({"type": "ping", "t": time.time()}))
            await asyncio.sleep(random.uniform(1.5, 3.0))


async def _stream(layer, room_id: int, request: str) -> None:
    """An AI stream to a room, as the model gateway's relay sends its frames."""
    for n in range(STREAM_FRAMES):
        frame = {"type": "assist.delta", "request": request, "n": n, "text": f"token {n} "}
        await layer.group_send(room_group(room_id), {"type": "assist.event", "frame": frame})
        await asyncio.sleep(HOLD_S / 2 / STREAM_FRAMES)


@pytest.mark.xfail(
    reason="Known gap (issue 11, room sockets): room events go through channels_redis, one "
    "message per event per process in ONE Redis key per process (capacity 1000); with 300 "
    "sockets moving and 30 AI streams the daphne's single receive loop does not drain it "
    "fast enough and group_send drops whole messages ('channels over capacity'), so every "
    "socket misses some stream frames. Nobody is closed. Fix: a per-process room relay like "
    "editor/collab/relay.py.",
    strict=False,
)
async def test_hundreds_of_room_sockets_are_never_closed_and_hear_everything(live_processes, cast):
    rooms = [cast.room] + [
        await sync_to_async(room_create)(team=cast.team, actor=cast.alice, name=f"Room {n}")
        for n in range(1, ROOMS)
    ]
    _, token = await sync_to_async(token_create)(user=cast.alice, name="room load")
    live = await sync_to_async(live_processes.daphne)()
    sockets = [
        Socket(f"{live.ws_url}ws/rooms/{room.pk}?token={token}", room.pk)
        for room in rooms
        for _ in range(PER_ROOM)
    ]
    started = time.monotonic()
    await asyncio.gather(*(s.open() for s in sockets))
    joined_s = time.monotonic() - started
    files = [(str(uuid.uuid4()), f"src/f{n}.py") for n in range(5)]
    until = time.monotonic() + HOLD_S
    layer = get_channel_layer()
    wanderers = [asyncio.create_task(s.wander(files, until)) for s in sockets]
    await asyncio.gather(*(_stream(layer, room.pk, f"r{room.pk}") for room in rooms))
    await asyncio.gather(*wanderers)
    await asyncio.sleep(2)  # the last frames in flight
    for s in sockets:
        await s.ws.close()
    await asyncio.gather(*(s.reader for s in sockets))

    total = len(sockets)
    report = {"sockets": total, "rooms": ROOMS, "joined_s": round(joined_s, 2)}
    log = live.log_path.read_text(errors="replace")
    report["log_over_capacity"] = log.count("over capacity")
    heard = [len(s.kinds("assist.delta")) for s in sockets]
    report["stream_frames_heard_min"] = min(heard)
    report["sockets_missing_frames"] = sum(1 for n in heard if n < STREAM_FRAMES)
    print(json.dumps(report))
    server_closes = [s.close_code for s in sockets if s.close_code not in (1000, None)]
    assert server_closes == [], report
    for s in sockets:
        assert s.kinds("hello"), "every socket was greeted"
        # It saw the others of its room arrive (the snapshot or their join), itself too.
        assert len({f["conn"] for f in s.kinds("presence.join")}) == PER_ROOM, report
        assert s.kinds("presence.where"), "the room's moves reached it"
        assert s.kinds("pong"), "its pings were answered"
        stream = [f["n"] for f in s.frames if f.get("type") == "assist.delta"]
        assert stream == list(range(STREAM_FRAMES)), (s.room_id, stream[:5], len(stream))
        assert {f["request"] for f in s.kinds("assist.delta")} == {f"r{s.room_id}"}
    assert "MaxConnectionsError" not in log
    assert "ChannelFull" not in log
    assert "over capacity" not in log
    assert "Traceback" not in log

"""`flint sync` against a real daphne: two sync clients and a document client at once,
creates/deletes/renames both ways, a client offline, the server killed mid-sync."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import pytest
import websockets

from tests.cli.syncing import Cable, SyncRun, read
from tests.collab.yclient import websocket_client

pytestmark = pytest.mark.live

LINES = "".join(f"line {i}\n" for i in range(1, 21))


async def until(predicate, timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out: {what}")
        await asyncio.sleep(0.02)


def api_get(base: str, token: str, path: str):
    request = urllib.request.Request(  # noqa: S310 - our own daphne
        base + "api" + path, headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def live_text(people, path: str) -> str | None:
    files = api_get(people.url, people.alice.token, f"/rooms/{people.room.pk}/files")["files"]
    for meta in files:
        if meta["path"] == path:
            one = api_get(people.url, people.alice.token,
                          f"/rooms/{people.room.pk}/files/{meta['id']}")  # fmt: skip
            return one["text"]
    return None


@pytest.fixture
def project(people):
    from editor.projects.services import file_create

    app = file_create(room=people.room, actor=people.cast.alice, path="src/app.py", text=LINES)
    file_create(room=people.room, actor=people.cast.alice, path="README.md", text="# App\n")
    return app


class DocClient:
    """The browser-less document client of tests/collab/yclient.py, over TCP."""

    def __init__(self, ws_base: str, doc_id, token: str) -> None:
        self.url = f"{ws_base}ws/docs/{doc_id}?token={token}"

    async def __aenter__(self):
        self.ws = await websockets.connect(self.url, max_size=None)
        self.client = websocket_client(self.ws)
        await self.client.sync()
        return self.client

    async def __aexit__(self, *exc):
        await self.ws.close()


async def test_two_syncs_and_a_document_client_edit_one_file_at_once(people, project, tmp_path):
    alice = SyncRun(people.alice, tmp_path / "alice", "acme/compiler")
    bob = SyncRun(people.bob, tmp_path / "bob", "acme/compiler")
    try:
        alice.ready(), bob.ready()
        a_file, b_file = alice.folder / "src/app.py", bob.folder / "src/app.py"
        assert read(a_file) == read(b_file) == LINES  # both folders filled from the room
        async with DocClient(people.url.replace("http", "ws"), project.doc_id,
                             people.alice.token) as doc:  # fmt: skip
            a_file.write_text(LINES.replace("line 2\n", "line 2 by alice\n"))
            b_file.write_text(LINES.replace("line 18\n", "line 18 by bob\n"))
            await doc.insert(len(LINES.split("line 10")[0].encode()), "typed ")
            expected = (LINES.replace("line 2\n", "line 2 by alice\n")
                        .replace("line 18\n", "line 18 by bob\n")
                        .replace("line 10\n", "typed line 10\n"))  # fmt: skip
            await doc.pump_until(lambda: str(doc.text) == expected, timeout=20)
            await until(lambda: read(a_file) == expected and read(b_file) == expected,
                        what="both folders converge")  # fmt: skip
        assert live_text(people, "src/app.py") == expected
        await asyncio.sleep(0.5)  # a remote write echoed back would show up as another "up"
        ups = [e for e in alice.events + bob.events if e["event"] == "up"]
        assert len(ups) == 2, ups
    finally:
        alice.stop(), bob.stop()


async def test_the_sync_shows_in_presence_as_a_terminal(people, project, tmp_path):
    url = f"{people.url.replace('http', 'ws')}ws/rooms/{people.room.pk}?token={people.alice.token}"
    async with websockets.connect(url) as room:
        bob = SyncRun(people.bob, tmp_path / "bob", str(people.room.pk))
        try:
            bob.ready()
            while True:
                message = json.loads(await asyncio.wait_for(room.recv(), 10))
                if message["type"] == "presence.join" and message["who"]["username"] == "bob":
                    break
            assert message["who"]["client"] == "terminal"
        finally:
            assert bob.stop() == 0


async def test_creates_deletes_and_renames_follow_both_ways(people, project, tmp_path):
    from asgiref.sync import sync_to_async

    from editor.projects.services import file_create

    alice = SyncRun(people.alice, tmp_path / "alice", "acme/compiler")
    bob = SyncRun(people.bob, tmp_path / "bob", "acme/compiler")
    try:
        alice.ready(), bob.ready()
        (alice.folder / "notes").mkdir()
        (alice.folder / "notes" / "todo.md").write_text("- ship\n")
        await until(lambda: read(bob.folder / "notes/todo.md") == "- ship\n", what="create")
        assert live_text(people, "notes/todo.md") == "- ship\n"

        await sync_to_async(file_create)(room=people.room, actor=people.cast.alice,
                                         path="docs/api.md", text="# API\n")  # fmt: skip
        await until(
            lambda: (
                read(alice.folder / "docs/api.md") == "# API\n"
                and read(bob.folder / "docs/api.md") == "# API\n"
            ),
            what="remote create",
        )

        (alice.folder / "README.md").rename(alice.folder / "README.txt")
        await until(
            lambda: (
                read(bob.folder / "README.txt") == "# App\n"
                and not (bob.folder / "README.md").exists()
            ),
            what="rename",
        )
        assert live_text(people, "README.txt") == "# App\n"
        assert live_text(people, "README.md") is None

        (bob.folder / "notes" / "todo.md").unlink()
        await until(lambda: not (alice.folder / "notes/todo.md").exists(), what="delete")
        assert live_text(people, "notes/todo.md") is None
        # and the edits still flow on the renamed file, both ways
        (bob.folder / "README.txt").write_text("# App, renamed\n")
        await until(lambda: read(alice.folder / "README.txt") == "# App, renamed\n")
    finally:
        alice.stop(), bob.stop()


async def test_an_offline_client_merges_its_edits_when_it_reconnects(people, project, tmp_path):
    cable = Cable(int(people.url.rsplit(":", 1)[1].strip("/")))
    from tests.cli.conftest import Terminal

    laptop = Terminal(tmp_path / "laptop" / "config.json")
    assert laptop.run("login", cable.url, "--token", people.bob.token).code == 0
    alice = SyncRun(people.alice, tmp_path / "alice", "acme/compiler")
    bob = SyncRun(laptop, tmp_path / "bob", "acme/compiler")
    try:
        alice.ready(), bob.ready()
        cable.unplug()
        bob.wait_event("offline")
        b_file, a_file = bob.folder / "src/app.py", alice.folder / "src/app.py"
        b_file.write_text(LINES.replace("line 3\n", "line 3 offline\n"))
        (bob.folder / "offline.txt").write_text("made on a train\n")
        a_file.write_text(LINES.replace("line 17\n", "line 17 online\n"))
        await until(lambda: live_text(people, "src/app.py") != LINES, what="alice's edit")
        await asyncio.sleep(0.3)
        assert read(b_file) == LINES.replace("line 3\n", "line 3 offline\n")
        cable.plug()
        expected = LINES.replace("line 3\n", "line 3 offline\n").replace(
            "line 17\n", "line 17 online\n"
        )
        await until(lambda: read(a_file) == expected and read(b_file) == expected,
                    what="merge after reconnect")  # fmt: skip
        await until(lambda: read(alice.folder / "offline.txt") == "made on a train\n")
        assert live_text(people, "src/app.py") == expected
    finally:
        alice.stop(), bob.stop()
        cable.close()


async def test_the_server_killed_and_restarted_mid_sync_loses_nothing(
    people, project, tmp_path, live_processes
):
    import os
    import signal

    from tests.cli.conftest import Terminal

    server = live_processes.daphne()
    terminals = []
    for name in ("alice", "bob"):
        terminal = Terminal(tmp_path / f"{name}-own" / "config.json")
        assert terminal.run("login", server.url, "--token", getattr(people, name).token).code == 0
        terminals.append(terminal)
    alice = SyncRun(terminals[0], tmp_path / "alice", "acme/compiler")
    bob = SyncRun(terminals[1], tmp_path / "bob", "acme/compiler")
    try:
        alice.ready(), bob.ready()
        a_file, b_file = alice.folder / "src/app.py", bob.folder / "src/app.py"
        async with DocClient(server.ws_url, project.doc_id, people.alice.token) as doc:
            await doc.insert(0, "# typed in the browser\n")
            typed = "# typed in the browser\n" + LINES
            await until(lambda: read(a_file) == typed and read(b_file) == typed)
        os.kill(server.pid, signal.SIGKILL)
        server.process.wait(10)
        alice.wait_event("offline"), bob.wait_event("offline")
        a_file.write_text(typed.replace("line 5\n", "line 5 while down (alice)\n"))
        b_file.write_text(typed.replace("line 15\n", "line 15 while down (bob)\n"))
        await asyncio.sleep(0.5)
        live_processes.daphne(port=server.port)
        expected = typed.replace("line 5\n", "line 5 while down (alice)\n").replace(
            "line 15\n", "line 15 while down (bob)\n"
        )
        await until(lambda: read(a_file) == expected and read(b_file) == expected,
                    timeout=30, what="convergence after the restart")  # fmt: skip
        assert live_text(people, "src/app.py") == expected
    finally:
        alice.stop(), bob.stop()

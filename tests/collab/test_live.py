"""The document socket on real daphne processes: the Node y-websocket client, two
processes on one Redis, and kill -9 while people type."""

from __future__ import annotations

import asyncio
import json
import os
import signal

import pytest
import websockets
from asgiref.sync import sync_to_async

from editor.accounts.tokens import token_create
from editor.core import closecodes
from tests.collab.conftest import NODE_DIR
from tests.collab.yclient import Closed, text_file, websocket_client

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


async def _token(user) -> str:
    _, secret = await sync_to_async(token_create)(user=user, name="collab-live")
    return secret


async def _connect(live, doc_id, user, *, sync: bool = True):
    token = await _token(user)
    ws = await websockets.connect(f"{live.ws_url}ws/docs/{doc_id}?token={token}", max_size=None)
    client = websocket_client(ws)
    if sync:
        await client.sync()
    return ws, client


async def _node(live, doc_id, token: str, mode: str):
    return await asyncio.create_subprocess_exec(
        "node",
        str(NODE_DIR / "interop_client.cjs"),
        f"{live.ws_url}ws/docs",
        str(doc_id),
        token,
        mode,
        stdout=asyncio.subprocess.PIPE,
        cwd=NODE_DIR,
    )


async def _line(process, event: str, timeout: float = 20) -> dict:
    while True:
        raw = await asyncio.wait_for(process.stdout.readline(), timeout)
        assert raw, f"node exited before {event!r}"
        message = json.loads(raw)
        if message["event"] == event:
            return message
        assert message["event"] != "timeout", message


async def test_the_stock_node_websocket_provider_interoperates(live_processes, node_modules, cast):
    source = "x = 1\n"
    file = await sync_to_async(text_file)(cast.room, text=source)
    live = await sync_to_async(live_processes.daphne)()
    ws, bob = await _connect(live, file.doc_id, cast.bob)
    await bob.set_cursor({"name": "Python", "color": "#00f"})
    editor = await _node(live, file.doc_id, await _token(cast.alice), "edit")
    viewer = await _node(live, file.doc_id, await _token(cast.carol), "view")
    outsider = await _node(live, file.doc_id, await _token(cast.mallory), "refuse")
    try:
        assert (await _line(editor, "synced"))["text"] == source
        assert source in (await _line(viewer, "synced"))["text"]
        await _line(viewer, "inserted")
        await bob.pump_until(lambda: "// from node edit" in str(bob.text), timeout=10)
        await bob.insert(len(str(bob.text)), "# from python\n")
        done = await _line(editor, "done")
        assert done["text"] == str(bob.text) == f"// from node edit\n{source}# from python\n"
        # Names come from the profiles, whatever the clients said (tests/security).
        assert "Bob" in done["cursors"]
        await bob.pump_until(
            lambda: any(s.get("user", {}).get("name") == "Alice" for s in _states(bob)),
            timeout=5,
        )
        # The viewer's provider sent its insert; the server dropped it.
        await _line(viewer, "done")
        assert "from node view" not in str(bob.text)
        refused = await _line(outsider, "closed")
        assert refused["code"] == closecodes.FORBIDDEN
    finally:
        for process in (editor, viewer, outsider):
            if process.returncode is None:
                process.kill()
            await process.wait()
        await ws.close()


def _states(client) -> list[dict]:
    return [state for state in client.awareness.states.values() if state]


async def test_two_daphne_processes_on_one_redis_converge(live_processes, cast):
    file = await sync_to_async(text_file)(cast.room, text="shared = []\n")
    first = await sync_to_async(live_processes.daphne)()
    second = await sync_to_async(live_processes.daphne)()
    people = [
        (first, cast.alice),
        (second, cast.bob),
        (first, cast.bob),
        (second, cast.alice),
    ]
    connections = [await _connect(live, file.doc_id, user) for live, user in people]
    clients = [client for _, client in connections]
    try:
        await clients[0].set_cursor({"name": "Alice on one"})  # the server says "Alice"
        for round_ in range(15):
            for number, client in enumerate(clients):
                await client.insert(len(str(client.text)), f"{number}:{round_} ")

        expected = 15 * len(clients)

        def complete(client) -> bool:
            return str(client.text).count(":") == expected

        await asyncio.gather(
            *(client.pump_until(lambda c=client: complete(c), 20) for client in clients)
        )
        texts = {str(client.text) for client in clients}
        assert len(texts) == 1, texts
        (text,) = texts
        assert text.startswith("shared = []\n") and text.count("shared") == 1
        # Cursors cross processes too.
        await clients[1].pump_until(
            lambda: any(s.get("user", {}).get("id") == cast.alice.pk for s in _states(clients[1])),
            timeout=5,
        )
        # A newcomer on either process loads the same text.
        for live in (first, second):
            ws, late = await _connect(live, file.doc_id, cast.carol)
            assert str(late.text) == text
            await ws.close()
    finally:
        for ws, _ in connections:
            await ws.close()


async def test_every_relayed_edit_survives_kill_9(live_processes, cast):
    source = "log = []\n"
    file = await sync_to_async(text_file)(cast.room, text=source)
    live = await sync_to_async(live_processes.daphne)()
    alice_ws, alice = await _connect(live, file.doc_id, cast.alice)
    bob_ws, bob = await _connect(live, file.doc_id, cast.bob)
    seen_by_bob = str(bob.text)

    async def type_forever() -> None:
        number = 0
        while True:
            await alice.insert(len(str(alice.text)), f"<{number}>")
            number += 1
            await asyncio.sleep(0.002)

    async def watch() -> None:
        nonlocal seen_by_bob
        while True:
            await bob.receive_one(10)
            seen_by_bob = str(bob.text)

    typing = asyncio.create_task(type_forever())
    watching = asyncio.create_task(watch())
    try:
        for _ in range(2000):
            if seen_by_bob.count("<") >= 50:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # typing continues: kill lands mid-stream
        os.killpg(live.pid, signal.SIGKILL)
        await asyncio.wait([watching], timeout=5)
    finally:
        typing.cancel()
        watching.cancel()
        await asyncio.gather(typing, watching, return_exceptions=True)
    assert isinstance(
        watching.exception() if watching.done() and not watching.cancelled() else Closed(None),
        (Closed, websockets.ConnectionClosed, Exception),
    )
    relayed = seen_by_bob
    assert relayed.count("<") >= 50
    await sync_to_async(live.stop)()

    restarted = await sync_to_async(live_processes.daphne)()
    ws, carol = await _connect(restarted, file.doc_id, cast.carol)
    after = str(carol.text)
    # alice only appended, so bob's last view is a prefix of the document; all of it is back.
    assert after.startswith(relayed), (relayed[-80:], after[-80:])
    await ws.close()
    for socket in (alice_ws, bob_ws):
        await socket.close()


async def test_an_idle_document_socket_stays_open(live_processes, cast):
    file = await sync_to_async(text_file)(cast.room, text="x\n")
    live = await sync_to_async(live_processes.daphne)()
    ws, bob = await _connect(live, file.doc_id, cast.bob)
    await asyncio.sleep(12)  # idle past every Redis read timeout of the relays
    await bob.insert(0, "y")
    late_ws, late = await _connect(live, file.doc_id, cast.alice)
    try:
        assert str(late.text) == "yx\n"
        await bob.pump_until(lambda: True, timeout=0.1)
        assert ws.state.name == "OPEN"
    finally:
        await ws.close()
        await late_ws.close()


async def test_a_write_from_a_worker_thread_reaches_clients_on_real_daphnes(live_processes, cast):
    """doc_text_replace as a Celery task runs it: sync code on a thread with no loop, in a
    process that has no socket of the document; two daphnes relay it to their clients."""
    import threading

    from editor.collab.services import doc_text_replace, documents_forget

    source = "".join(f"row {i}\n" for i in range(8))
    file = await sync_to_async(text_file)(cast.room, text=source)
    first = await sync_to_async(live_processes.daphne)()
    second = await sync_to_async(live_processes.daphne)()
    one_ws, one = await _connect(first, file.doc_id, cast.bob)
    two_ws, two = await _connect(second, file.doc_id, cast.alice)
    await two.insert(0, "# alice\n")
    await one.pump_until(lambda: "# alice" in str(one.text), timeout=10)
    written = str(one.text).replace("row 3\n", "row three\n")
    errors: list[BaseException] = []

    def task(action) -> None:
        try:
            action()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def write() -> None:
        doc_text_replace(doc_id=file.doc_id, text=written, origin="task:live")

    def delete() -> None:
        from django.db import transaction

        with transaction.atomic():
            documents_forget(doc_ids=[file.doc_id])

    try:
        worker = threading.Thread(target=task, args=(write,))
        worker.start()
        await asyncio.get_running_loop().run_in_executor(None, worker.join)
        assert not errors, errors
        for client in (one, two):
            await client.pump_until(lambda c=client: str(c.text) == written, timeout=10)

        worker = threading.Thread(target=task, args=(delete,))
        worker.start()
        await asyncio.get_running_loop().run_in_executor(None, worker.join)
        assert not errors, errors
        for client in (one, two):
            with pytest.raises(Closed) as closed:
                await client.pump_until(lambda: False, timeout=10)
            assert closed.value.code == closecodes.NOT_FOUND
    finally:
        await one_ws.close()
        await two_ws.close()

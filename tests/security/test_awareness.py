"""Issue #10 item 4: awareness says who a state is from in the server's words, and a
connection speaks only for its own client ids.

Real document sockets (WebsocketCommunicator against the ASGI app), pycrdt clients.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from pycrdt import Awareness, Doc

from editor.accounts.services import profile_update
from editor.accounts.tokens import token_create
from editor.collab.awareness import MAX_CLIENTS_PER_CONNECTION, MAX_STATE_BYTES
from editor.collab.protocol import awareness_message
from editor.collab.services import doc_text_replace
from tests.collab.yclient import text_file, token_doc_client
from tests.support.models import simulator_start, simulator_tiers
from tests.support.sockets import room_socket

pytestmark = pytest.mark.django_db(transaction=True)

CSS_COLOUR = "red;position:fixed;inset:0;background:url(https://evil.example/x.png)"
HEX = re.compile(r"#[0-9a-f]{6}")


@pytest.fixture
def main_py(cast):
    return text_file(cast.room, text="def main():\n    pass\n")


def _forged_update(client_id: int, state: dict | None, *, clock: int = 50) -> bytes:
    """An awareness message for `client_id`, as any page could craft it."""
    awareness = Awareness(Doc(client_id=client_id))
    for _ in range(clock):  # a clock ahead of the real owner's, so a replica would take it
        awareness.set_local_state({"n": 0})
    if state is None:
        awareness.remove_awareness_states([client_id], "forge")
    else:
        awareness.set_local_state(state)
    return awareness_message(awareness.encode_awareness_update([client_id]))


async def test_viewer_awareness_claiming_to_be_alice_with_css_colour_reaches_peers_as_carol(
    cast, main_py
):
    await sync_to_async(profile_update)(user=cast.carol, display_name="Carol C")
    alice_ws, alice = await token_doc_client(cast.alice, main_py.doc_id)
    bob_ws, bob = await token_doc_client(cast.bob, main_py.doc_id)
    carol_ws, carol = await token_doc_client(cast.carol, main_py.doc_id)
    forged_user = {
        "id": cast.alice.pk,
        "username": "alice",
        "name": "Alice",
        "color": CSS_COLOUR,
        "colorLight": CSS_COLOUR,
    }
    await carol.set_cursor(forged_user)
    carol_id = carol.doc.client_id
    for peer in (alice, bob):
        await peer.pump_until(lambda p=peer: carol_id in p.awareness.states)
        user = peer.awareness.states[carol_id]["user"]
        assert user["id"] == cast.carol.pk
        assert user["username"] == "carol"
        assert user["name"] == "Carol C"
        assert HEX.fullmatch(user["color"]), user
        assert user["colorLight"] == user["color"] + "33"
        assert "position" not in str(peer.awareness.states[carol_id])
    # A newcomer's snapshot says the same.
    late_ws, late = await token_doc_client(cast.alice, main_py.doc_id)
    await late.pump_until(lambda: carol_id in late.awareness.states)
    assert late.awareness.states[carol_id]["user"]["name"] == "Carol C"
    for ws in (alice_ws, bob_ws, carol_ws, late_ws):
        await ws.disconnect()


async def test_member_cannot_send_or_remove_states_for_another_members_client_id(cast, main_py):
    alice_ws, alice = await token_doc_client(cast.alice, main_py.doc_id)
    bob_ws, bob = await token_doc_client(cast.bob, main_py.doc_id)
    carol_ws, carol = await token_doc_client(cast.carol, main_py.doc_id)
    alice_id = alice.doc.client_id
    await alice.set_cursor({"name": "Alice"})
    await carol.pump_until(lambda: alice_id in carol.awareness.states)
    assert carol.awareness.states[alice_id]["user"]["id"] == cast.alice.pk

    # bob speaks for alice's id, then removes it; then says something of his own.
    await bob.send(_forged_update(alice_id, {"user": {"name": "Alice"}, "assistEdits": {}}))
    await bob.send(_forged_update(alice_id, None, clock=60))
    await bob.set_cursor({"name": "Bob"})
    bob_id = bob.doc.client_id
    await carol.pump_until(lambda: bob_id in carol.awareness.states)
    # Messages of one socket are handled in order: the forged ones came and went before.
    assert alice_id in carol.awareness.states
    assert carol.awareness.states[alice_id] == {"user": carol.awareness.states[alice_id]["user"]}
    assert carol.awareness.states[alice_id]["user"]["id"] == cast.alice.pk
    assert carol.awareness.states[bob_id]["user"]["id"] == cast.bob.pk

    # Alice's own removal (her tab closing) is honoured.
    alice.awareness.remove_awareness_states([alice_id], "unload")
    await alice.send(awareness_message(alice.awareness.encode_awareness_update([alice_id])))
    await carol.pump_until(lambda: alice_id not in carol.awareness.states)
    for ws in (alice_ws, bob_ws, carol_ws):
        await ws.disconnect()


async def test_cursor_of_a_client_that_left_cannot_be_taken_over_by_another_member(cast, main_py):
    """Once an id is bound, only its owner's connections may use it, even after it left."""
    alice_ws, alice = await token_doc_client(cast.alice, main_py.doc_id)
    bob_ws, bob = await token_doc_client(cast.bob, main_py.doc_id)
    carol_ws, carol = await token_doc_client(cast.carol, main_py.doc_id)
    alice_id = alice.doc.client_id
    await alice.set_cursor({"name": "Alice"})
    await bob.pump_until(lambda: alice_id in bob.awareness.states)
    # bob connects a second socket claiming alice's id while she is still connected.
    bob2_ws, bob2 = await token_doc_client(cast.bob, main_py.doc_id)
    await bob2.send(_forged_update(alice_id, {"user": {"name": "Alice"}, "cursor": "forged"}))
    await bob2.set_cursor({"name": "Bob again"})
    await carol.pump_until(lambda: bob2.doc.client_id in carol.awareness.states)
    assert "cursor" not in carol.awareness.states[alice_id]
    for ws in (alice_ws, bob_ws, bob2_ws, carol_ws):
        await ws.disconnect()


async def test_reconnecting_page_keeps_its_client_id_while_the_old_socket_lingers(cast, main_py):
    """y-websocket reuses the client id on reconnect; the same person may take it over."""
    alice_ws, alice = await token_doc_client(cast.alice, main_py.doc_id)
    bob_ws, bob = await token_doc_client(cast.bob, main_py.doc_id)
    carol_ws, carol = await token_doc_client(cast.carol, main_py.doc_id)
    await alice.set_cursor({"name": "Alice", "where": 1})
    alice_id = alice.doc.client_id
    await carol.pump_until(lambda: alice_id in carol.awareness.states)
    again_ws, again = await token_doc_client(cast.alice, main_py.doc_id, client_id=alice_id)
    await again.send(_forged_update(alice_id, {"where": 2}, clock=10))
    await carol.pump_until(lambda: carol.awareness.states[alice_id].get("where") == 2)
    # The old socket's late close must not remove the cursor the new one now owns.
    await alice_ws.disconnect()
    await bob.set_cursor({"name": "Bob"})
    await carol.pump_until(lambda: bob.doc.client_id in carol.awareness.states)
    assert carol.awareness.states[alice_id]["where"] == 2
    for ws in (bob_ws, carol_ws, again_ws):
        await ws.disconnect()


async def test_an_echoed_state_is_not_taken_over_even_by_the_owners_other_page(cast, main_py):
    """y-websocket re-sends every state it is sent; that echo (no newer clock) changes
    nothing: it binds no id, so it cannot make the owner's cursor vanish later."""
    alice_ws, alice = await token_doc_client(cast.alice, main_py.doc_id)
    again_ws, again = await token_doc_client(cast.alice, main_py.doc_id)
    bob_ws, bob = await token_doc_client(cast.bob, main_py.doc_id)
    carol_ws, carol = await token_doc_client(cast.carol, main_py.doc_id)
    alice_id = alice.doc.client_id
    await alice.set_cursor({"name": "Alice"})
    await again.pump_until(lambda: alice_id in again.awareness.states)
    await carol.pump_until(lambda: alice_id in carol.awareness.states)
    # Alice's second page sends back what it got, as y-websocket's provider does.
    await again.send(awareness_message(again.awareness.encode_awareness_update([alice_id])))
    # Had the echo bound her id to the second page, its close would remove her cursor.
    await again_ws.disconnect()
    await bob.set_cursor({"name": "Bob"})
    await carol.pump_until(lambda: bob.doc.client_id in carol.awareness.states)
    assert carol.awareness.states[alice_id]["user"]["id"] == cast.alice.pk
    for ws in (alice_ws, bob_ws, carol_ws):
        await ws.disconnect()


async def test_oversized_awareness_state_is_dropped_and_the_socket_stays_open(cast, main_py):
    alice_ws, alice = await token_doc_client(cast.alice, main_py.doc_id)
    bob_ws, bob = await token_doc_client(cast.bob, main_py.doc_id)
    bob_id = bob.doc.client_id
    await bob.set_cursor({"name": "Bob", "junk": "x" * (MAX_STATE_BYTES + 1)})
    await bob.send(_forged_update(bob_id, {"small": True}, clock=5))
    await alice.pump_until(lambda: bob_id in alice.awareness.states)
    assert "junk" not in alice.awareness.states[bob_id]
    assert alice.awareness.states[bob_id]["small"] is True
    # The socket is still open: his edits still arrive.
    await bob.insert(0, "# still here\n")
    await alice.pump_until(lambda: "# still here" in str(alice.text))
    for ws in (alice_ws, bob_ws):
        await ws.disconnect()


async def test_one_connection_cannot_speak_for_many_client_ids(cast, main_py):
    alice_ws, alice = await token_doc_client(cast.alice, main_py.doc_id)
    bob_ws, bob = await token_doc_client(cast.bob, main_py.doc_id)
    base = 7_000_000
    for offset in range(MAX_CLIENTS_PER_CONNECTION + 6):
        await bob.send(_forged_update(base + offset, {"n": offset}, clock=1))
    await bob.set_cursor({"name": "Bob"})  # his real id: over the cap, dropped too
    await bob.send(_forged_update(base, {"n": "last"}, clock=2))
    await alice.pump_until(lambda: alice.awareness.states.get(base, {}).get("n") == "last")
    others = set(alice.awareness.states) - {alice.doc.client_id}
    assert others == {base + offset for offset in range(MAX_CLIENTS_PER_CONNECTION)}
    for ws in (alice_ws, bob_ws):
        await ws.disconnect()


async def test_nobody_can_speak_for_or_remove_an_agents_presence(cast, main_py, settings):
    """A task's named cursor (the server's own client id) cannot be forged or removed."""
    settings.FLINT_COLLAB_AGENT_HOLD_SECONDS = 60  # it stays for the whole test
    carol_ws, carol = await token_doc_client(cast.carol, main_py.doc_id)
    bob_ws, bob = await token_doc_client(cast.bob, main_py.doc_id)
    presence = {"task": 7, "name": "task #7, started by Alice", "started_by": "alice"}
    await sync_to_async(doc_text_replace)(
        doc_id=main_py.doc_id, text="def main():\n    return 1\n", origin="task:7",
        presence=presence,
    )  # fmt: skip

    def agent_ids(client) -> list[int]:
        return [c for c, s in client.awareness.states.items() if s and s["user"].get("agent")]

    await carol.pump_until(lambda: bool(agent_ids(carol)))
    (agent_id,) = agent_ids(carol)
    shown = dict(carol.awareness.states[agent_id])
    assert shown["user"]["name"] == "task #7, started by Alice"
    await bob.pump_until(lambda: agent_id in bob.awareness.states)

    forged = {"user": {"name": "task #7, started by Alice"}, "cursor": "forged"}
    await bob.send(_forged_update(agent_id, forged))
    await bob.send(_forged_update(agent_id, None, clock=60))
    await bob.set_cursor({"name": "Bob"})
    await carol.pump_until(lambda: bob.doc.client_id in carol.awareness.states)
    assert carol.awareness.states[agent_id] == shown  # neither taken over nor removed
    for ws in (carol_ws, bob_ws):
        await ws.disconnect()


@pytest.mark.live
async def test_member_cannot_speak_for_a_client_id_held_through_another_process(
    live_processes, cast
):
    """Two daphnes on one Redis: the relay carries who holds each id."""
    import websockets

    from tests.collab.yclient import websocket_client

    file = await sync_to_async(text_file)(cast.room, text="x = 1\n")
    first = await sync_to_async(live_processes.daphne)()
    second = await sync_to_async(live_processes.daphne)()

    async def connect(live, user):
        _, token = await sync_to_async(token_create)(user=user, name="awareness-live")
        ws = await websockets.connect(f"{live.ws_url}ws/docs/{file.doc_id}?token={token}")
        client = websocket_client(ws)
        await client.sync()
        return ws, client

    alice_ws, alice = await connect(first, cast.alice)
    carol_ws, carol = await connect(first, cast.carol)
    bob_ws, bob = await connect(second, cast.bob)
    try:
        alice_id = alice.doc.client_id
        await alice.set_cursor({"name": "Alice"})
        await bob.pump_until(lambda: alice_id in bob.awareness.states)
        await bob.send(_forged_update(alice_id, {"cursor": "forged"}))
        await bob.send(_forged_update(alice_id, None, clock=60))
        await bob.set_cursor({"name": "Bob"})
        await carol.pump_until(lambda: bob.doc.client_id in carol.awareness.states)
        assert carol.awareness.states[alice_id]["user"]["id"] == cast.alice.pk
        assert "cursor" not in carol.awareness.states[alice_id]
        assert carol.awareness.states[bob.doc.client_id]["user"]["id"] == cast.bob.pk
    finally:
        for ws in (alice_ws, carol_ws, bob_ws):
            await ws.close()


# --- quick-edit proposals on the room socket -------------------------------------------


@pytest.fixture
def simulator(settings):
    """Every tier on the model simulator, over real HTTP (as in tests/assist)."""
    running = simulator_start(tokens_per_s=200, ttft_ms=20)
    settings.FLINT_MODEL_TIERS = simulator_tiers(running.base_url, timeout=1.0)
    yield running
    running.stop()


async def test_quick_edit_frames_under_a_reused_request_id_name_their_real_author(cast, simulator):
    """bob starts a stream under alice's request id: every page can tell it is not hers."""
    alice = await room_socket(cast.alice, cast.room)
    bob = await room_socket(cast.bob, cast.room)
    carol = await room_socket(cast.carol, cast.room)
    edit = {"type": "assist.edit", "request_id": f"e-{cast.alice.pk}-x", "selection": "x = 1\n"}
    await alice.send_json_to({**edit, "instruction": "rename [[sim:tokens=200]]"})
    await bob.send_json_to({**edit, "instruction": "vandalize [[sim:tokens=200]]"})
    authors = {"assist.start": set(), "assist.delta": set()}
    starts = []
    while len(starts) < 2 or not all(authors.values()):
        frame = await carol.receive_json_from(timeout=5)
        if frame.get("request_id") != edit["request_id"] or frame["type"] not in authors:
            continue
        authors[frame["type"]].add(frame["by"])
        if frame["type"] == "assist.start":
            starts.append(frame)
            assert frame["by"] == frame["who"]["id"]
    assert {s["who"]["username"] for s in starts} == {"alice", "bob"}
    assert authors["assist.start"] <= {cast.alice.pk, cast.bob.pk}
    for socket in (alice, bob, carol):
        await socket.disconnect()


# --- Content-Security-Policy -------------------------------------------------------------

TEMPLATE_DIRS = [Path(__file__).resolve().parents[2] / "templates"] + [
    path for path in (Path(__file__).resolve().parents[2] / "editor").glob("*/templates")
]


def _directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


@pytest.mark.parametrize(
    "page",
    ["login", "room", "room_settings", "team", "usage", "admin", "admin_users", "profile"],
)
def test_every_page_carries_a_content_security_policy_without_inline_script(cast, page):
    cast.alice.is_staff = cast.alice.is_superuser = True
    cast.alice.save()
    client = Client()
    urls = {
        "login": "/accounts/login/",
        "room": f"/rooms/{cast.room.pk}/",
        "room_settings": f"/rooms/{cast.room.pk}/settings/",
        "team": f"/teams/{cast.team.pk}/",
        "usage": "/usage/",
        "admin": "/admin/",
        "admin_users": "/admin/auth/user/",
        "profile": "/accounts/profile/",
    }
    if page != "login":
        client.force_login(cast.alice)
    response = client.get(urls[page])
    assert response.status_code == 200, response
    policy = _directives(response.headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["style-src-elem"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    if page == "room":  # the page that runs CodeMirror gets a nonce for its <style>s
        nonce = next(v for v in policy["style-src-elem"] if v.startswith("'nonce-"))
        assert f'content="{nonce[7:-1]}"' in response.content.decode()


_SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def test_no_template_has_an_inline_script_or_event_handler():
    offenders = []
    templates = [p for d in TEMPLATE_DIRS for p in d.rglob("*.html")]
    assert len(templates) > 20
    for template in templates:
        text = template.read_text()
        for attributes in _SCRIPT.findall(text):
            if "src=" not in attributes and 'type="application/json"' not in attributes:
                offenders.append(f"{template}: <script{attributes}>")
        offenders += [f"{template}: {m.group(0)}" for m in _HANDLER.finditer(text)]
        if "javascript:" in text:
            offenders.append(f"{template}: javascript: URL")
    assert offenders == []


# --- in Chromium --------------------------------------------------------------------------


@pytest.mark.live
@pytest.mark.browser
def test_page_never_writes_an_untrusted_colour_into_a_cursor_style(
    live_flint, transactional_db, allow_sync_orm, cast, request, browser
):
    """Defence in depth: a state that skipped the server's check still draws safely.

    The state is put straight into the page's awareness (as a server bug would let it
    through); the remote caret gets the neutral colour, not the CSS. The page runs under
    the CSP all along (launch_browser fails the test on a violation), and CodeMirror's
    <style> elements carry the nonce.
    """
    from playwright.sync_api import expect

    from editor.projects.services import file_create
    from tests.support.browser import open_room_as, screenshot_path

    file_create(room=cast.room, actor=cast.alice, path="src/a.py", text="x = 1\ny = 2\n")
    alice = open_room_as(browser, live_flint, cast.alice, cast.room)
    alice.locator(".tree-row[data-path='src/a.py']").click()
    expect(alice.locator("[data-doc-conn]")).to_have_attribute("data-state", "synced")
    alice.locator(".editor-host:not([hidden]) .cm-content").click()
    alice.keyboard.press("Control+End")
    alice.evaluate(
        """(css) => {
          const e = window.flintRoom.editor;
          const aw = e.tabs.get(e.active).session.awareness;
          const cursor = aw.getLocalState().cursor;
          const user = { name: "Mallory", color: css, colorLight: css };
          aw.states.set(424242, { user, cursor });
          aw.meta.set(424242, { clock: 1, lastUpdated: Date.now() });
          aw.emit("change", [{ added: [424242], updated: [], removed: [] }, "remote"]);
        }""",
        CSS_COLOUR,
    )
    caret = alice.locator(".cm-ySelectionCaret", has_text="Mallory")
    expect(caret).to_have_count(1)
    style = caret.get_attribute("style")
    assert "position" not in style and "url(" not in style, style
    assert "#64748b" in style or "rgb(100, 116, 139)" in style, style
    unsigned = alice.evaluate(
        "[...document.querySelectorAll('style')].filter((s) => !s.nonce).length"
    )
    assert unsigned == 0
    alice.screenshot(path=screenshot_path(request, "forged-colour-neutralised"))


def test_api_docs_page_loads_its_scripts_from_this_site_under_the_policy(cast):
    client = Client()
    client.force_login(cast.alice)
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert "Content-Security-Policy" in response.headers
    for attributes in _SCRIPT.findall(response.content.decode()):
        assert 'type="application/json"' in attributes or 'src="/static/' in attributes, attributes

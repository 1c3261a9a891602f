"""The room socket against the real ASGI app: auth, refusals, presence, revocation, events."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from editor.accounts.tokens import token_create, token_revoke
from editor.core import closecodes
from editor.rooms.events import room_event_send
from editor.rooms.services import room_member_remove, room_member_set
from tests.support.sockets import room_socket, ws_communicator

pytestmark = pytest.mark.django_db(transaction=True)


async def _expect_refusal(communicator: WebsocketCommunicator, code: int, message: str) -> None:
    error = await communicator.receive_json_from()
    assert error["type"] == "error"
    assert message in error["message"]
    closed = await communicator.receive_output()
    assert closed == {"type": "websocket.close", "code": code}
    await communicator.disconnect()


async def _next_of_type(communicator: WebsocketCommunicator, kind: str) -> dict:
    for _ in range(10):
        message = await communicator.receive_json_from(timeout=3)
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} message")


async def test_editor_with_a_session_is_welcomed_with_their_role(cast):
    bob = await room_socket(cast.bob, cast.room)
    hello = await bob.receive_json_from()
    assert hello["type"] == "hello"
    assert hello["role"] == "editor"
    assert hello["you"]["username"] == "bob"
    join = await bob.receive_json_from()
    assert join["type"] == "presence.join"
    assert join["who"]["username"] == "bob"
    await bob.disconnect()


async def test_viewer_with_a_token_is_welcomed_as_viewer(cast):
    _, secret = await sync_to_async(token_create)(user=cast.carol, name="cli")
    carol = await room_socket(None, cast.room, token=secret)
    hello = await carol.receive_json_from()
    assert (hello["type"], hello["role"]) == ("hello", "viewer")
    await carol.disconnect()


async def test_outsider_is_refused_with_forbidden(cast):
    mallory = await room_socket(cast.mallory, cast.room)
    await _expect_refusal(mallory, closecodes.FORBIDDEN, "not a member of this room")


async def test_team_member_outside_the_room_is_refused(cast):
    dave = await room_socket(cast.dave, cast.room)
    await _expect_refusal(dave, closecodes.FORBIDDEN, "not a member of this room")


async def test_anonymous_socket_is_refused(cast):
    anonymous = await ws_communicator(f"/ws/rooms/{cast.room.pk}")
    assert (await anonymous.connect())[0]
    await _expect_refusal(anonymous, closecodes.NOT_AUTHENTICATED, "Log in")


@pytest.mark.parametrize("spoil", ["unknown", "revoked"])
async def test_bad_tokens_are_refused_with_the_reason(cast, spoil):
    token, secret = await sync_to_async(token_create)(user=cast.bob, name="cli")
    if spoil == "unknown":
        secret = secret[:-4] + "XXXX"
        reason = "Unknown access token"
    else:
        await sync_to_async(token_revoke)(token=token, actor=cast.bob)
        reason = "revoked"
    bob = await room_socket(None, cast.room, token=secret)
    await _expect_refusal(bob, closecodes.NOT_AUTHENTICATED, reason)


async def test_cookie_from_a_foreign_origin_is_rejected_at_handshake(cast):
    evil = await ws_communicator(
        f"/ws/rooms/{cast.room.pk}", user=cast.bob, headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await evil.connect()
    assert not connected
    await evil.disconnect()  # the refusing consumer runs until the socket is gone


async def test_unknown_room_is_not_found(cast):
    bob = await room_socket(cast.bob, 999999)
    await _expect_refusal(bob, closecodes.NOT_FOUND, "No such room")


async def test_presence_join_and_leave_reach_the_others(cast):
    carol = await room_socket(cast.carol, cast.room)
    await _next_of_type(carol, "hello")
    await _next_of_type(carol, "presence.join")  # herself
    bob = await room_socket(cast.bob, cast.room)
    joined = await _next_of_type(carol, "presence.join")
    assert joined["who"]["username"] == "bob"
    # The newcomer hears about carol, who was there first.
    seen = set()
    for _ in range(3):
        message = await _next_of_type(bob, "presence.join")
        seen.add(message["who"]["username"])
        if seen == {"bob", "carol"}:
            break
    assert seen == {"bob", "carol"}
    await bob.disconnect()
    left = await _next_of_type(carol, "presence.leave")
    assert left["who"]["username"] == "bob"
    await carol.disconnect()


async def test_member_removed_while_connected_is_disconnected(cast):
    carol = await room_socket(cast.carol, cast.room)
    await _next_of_type(carol, "hello")
    await sync_to_async(room_member_remove)(room=cast.room, actor=cast.alice, user=cast.carol)
    error = await _next_of_type(carol, "error")
    assert "no longer have access" in error["message"]
    assert await carol.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": closecodes.FORBIDDEN,
    }


async def test_demotion_is_announced_on_the_open_socket(cast):
    bob = await room_socket(cast.bob, cast.room)
    await _next_of_type(bob, "hello")
    await sync_to_async(room_member_set)(
        room=cast.room, actor=cast.alice, user=cast.bob, role="viewer"
    )
    changed = await _next_of_type(bob, "role.changed")
    assert changed["role"] == "viewer"
    await bob.disconnect()


async def test_room_events_reach_every_member(cast):
    bob = await room_socket(cast.bob, cast.room)
    await _next_of_type(bob, "hello")

    def announce():
        room_event_send(cast.room.pk, "notice", {"text": "deploy at five"})

    await sync_to_async(announce)()
    notice = await _next_of_type(bob, "notice")
    assert notice["text"] == "deploy at five"
    await bob.disconnect()


async def test_ping_and_garbage(cast):
    bob = await room_socket(cast.bob, cast.room)
    await _next_of_type(bob, "hello")
    await bob.send_json_to({"type": "ping", "t": 7})
    assert (await _next_of_type(bob, "pong"))["t"] == 7
    await bob.send_to(text_data="{not json")
    assert (await _next_of_type(bob, "error"))["code"] == "bad_message"
    await bob.send_json_to(["a", "list"])
    assert (await _next_of_type(bob, "error"))["code"] == "bad_message"
    await bob.send_json_to({"type": "launch.missiles"})
    assert (await _next_of_type(bob, "error"))["code"] == "unknown_type"
    await bob.send_json_to({"type": "ping", "t": 8})
    assert (await _next_of_type(bob, "pong"))["t"] == 8
    await bob.disconnect()


async def test_a_terminal_connection_is_shown_as_one_to_the_room(cast):
    """`flint sync` connects with ?client=terminal; the room sees "(terminal)" beside bob."""
    alice = await room_socket(cast.alice, cast.room)
    assert (await alice.receive_json_from())["you"]["client"] == "browser"
    _, secret = await sync_to_async(token_create)(user=cast.bob, name="cli")
    bob = await ws_communicator(
        f"/ws/rooms/{cast.room.pk}?token={secret}&client=terminal", headers=[]
    )
    assert (await bob.connect())[0]
    assert (await bob.receive_json_from())["you"]["client"] == "terminal"
    joined = await _next_of_type(alice, "presence.join")
    while joined["who"]["username"] != "bob":
        joined = await _next_of_type(alice, "presence.join")
    assert joined["who"]["client"] == "terminal"
    await bob.disconnect()
    await alice.disconnect()

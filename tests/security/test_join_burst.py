"""A reconnect burst shares its reads and still hears every change of access (issue 11).

After a deploy every client of a team reconnects at once. The sockets of one token share
one read of it, the sockets of one person and document share one join read
(editor/core/single_flight.py), and the person is watched through ONE subscription per
process (editor/accounts/access_watch.py) — and revocation still closes every one of
them within a second, the one guarantee the sharing must not weaken.
"""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from editor.accounts.access_watch import access_channel
from editor.accounts.tokens import token_create, token_revoke
from editor.core import closecodes
from editor.core.redis_clients import sync_client
from editor.rooms.models import RoomRole
from editor.rooms.services import room_member_remove, room_member_set
from tests.collab.yclient import communicator_client, text_file
from tests.security.test_access import CUT_OFF_WITHIN_S, _closed_within
from tests.support.sockets import ws_communicator

SOCKETS_PER_DOC = 8


@pytest.fixture(autouse=True)
async def _close_hubs():
    yield
    from editor.accounts import access_watch
    from editor.collab import hub

    loop = asyncio.get_running_loop()
    for registry in (hub._hubs, access_watch._watches):
        current = registry.get(loop)
        if current is not None:
            await current.close()


@pytest.fixture
def counted_reads(monkeypatch):
    """How often the token and the joins were read from the database."""
    from editor.accounts import ws_auth
    from editor.collab import consumers

    reads = {"token": 0, "join": []}
    real_token, real_document = ws_auth.token_authenticate_throttled, consumers.document_get

    def token_read(raw, *, client_ip):
        reads["token"] += 1
        return real_token(raw, client_ip=client_ip)

    def document_read(*, doc_id):
        reads["join"].append(doc_id)
        return real_document(doc_id=doc_id)

    monkeypatch.setattr(ws_auth, "token_authenticate_throttled", token_read)
    monkeypatch.setattr(consumers, "document_get", document_read)
    return reads


async def _burst(doc_ids, secret):
    """Every socket opened at once; each synced."""
    communicators = [
        await ws_communicator(f"/ws/docs/{doc_id}", token=secret)
        for doc_id in doc_ids
        for _ in range(SOCKETS_PER_DOC)
    ]
    connected = await asyncio.gather(*(c.connect() for c in communicators))
    assert all(ok for ok, _ in connected)
    await asyncio.gather(*(communicator_client(c).sync() for c in communicators))
    return communicators


def _watchers_of(user_id: int) -> int:
    """How many subscriptions (processes) watch this person's access key in Redis."""
    [(_channel, count)] = sync_client().pubsub_numsub(access_channel(user_id))
    return int(count)


@pytest.mark.django_db(transaction=True)
async def test_a_burst_reads_the_token_once_and_each_document_once_and_revoking_closes_all(
    cast, counted_reads
):
    files = [
        await sync_to_async(text_file)(cast.room, path=f"src/m{i}.py", text=f"x = {i}\n")
        for i in range(3)
    ]
    token, secret = await sync_to_async(token_create)(user=cast.bob, name="laptop")

    sockets = await _burst([f.doc_id for f in files], secret)

    assert counted_reads["token"] == 1
    assert sorted(map(str, counted_reads["join"])) == sorted(str(f.doc_id) for f in files)
    assert await sync_to_async(_watchers_of)(cast.bob.pk) == 1  # one per process, not per socket

    await sync_to_async(token_revoke)(token=token, actor=cast.bob)
    closes = await asyncio.gather(*(_closed_within(s, CUT_OFF_WITHIN_S) for s in sockets))
    assert {close["code"] for close in closes} == {closecodes.NOT_AUTHENTICATED}
    for communicator in sockets:
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_losing_the_room_closes_every_socket_of_a_burst(cast, counted_reads):
    file = await sync_to_async(text_file)(cast.room)
    _token, secret = await sync_to_async(token_create)(user=cast.bob, name="laptop")
    sockets = await _burst([file.doc_id], secret)

    await sync_to_async(room_member_remove)(room=cast.room, actor=cast.alice, user=cast.bob)

    closes = await asyncio.gather(*(_closed_within(s, CUT_OFF_WITHIN_S) for s in sockets))
    assert {close["code"] for close in closes} == {closecodes.FORBIDDEN}
    # A socket opened now reads again (the burst's shared answer is not reused).
    late = await ws_communicator(f"/ws/docs/{file.doc_id}", token=secret)
    assert (await late.connect())[0]
    assert (await late.receive_output(2))["code"] == closecodes.FORBIDDEN
    assert len(counted_reads["join"]) == 2
    for communicator in [*sockets, late]:
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_last_socket_of_a_person_here_stops_watching_them(cast):
    file = await sync_to_async(text_file)(cast.room)
    _token, secret = await sync_to_async(token_create)(user=cast.bob, name="laptop")
    sockets = await _burst([file.doc_id], secret)
    assert await sync_to_async(_watchers_of)(cast.bob.pk) == 1
    for communicator in sockets:
        await communicator.disconnect()
    for _ in range(100):
        if await sync_to_async(_watchers_of)(cast.bob.pk) == 0:
            break
        await asyncio.sleep(0.02)
    assert await sync_to_async(_watchers_of)(cast.bob.pk) == 0


@pytest.mark.django_db(transaction=True)
async def test_a_demotion_reaches_a_viewer_burst_too(cast):
    """Role changes other than removal go the same way (a demotion to viewer)."""
    file = await sync_to_async(text_file)(cast.room, text="x = 1\n")
    _token, secret = await sync_to_async(token_create)(user=cast.bob, name="laptop")
    sockets = await _burst([file.doc_id], secret)
    await sync_to_async(room_member_set)(
        room=cast.room, actor=cast.alice, user=cast.bob, role=RoomRole.VIEWER
    )
    from editor.collab.hub import hub

    shared = hub().docs[file.doc_id]
    for _ in range(100):
        if all(peer.role == "viewer" for peer in shared.peers):
            break
        await asyncio.sleep(0.01)
    assert {peer.role for peer in shared.peers} == {"viewer"}
    assert len(shared.peers) == SOCKETS_PER_DOC
    for communicator in sockets:
        await communicator.disconnect()

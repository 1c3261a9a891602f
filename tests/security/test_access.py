"""Security: accounts, tokens and sockets (issue #10 items 3, 7, 8, 12-nested-JSON, 15).

Each test names the case it guarantees. Sockets are opened against the real ASGI app
(channels' WebsocketCommunicator), pages through the real Django test client, and
start-up code paths (settings, migrate, the embedded Redis, the launcher) in real
processes on a fresh data directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import redis
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse
from pycrdt import YSyncMessageType

from editor.accounts.tokens import token_create, token_revoke
from editor.collab import store
from editor.collab.protocol import sync_message
from editor.collab.selectors import doc_text_current
from editor.core import closecodes
from tests.collab.yclient import communicator_client, text_file
from tests.support.live import REPO, http_get
from tests.support.sockets import HOST, ORIGIN, room_socket, ws_communicator
from tests.webapp.test_launcher import launch  # noqa: F401 (the real launcher, a fixture)

CUT_OFF_WITHIN_S = 1.0


@pytest.fixture(autouse=True)
async def _close_collab_hub():
    """Each async test has its own loop, so its own hub: stop it before the loop ends."""
    yield
    import asyncio

    from editor.collab import hub

    current = hub._hubs.get(asyncio.get_running_loop())
    if current is not None:
        await current.close()


# --- helpers ------------------------------------------------------------------------


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _headers(credential: dict) -> list[tuple[bytes, bytes]] | None:
    return [HOST, ORIGIN] if "session" in credential else None


async def _room_socket(room, **credential) -> WebsocketCommunicator:
    communicator = await room_socket(None, room, headers=_headers(credential), **credential)
    hello = await communicator.receive_json_from()
    assert hello["type"] == "hello", hello
    return communicator


async def _doc_socket(doc_id, **credential):
    communicator = await ws_communicator(
        f"/ws/docs/{doc_id}", headers=_headers(credential), **credential
    )
    assert (await communicator.connect())[0]
    client = communicator_client(communicator)
    await client.sync()
    return communicator, client


async def _token(user, name: str = "cli"):
    return await sync_to_async(token_create)(user=user, name=name)


async def _closed_within(communicator: WebsocketCommunicator, seconds: float) -> dict:
    """The close frame, which must arrive within `seconds` (other frames are skipped)."""
    deadline = time.monotonic() + seconds
    while True:
        remaining = deadline - time.monotonic()
        # receive_output's own timeout would cancel the application: poll instead.
        if remaining <= 0 or await communicator.receive_nothing(remaining, interval=0.005):
            raise AssertionError(f"the socket was still open {seconds}s later")
        output = await communicator.receive_output(1)
        if output["type"] == "websocket.close":
            return output


async def _still_open(communicator: WebsocketCommunicator) -> None:
    """A ping is answered: the socket was not cut off."""
    await communicator.send_json_to({"type": "ping", "t": 1})
    for _ in range(20):
        message = await communicator.receive_json_from(timeout=2)
        if message["type"] == "pong":
            return
    raise AssertionError("no pong")


async def _update_after_close_is_not_stored(communicator, client, doc_id) -> None:
    log_before = await sync_to_async(store.log_length)(doc_id=doc_id)
    state = client.doc.get_state()
    client.text.insert(0, "# written after access ended\n")
    update = client.doc.get_update(state)
    await communicator.send_to(bytes_data=sync_message(YSyncMessageType.SYNC_UPDATE, update))
    await communicator.receive_nothing(0.3)
    assert await sync_to_async(store.log_length)(doc_id=doc_id) == log_before
    assert "after access ended" not in await sync_to_async(doc_text_current)(doc_id)
    stored = await sync_to_async(store.document_text_stored)(doc_id=doc_id)
    assert "after access ended" not in (stored or "")


async def _room_socket_is_deaf(communicator: WebsocketCommunicator) -> None:
    """After the cut-off the consumer acts on nothing: a ping gets no pong."""
    await communicator.send_json_to({"type": "ping", "t": 2})
    assert await communicator.receive_nothing(0.3)


# --- item 3: revoked access closes open sockets ----------------------------------------


@pytest.fixture
def main_py(cast):
    return text_file(cast.room, text="def main():\n    pass\n")


@pytest.mark.django_db(transaction=True)
async def test_revoking_a_token_closes_its_document_socket_within_a_second_and_stores_nothing_after(
    cast, main_py
):
    token, secret = await _token(cast.bob)
    bob_ws, bob = await _doc_socket(main_py.doc_id, token=secret)
    await bob.insert(0, "# before\n")  # a writer's update is stored while the token holds
    await bob_ws.receive_nothing(0.2)
    assert "# before" in await sync_to_async(doc_text_current)(main_py.doc_id)

    await sync_to_async(token_revoke)(token=token, actor=cast.bob)

    closed = await _closed_within(bob_ws, CUT_OFF_WITHIN_S)
    assert closed["code"] == closecodes.NOT_AUTHENTICATED
    assert "revoked" in closed.get("reason", "")
    await _update_after_close_is_not_stored(bob_ws, bob, main_py.doc_id)
    await bob_ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_revoking_a_token_closes_its_room_socket_within_a_second(cast):
    token, secret = await _token(cast.bob)
    bob = await _room_socket(cast.room, token=secret)

    await sync_to_async(token_revoke)(token=token, actor=cast.bob)

    closed = await _closed_within(bob, CUT_OFF_WITHIN_S)
    assert closed["code"] == closecodes.NOT_AUTHENTICATED
    await _room_socket_is_deaf(bob)
    await bob.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_token_in_use_is_not_read_again_yet_revoking_it_shuts_new_sockets_out(
    cast, monkeypatch
):
    from editor.accounts import ws_auth

    reads = []
    real_read = ws_auth.token_authenticate_throttled

    def counted(raw, *, client_ip):
        reads.append(raw)
        return real_read(raw, client_ip=client_ip)

    monkeypatch.setattr(ws_auth, "token_authenticate_throttled", counted)
    token, secret = await _token(cast.bob)
    first = await _room_socket(cast.room, token=secret)
    second = await _room_socket(cast.room, token=secret)  # the kept verdict (token_cache)
    assert len(reads) == 1
    await _still_open(second)

    await sync_to_async(token_revoke)(token=token, actor=cast.bob)

    for communicator in (first, second):
        assert (await _closed_within(communicator, CUT_OFF_WITHIN_S))["code"] == (
            closecodes.NOT_AUTHENTICATED
        )
    late = await room_socket(None, cast.room, token=secret)
    refused = await late.receive_json_from()
    assert refused["type"] == "error" and "revoked" in refused["message"]
    assert (await late.receive_output())["code"] == closecodes.NOT_AUTHENTICATED
    assert len(reads) == 2  # the revoked token was read again, not taken from the cache
    for communicator in (first, second, late):
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_revoking_one_token_leaves_sockets_of_the_users_other_credentials_open(cast, main_py):
    revoked, revoked_secret = await _token(cast.bob, "old laptop")
    _, kept_secret = await _token(cast.bob, "new laptop")
    session = await sync_to_async(_logged_in)(cast.bob)
    doomed = await _room_socket(cast.room, token=revoked_secret)
    by_token = await _room_socket(cast.room, token=kept_secret)
    by_session = await _room_socket(cast.room, session=session)
    doc_ws, doc = await _doc_socket(main_py.doc_id, token=kept_secret)

    await sync_to_async(token_revoke)(token=revoked, actor=cast.bob)

    await _closed_within(doomed, CUT_OFF_WITHIN_S)
    await _still_open(by_token)
    await _still_open(by_session)
    await doc.insert(0, "# still writing\n")
    await doc_ws.receive_nothing(0.2)
    assert "# still writing" in await sync_to_async(doc_text_current)(main_py.doc_id)
    for communicator in (doomed, by_token, by_session, doc_ws):
        await communicator.disconnect()


def _admin_deactivates(admin, user) -> int:
    """The admin's user form posted with "Active" unticked (what a staff member does)."""
    client = _logged_in(admin)
    url = reverse("admin:auth_user_change", args=[user.pk])
    joined = user.date_joined
    form = {
        "username": user.username,
        "date_joined_0": joined.strftime("%Y-%m-%d"),
        "date_joined_1": joined.strftime("%H:%M:%S"),
    }  # no "is_active": the box is unticked
    return client.post(url, form).status_code


@pytest.mark.django_db(transaction=True)
async def test_deactivating_a_user_closes_their_document_and_room_sockets_within_a_second(
    cast, main_py
):
    _, secret = await _token(cast.bob)
    session = await sync_to_async(_logged_in)(cast.bob)
    doc_ws, doc = await _doc_socket(main_py.doc_id, token=secret)
    room_by_session = await _room_socket(cast.room, session=session)
    room_by_token = await _room_socket(cast.room, token=secret)
    alice = await _room_socket(cast.room, session=await sync_to_async(_logged_in)(cast.alice))

    # alice (the first account, so staff) unticks "Active" on bob in the admin.
    assert await sync_to_async(_admin_deactivates)(cast.alice, cast.bob) == 302

    for communicator in (doc_ws, room_by_session, room_by_token):
        closed = await _closed_within(communicator, CUT_OFF_WITHIN_S)
        assert closed["code"] == closecodes.NOT_AUTHENTICATED
    await _update_after_close_is_not_stored(doc_ws, doc, main_py.doc_id)
    await _room_socket_is_deaf(room_by_session)
    await _still_open(alice)  # only bob's sockets went
    await sync_to_async(cast.bob.refresh_from_db)()
    assert not cast.bob.is_active
    for communicator in (doc_ws, room_by_session, room_by_token, alice):
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_logout_closes_the_sockets_of_that_session_only_within_a_second(cast, main_py):
    laptop = await sync_to_async(_logged_in)(cast.bob)
    phone = await sync_to_async(_logged_in)(cast.bob)
    laptop_room = await _room_socket(cast.room, session=laptop)
    laptop_doc_ws, laptop_doc = await _doc_socket(main_py.doc_id, session=laptop)
    phone_room = await _room_socket(cast.room, session=phone)

    response = await sync_to_async(laptop.post)(reverse("logout"))
    assert response.status_code == 302

    for communicator in (laptop_room, laptop_doc_ws):
        closed = await _closed_within(communicator, CUT_OFF_WITHIN_S)
        assert closed["code"] == closecodes.NOT_AUTHENTICATED
    await _update_after_close_is_not_stored(laptop_doc_ws, laptop_doc, main_py.doc_id)
    await _room_socket_is_deaf(laptop_room)
    await _still_open(phone_room)
    for communicator in (laptop_room, laptop_doc_ws, phone_room):
        await communicator.disconnect()


def _admin_changes_password(admin, user, password: str) -> int:
    client = _logged_in(admin)
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    response = client.post(url, {"password1": password, "password2": password})
    return response.status_code


@pytest.mark.django_db(transaction=True)
async def test_password_change_closes_the_users_session_sockets_within_a_second(cast, main_py):
    session = await sync_to_async(_logged_in)(cast.bob)
    room_ws = await _room_socket(cast.room, session=session)
    doc_ws, doc = await _doc_socket(main_py.doc_id, session=session)

    # alice (the first account, so staff) sets a new password for bob in the admin.
    status = await sync_to_async(_admin_changes_password)(cast.alice, cast.bob, "n3w-Secret-pass")
    assert status == 302

    for communicator in (room_ws, doc_ws):
        closed = await _closed_within(communicator, CUT_OFF_WITHIN_S)
        assert closed["code"] == closecodes.NOT_AUTHENTICATED
    await _update_after_close_is_not_stored(doc_ws, doc, main_py.doc_id)
    await _room_socket_is_deaf(room_ws)
    await room_ws.disconnect()
    await doc_ws.disconnect()


def _changes_own_password(client: Client, old: str, new: str) -> int:
    response = client.post(
        reverse("password_change"),
        {"old_password": old, "new_password1": new, "new_password2": new},
    )
    return response.status_code


@pytest.mark.django_db(transaction=True)
async def test_changing_ones_password_on_the_page_closes_the_sockets_of_every_session(cast):
    here = await sync_to_async(_logged_in)(cast.bob)
    elsewhere = await sync_to_async(_logged_in)(cast.bob)
    here_ws = await _room_socket(cast.room, session=here)
    elsewhere_ws = await _room_socket(cast.room, session=elsewhere)

    status = await sync_to_async(_changes_own_password)(here, cast.password, "n3w-Secret-pass")
    assert status == 302

    # The other session ended; this one was re-keyed by Django (update_session_auth_hash),
    # so a socket opened under its old key closes too, and the page's reload reconnects.
    for communicator in (elsewhere_ws, here_ws):
        closed = await _closed_within(communicator, CUT_OFF_WITHIN_S)
        assert closed["code"] == closecodes.NOT_AUTHENTICATED
    assert (await sync_to_async(here.get)(reverse("profile"))).status_code == 200
    assert (await sync_to_async(elsewhere.get)(reverse("profile"))).status_code == 302
    await here_ws.disconnect()
    await elsewhere_ws.disconnect()


# --- item 12: deeply nested JSON on the room socket ------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("depth", [100_000, 500])
async def test_deeply_nested_json_on_the_room_socket_gets_an_error_frame_and_the_socket_stays_open(
    cast, depth
):
    bob = await _room_socket(cast.room, session=await sync_to_async(_logged_in)(cast.bob))
    # 100,000 levels break json's recursion limit; 500 parse, but echoing or walking them
    # later would come close to it: both are refused before anything reads them.
    deep = '{"type": "ping", "t": ' + "[" * depth + "]" * depth + "}"
    await bob.send_to(text_data=deep)
    for _ in range(10):
        message = await bob.receive_json_from(timeout=3)
        if message["type"] == "error":
            break
    assert message["code"] == "bad_message"
    assert "levels deep" in message["message"]
    await _still_open(bob)
    await bob.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_binary_frame_on_the_room_socket_gets_an_error_frame_and_the_socket_stays_open(
    cast,
):
    bob = await _room_socket(cast.room, session=await sync_to_async(_logged_in)(cast.bob))
    await bob.send_to(bytes_data=b'{"type": "ping"}')
    for _ in range(10):
        message = await bob.receive_json_from(timeout=3)
        if message["type"] == "error":
            break
    assert message["code"] == "bad_message"
    await _still_open(bob)
    await bob.disconnect()


# --- item 8: the WebSocket Origin check compares scheme, host and port -----------------


async def _cookie_handshake(user, headers: list[tuple[bytes, bytes]]) -> bool:
    session = await sync_to_async(_logged_in)(user)
    communicator = await ws_communicator("/ws/rooms/0", session=session, headers=headers)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://127.0.0.1:9999", "127.0.0.1:8000"),  # another program on the same host
        ("http://localhost:3000", "127.0.0.1:8000"),  # a dev server on localhost
        ("http://localhost:3000", "localhost:8000"),
        ("https://127.0.0.1:8000", "127.0.0.1:8000"),  # right host and port, wrong scheme
        ("http://127.0.0.1", "127.0.0.1:8000"),  # port 80 is another origin
        ("http://evil.example:8000", "evil.example:8000"),  # DNS rebinding: not our host
        ("null", "127.0.0.1:8000"),  # sandboxed frames, file:// pages
    ],
)
async def test_cookie_socket_from_another_origin_than_flints_own_is_refused(cast, origin, host):
    headers = [(b"origin", origin.encode()), (b"host", host.encode())]
    assert not await _cookie_handshake(cast.bob, headers)


@pytest.mark.django_db(transaction=True)
async def test_cookie_socket_without_an_origin_is_refused(cast):
    assert not await _cookie_handshake(cast.bob, [HOST])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("port", ["8000", "54321"])
async def test_cookie_socket_from_its_own_origin_on_any_port_is_accepted(cast, port):
    # What a browser sends on a page of Flint at http://127.0.0.1:<port>/ (the launcher's
    # PORT, or the test suite's random one): Origin and Host name the same place.
    headers = [
        (b"origin", f"http://127.0.0.1:{port}".encode()),
        (b"host", f"127.0.0.1:{port}".encode()),
    ]
    assert await _cookie_handshake(cast.bob, headers)


@pytest.mark.django_db(transaction=True)
async def test_cookie_socket_behind_a_tls_proxy_is_accepted_from_the_https_origin(cast, settings):
    settings.ALLOWED_HOSTS = ["flint.example.com"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.FLINT_WS_ALLOWED_ORIGINS = []
    proxied = [(b"host", b"flint.example.com"), (b"x-forwarded-proto", b"https")]
    assert await _cookie_handshake(cast.bob, [(b"origin", b"https://flint.example.com"), *proxied])
    assert not await _cookie_handshake(
        cast.bob, [(b"origin", b"http://flint.example.com"), *proxied]
    )


@pytest.mark.django_db(transaction=True)
async def test_flint_ws_allowed_origins_lists_the_origins_besides_the_sockets_own(cast, settings):
    # A proxy that rewrites Host to the upstream's address: the public origin is listed.
    settings.FLINT_WS_ALLOWED_ORIGINS = ["https://flint.example.com"]
    upstream = (b"host", b"127.0.0.1:8000")
    assert await _cookie_handshake(cast.bob, [(b"origin", b"https://flint.example.com"), upstream])
    assert await _cookie_handshake(
        cast.bob, [(b"origin", b"https://flint.example.com:443"), upstream]
    )
    assert not await _cookie_handshake(
        cast.bob, [(b"origin", b"https://flint.example.com:8443"), upstream]
    )
    # Without a Host header, only the list speaks; the derived default is replaced.
    assert not await _cookie_handshake(cast.bob, [ORIGIN])


# --- item 7: log-in lockout and the cap on failed token authentications ----------------
# These run with the real defaults: nothing in the test set-up changes them.


def _wrong_passwords(path: str, username: str, *, address: str, times: int) -> list[int]:
    client = Client(REMOTE_ADDR=address)
    statuses = []
    for _ in range(times):
        response = client.post(path, {"username": username, "password": "not-it-at-all"})
        statuses.append(response.status_code)
    return statuses


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["login", "admin:login"])
def test_25_wrong_passwords_lock_that_account_out_at_that_address_with_a_clear_message(
    cast, settings, page
):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 10  # the default (FLINT_LOGIN_FAILURE_LIMIT)
    path = reverse(page)
    statuses = _wrong_passwords(path, "alice", address="198.51.100.10", times=25)

    assert statuses[: limit - 1] == [200] * (limit - 1)  # wrong password, try again
    assert statuses[limit - 1 :] == [429] * (25 - limit + 1)
    locked = Client(REMOTE_ADDR="198.51.100.10")
    # Even the right password is refused while the lockout lasts, saying why.
    response = locked.post(path, {"username": "alice", "password": cast.password})
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many failed log-ins" in body and "15 minutes" in body
    assert "_auth_user_id" not in locked.session


@pytest.mark.django_db
def test_a_locked_out_account_does_not_lock_out_colleagues_behind_the_same_address(cast):
    _wrong_passwords(reverse("login"), "alice", address="198.51.100.11", times=25)
    colleague = Client(REMOTE_ADDR="198.51.100.11")
    response = colleague.post(reverse("login"), {"username": "bob", "password": cast.password})
    assert response.status_code == 302
    # And alice herself, from her own address, is not locked out by a guesser elsewhere.
    alice = Client(REMOTE_ADDR="198.51.100.12")
    response = alice.post(reverse("login"), {"username": "alice", "password": cast.password})
    assert response.status_code == 302


def _api_me(token: str, address: str):
    client = Client(REMOTE_ADDR=address, headers={"Authorization": f"Bearer {token}"})
    return client.get("/api/me")


@pytest.mark.django_db
def test_failed_bearer_tokens_beyond_the_cap_per_minute_answer_429(cast, settings):
    cap = settings.FLINT_AUTH_FAILURES_PER_MINUTE
    assert cap == 60  # the default
    address = "198.51.100.20"
    _, good = token_create(user=cast.bob, name="cli")
    statuses = [_api_me(f"flint_guess{i}", address).status_code for i in range(cap + 5)]

    assert statuses[:cap] == [401] * cap
    assert statuses[cap:] == [429] * 5
    refused = _api_me(good, address)  # a right guess is not told apart while capped
    assert refused.status_code == 429
    assert refused.json()["error"] == "throttled"
    assert "wait a minute" in refused.json()["message"]
    assert _api_me(good, "198.51.100.21").status_code == 200  # other addresses are served


@pytest.mark.django_db(transaction=True)
async def test_failed_socket_tokens_beyond_the_cap_per_minute_close_with_4029(cast, settings):
    cap = settings.FLINT_AUTH_FAILURES_PER_MINUTE
    assert cap == 60
    address = "198.51.100.30"
    _, good = await _token(cast.bob)

    async def attempt(token: str) -> dict:
        communicator = await ws_communicator(f"/ws/rooms/{cast.room.pk}", token=token)
        communicator.scope["client"] = [address, 40000]
        assert (await communicator.connect())[0]
        error = await communicator.receive_json_from()
        closed = await communicator.receive_output()
        await communicator.disconnect()
        return {"code": closed.get("code"), "message": error.get("message", "")}

    # Socket and API failures count together, per address.
    for i in range(5):
        assert (await attempt(f"flint_guess{i}"))["code"] == closecodes.NOT_AUTHENTICATED
    for i in range(5, cap):
        assert (await sync_to_async(_api_me)(f"flint_guess{i}", address)).status_code == 401
    refused = await attempt(good)
    assert refused["code"] == closecodes.TOO_MANY_REQUESTS
    assert "wait a minute" in refused["message"]


@pytest.mark.django_db(transaction=True)
async def test_an_address_over_the_cap_is_refused_even_with_a_token_in_use_here(cast, settings):
    """The kept verdict and the brief "under the cap" memo (throttle.over_limit) do not let
    a good token through from an address that has since failed past the cap here."""
    settings.FLINT_AUTH_FAILURES_PER_MINUTE = 3  # so the failures land within the memo's second
    address = "198.51.100.31"
    _, good = await _token(cast.bob)

    async def socket_from_address():
        communicator = await ws_communicator(f"/ws/rooms/{cast.room.pk}", token=good)
        communicator.scope["client"] = [address, 40000]
        assert (await communicator.connect())[0]
        return communicator, await communicator.receive_json_from()

    first, hello = await socket_from_address()  # the token's verdict is kept from here on
    assert hello["type"] == "hello"
    second, hello = await socket_from_address()  # from the kept verdict: under the cap
    assert hello["type"] == "hello"
    for i in range(settings.FLINT_AUTH_FAILURES_PER_MINUTE):
        assert (await sync_to_async(_api_me)(f"flint_guess{i}", address)).status_code == 401
    third, refused = await socket_from_address()
    assert refused["type"] == "error" and "wait a minute" in refused["message"]
    assert (await third.receive_output())["code"] == closecodes.TOO_MANY_REQUESTS
    for communicator in (first, second, third):
        await communicator.disconnect()


# --- item 15: the data directory is private in the embedded default --------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _embedded_env(data_dir: Path) -> dict[str, str]:
    """The embedded default: no database, Redis or secret key from the test run (or CI)."""
    outer = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "FLINT_ENV", "FLINT_CHANNEL_PREFIX")
    env = {k: v for k, v in os.environ.items() if k not in outer}
    env.update(FLINT_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="webapp.settings")
    return env


@contextlib.contextmanager
def _permissive_umask():
    """What a default shell gives `make run`: files 0644 and directories 0755 unless told."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_settings_and_migrate_make_the_data_dir_0700_and_the_secret_key_and_sqlite_db_0600(
    tmp_path,
):
    data_dir = tmp_path / "data"
    with _permissive_umask():
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=REPO,
            env=_embedded_env(data_dir),
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert migrated.returncode == 0, migrated.stderr[-3000:]

    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "secret_key") == 0o600
    database = data_dir / "flint.sqlite3"
    assert database.stat().st_size > 0  # migrate wrote the schema into the file made 0600
    assert _mode(database) == 0o600
    for side in ("flint.sqlite3-wal", "flint.sqlite3-shm"):
        if (data_dir / side).exists():
            assert _mode(data_dir / side) == 0o600, side


def test_an_older_install_with_world_readable_files_is_tightened_at_start_up(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    (data_dir / "secret_key").write_text("an-old-key-" + "x" * 50)
    (data_dir / "flint.sqlite3").write_bytes(b"")
    for path in (data_dir / "secret_key", data_dir / "flint.sqlite3"):
        path.chmod(0o644)

    checked = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO,
        env=_embedded_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert checked.returncode == 0, checked.stderr[-3000:]
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "secret_key") == 0o600
    assert _mode(data_dir / "flint.sqlite3") == 0o600


def test_the_embedded_redis_keeps_its_directory_socket_log_and_dump_private(tmp_path):
    from editor.core.embedded_redis import EmbeddedRedis

    # A short path: a unix socket address holds 107 characters.
    directory = Path(tempfile.mkdtemp(prefix="flint-r-")) / "redis"
    redis_server = EmbeddedRedis(directory, persist=True)
    try:
        with _permissive_umask():
            redis_server.start()
        assert _mode(directory) == 0o700
        assert _mode(redis_server.socket) & 0o077 == 0
        assert _mode(directory / "redis.log") == 0o600
        client = redis.Redis(unix_socket_path=str(redis_server.socket))
        client.set("flint-test", "x")  # something to save
        client.close()
    finally:
        redis_server.stop()
    # Stopping saves the dump (a save point is configured).
    assert (directory / "redis.rdb").exists()
    assert _mode(directory / "redis.rdb") == 0o600
    shutil.rmtree(directory.parent, ignore_errors=True)


@pytest.mark.live
def test_make_run_leaves_nothing_in_the_data_directory_readable_by_others(launch):  # noqa: F811
    with _permissive_umask():
        flint = launch()
    flint.wait_ready()
    try:
        status, _ = http_get(flint.url + "accounts/login/")
        assert status == 200
        exposed = [
            f"{path.relative_to(flint.data_dir)} {oct(_mode(path))}"
            for path in [flint.data_dir, *flint.data_dir.rglob("*")]
            if not path.is_symlink() and _mode(path) & 0o077
        ]
        assert _mode(flint.data_dir) == 0o700
        assert not exposed, exposed
        assert (flint.data_dir / "flint.sqlite3").exists()
        assert (flint.data_dir / "logs" / "web.log").exists()
    finally:
        flint.process.send_signal(signal.SIGINT)
        flint.wait_exit()

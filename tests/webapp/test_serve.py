"""webapp/serve.py: daphne's own message cap sits above Flint's, so Flint's check speaks."""

from __future__ import annotations

import json

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings

from editor.accounts.tokens import token_create
from webapp.serve import daphne_argv

pytestmark = pytest.mark.live


def test_daphne_cap_is_above_flints_own():
    argv = daphne_argv(["-p", "1"])
    cap = int(argv[argv.index("--websocket-max-message-size") + 1])
    assert cap > settings.FLINT_COLLAB_MAX_MESSAGE_BYTES
    assert argv[-1] == "webapp.asgi:application"


async def test_a_message_over_daphnes_default_megabyte_gets_through(
    live_flint, transactional_db, cast
):
    _, secret = await sync_to_async(token_create)(user=cast.bob, name="big")
    url = f"{live_flint.ws_url}ws/rooms/{cast.room.pk}?token={secret}"
    big = "x" * (3 * 1024 * 1024 // 2)  # 1.5 MiB: daphne's default closes with 1009
    async with websockets.connect(url, max_size=None) as bob:
        await bob.send(json.dumps({"type": "ping", "t": big}))
        while True:
            message = json.loads(await bob.recv())
            if message["type"] == "pong":
                break
    assert len(message["t"]) == len(big)


def test_a_multipart_body_twisted_cannot_parse_reaches_django(live_flint, transactional_db, cast):
    # Found by schemathesis: Twisted's own multipart parse answered a bare 400 (no JSON)
    # for a body holding only the closing boundary, before Django saw the request.
    import http.client

    _, secret = token_create(user=cast.alice, name="upload")
    connection = http.client.HTTPConnection("127.0.0.1", live_flint.port, timeout=10)
    connection.request(
        "POST",
        f"/api/rooms/{cast.room.pk}/files/uploads",
        body=b"--abc--\r\n",
        headers={
            "Authorization": f"Bearer {secret}",
            "Content-Type": "multipart/form-data; boundary=abc",
        },
    )
    response = connection.getresponse()
    body = json.loads(response.read())
    assert response.status == 400
    assert body["error"] == "invalid"


def _in_a_fresh_python(code: str) -> str:
    """Run `code` in a new interpreter (freezing the collector or patching autobahn here
    would change the test process itself)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_start_up_objects_are_frozen_out_of_the_collectors_walks():
    frozen = _in_a_fresh_python(
        "import gc, webapp.serve as s; s._freeze_what_start_up_made(); print(gc.get_freeze_count())"
    )
    assert int(frozen) > 50_000  # Django, Channels, the apps: the long-lived heap


def test_autobahn_formats_its_config_log_only_when_debug_lines_are_shown():
    out = _in_a_fresh_python(
        "import txaio; txaio.use_twisted()\n"
        "import webapp.serve as s; s._format_autobahn_debug_lines_only_when_shown()\n"
        "from autobahn.websocket import protocol\n"
        "txaio.set_global_log_level('info')\n"
        "print(repr(protocol.pformat([('openHandshakeTimeout', 5, 'factory')])))\n"
        "print(repr(protocol.pformat({'timings': 1})))\n"
        "txaio.set_global_log_level('debug')\n"
        "print(repr(protocol.pformat([('openHandshakeTimeout', 5, 'factory')])))\n"
    )
    quiet, other, debug = out.splitlines()
    assert "not formatted" in quiet
    assert other == repr("{'timings': 1}")
    assert debug == repr("[('openHandshakeTimeout', 5, 'factory')]")

"""Run daphne with Flint's WebSocket limits: `python -m webapp.serve [daphne options]`.

daphne refuses incoming messages over 1 MiB by default, below what a shared document
may need (a large paste, an offline client's catch-up). Flint's own per-message check
(FLINT_COLLAB_MAX_MESSAGE_BYTES, close 4009 with a reason) must be the one that speaks,
so daphne's cap is set just above it. The launcher, the tests and docker compose all
start daphne through here so the two limits never drift apart.

Twisted, under daphne, also parses every multipart POST body into `request.args` in the
reactor thread before daphne hands the raw body to Django: a second parse of every upload
that daphne never reads, which blocks the event loop on a large archive and answers a
bare 400 (no JSON, before Django sees it) for a body its parser dislikes. Flint turns it
off with Twisted's own `parsePOSTFormSubmission` switch; Django parses the body once.

autobahn pretty-prints every new connection's whole configuration (~40 settings) for a
debug log line, eagerly, whether or not debug logging is on: 6 % of daphne's event loop
while 1,000 sockets reconnect at once (issue 11). Flint gives autobahn's module a
`pformat` that only formats when txaio's log level would show the line.
"""

from __future__ import annotations

import os
import sys

ASGI_APPLICATION = "webapp.asgi:application"
_HEADROOM = 64 * 1024  # frame overhead and the JSON of the largest room message


def daphne_argv(options: list[str]) -> list[str]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    from django.conf import settings

    cap = str(settings.FLINT_COLLAB_MAX_MESSAGE_BYTES + _HEADROOM)
    limits = ["--websocket-max-message-size", cap, "--websocket-max-frame-size", cap]
    return [*limits, *options, ASGI_APPLICATION]


def _pass_request_bodies_through() -> None:
    from daphne import http_protocol

    class RawBodyRequest(http_protocol.WebRequest):
        def __init__(self, *args, **kwargs) -> None:
            kwargs["parsePOSTFormSubmission"] = False
            super().__init__(*args, **kwargs)

    # daphne's HTTPFactory builds each request from this module-level name.
    http_protocol.WebRequest = RawBodyRequest


def _format_autobahn_debug_lines_only_when_shown() -> None:
    import pprint

    import txaio
    from autobahn.websocket import protocol

    def pformat(value, *args, **kwargs) -> str:
        # The configuration log is the one list autobahn formats; its other uses (a
        # dict of timings or transport details, rare) are formatted as before.
        if isinstance(value, list) and txaio.get_global_log_level() not in ("debug", "trace"):
            return "(not formatted: debug logging is off)"
        return pprint.pformat(value, *args, **kwargs)

    protocol.pformat = pformat  # the module's own name for it


def _freeze_what_start_up_made() -> None:
    """Load the application, then move everything made so far out of the collector's way.

    Django, Channels, pycrdt and the rest are a heap of long-lived objects that a full
    (generation 2) collection walks every time: 200 ms with the event loop stopped, seen
    as the worst keystroke delays of the 50-client benchmark (issue 11). `gc.freeze()`
    puts them in the permanent generation: collections then walk only what the sockets
    made since (CPython's advice for servers, in the `gc` documentation).
    """
    import gc

    import webapp.asgi  # noqa: F401  (settings, apps, consumers: what daphne will load)

    gc.collect()
    gc.freeze()


def main() -> None:
    from daphne.cli import CommandLineInterface

    _pass_request_bodies_through()
    _format_autobahn_debug_lines_only_when_shown()
    _freeze_what_start_up_made()
    CommandLineInterface().run(daphne_argv(sys.argv[1:]))


if __name__ == "__main__":
    main()

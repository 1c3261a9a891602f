"""Run daphne with Flint's WebSocket limits: `python -m webapp.serve [daphne options]`.

daphne refuses incoming messages over 1 MiB by default, below what a shared document
may need (a large paste, an offline client's catch-up). Flint's own per-message check
(FLINT_COLLAB_MAX_MESSAGE_BYTES, close 4009 with a reason) must be the one that speaks,
so daphne's cap is set just above it. The launcher, the tests and docker compose all
start daphne through here so the two limits never drift apart.
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


def main() -> None:
    from daphne.cli import CommandLineInterface

    CommandLineInterface().run(daphne_argv(sys.argv[1:]))


if __name__ == "__main__":
    main()

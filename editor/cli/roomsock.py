"""The room socket for one-shot commands (ask, edit, task --follow): blocking, with a
timeout on every read so that Ctrl-C is handled between frames."""

from __future__ import annotations

import json
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from .client import ws_url
from .config import Login
from .errors import REFUSED, SERVER, CliError


class RoomSocket:
    def __init__(self, login: Login, room_id: int) -> None:
        url = ws_url(login.server, f"ws/rooms/{room_id}", login.token, client="terminal")
        try:
            self.ws = connect(url, open_timeout=10, max_size=None)
        except (OSError, TimeoutError) as exc:
            raise CliError(f"Cannot open the room socket at {login.server} ({exc}).",
                           SERVER, error="unreachable") from None  # fmt: skip
        hello = self.recv(10)
        if hello is None or hello.get("type") != "hello":
            message = (hello or {}).get("message", "The room refused the connection.")
            raise CliError(message, REFUSED, error=(hello or {}).get("code", "refused"))
        self.hello = hello
        self.me = hello["you"]

    def send(self, frame: dict[str, Any]) -> None:
        self.ws.send(json.dumps(frame))

    def recv(self, timeout: float = 0.25) -> dict[str, Any] | None:
        """The next frame, or None when none came within `timeout`."""
        try:
            raw = self.ws.recv(timeout=timeout)
        except TimeoutError:
            return None
        except ConnectionClosed as exc:
            reason = exc.rcvd.reason if exc.rcvd else ""
            raise CliError(f"The room socket closed{': ' + reason if reason else ''}.",
                           SERVER, error="closed") from None  # fmt: skip
        return json.loads(raw)

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> RoomSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""What other apps add to the room socket, without rooms importing them.

An extension owns the messages whose type starts with its prefix (assist owns
"assist.…"): the room consumer makes one session per socket from the registered factory
once the socket is in, hands it those messages, tells it when the user's role changed,
and closes it with the socket. Registered in the owning app's AppConfig.ready
(editor/assist/apps.py), as hocuspocus registers extensions on its server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

Send = Callable[[dict[str, Any]], Awaitable[None]]


class RoomSocketSession(Protocol):
    async def handle(self, content: dict[str, Any]) -> None:
        """One message of the extension's own types, from the browser (parsed JSON)."""

    def reauthorize(self) -> None:
        """The user's role in the room changed: check again before the next action."""

    async def close(self) -> None:
        """The socket is ending (or lost access): stop whatever it started."""


class SessionFactory(Protocol):
    def __call__(
        self, *, room: Any, user: Any, who: dict[str, Any], send: Send, broadcast: Send
    ) -> RoomSocketSession:
        """`send`: a frame to this socket; `broadcast`: a frame to every socket of the room."""


_extensions: dict[str, SessionFactory] = {}


def room_socket_extension_register(prefix: str, factory: SessionFactory) -> None:
    """Messages whose type starts with `prefix + "."` go to sessions `factory` makes."""
    _extensions[prefix] = factory


def room_socket_extensions() -> dict[str, SessionFactory]:
    return dict(_extensions)

"""Domain errors raised by services; views turn them into messages, the API into statuses.

Services raise these instead of returning flags, so that every caller (web page, API,
WebSocket consumer, management command) reports the same problem the same way.
"""

from __future__ import annotations


class FlintError(Exception):
    """A problem the user can act on; `message` is shown to them as it is."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class Invalid(FlintError):
    status = 400
    code = "invalid"


class NotAuthenticated(FlintError):
    status = 401
    code = "not_authenticated"


class Forbidden(FlintError):
    status = 403
    code = "forbidden"


class NotFound(FlintError):
    status = 404
    code = "not_found"


class Conflict(FlintError):
    status = 409
    code = "conflict"


class Gone(FlintError):
    status = 410
    code = "gone"

"""WebSocket close codes Flint uses (4000-4999 is the range for applications).

Documented in docs/PROTOCOL.md; the browser shows a message for each.
"""

from __future__ import annotations

NOT_AUTHENTICATED = 4001  # no session, or a bad/expired/revoked token
FORBIDDEN = 4003  # authenticated, but not a member (or no longer one)
NOT_FOUND = 4004  # no such room or document
MESSAGE_TOO_BIG = 4009  # a message over the configured cap
TOO_MANY_REQUESTS = 4029  # too many failed token attempts from this address; wait a minute
BAD_MESSAGE = 4400  # malformed message the protocol cannot recover from
SERVER_ERROR = 4500  # the server failed handling a message (daphne refuses 1011); reconnect

REASONS = {
    NOT_AUTHENTICATED: "not authenticated",
    FORBIDDEN: "forbidden",
    NOT_FOUND: "not found",
    MESSAGE_TOO_BIG: "message too big",
    TOO_MANY_REQUESTS: "too many requests",
    BAD_MESSAGE: "bad message",
    SERVER_ERROR: "server error",
}

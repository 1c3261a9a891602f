"""The y-websocket wire format, parsed strictly: one message per binary frame.

    message   = varUint(type) body
    sync      = 0 varUint(0 step1 | 1 step2 | 2 update) varUint8Array(payload)
    awareness = 1 varUint8Array(awareness update)
    auth      = 2 ...      (server → client only in y-protocols; ignored)
    query     = 3          (ask for every awareness state)

pycrdt's own Decoder trusts its input (it reads past the end of a truncated frame), so
the framing is checked here before any payload reaches pycrdt.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pycrdt import YMessageType, YSyncMessageType

AUTH = 2
QUERY_AWARENESS = 3
_MAX_VARUINT_BYTES = 8  # 56 bits: more than any length or client id in practice


class ProtocolError(ValueError):
    """A frame that is not a well-formed y-websocket message."""


@dataclass(frozen=True)
class Message:
    kind: int  # YMessageType.SYNC / AWARENESS, AUTH or QUERY_AWARENESS
    sync_type: int | None  # YSyncMessageType for sync messages
    payload: bytes


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def var_uint(self) -> int:
        value = 0
        for i in range(_MAX_VARUINT_BYTES):
            if self.pos >= len(self.data):
                raise ProtocolError("truncated message")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << (7 * i)
            if byte < 0x80:
                return value
        raise ProtocolError("number too long")

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        end = self.pos + length
        if end > len(self.data):
            raise ProtocolError("truncated message")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk


def parse(data: bytes) -> Message:
    """Split one frame into its type and payload, or raise ProtocolError."""
    reader = _Reader(data)
    kind = reader.var_uint()
    if kind == YMessageType.SYNC:
        sync_type = reader.var_uint()
        if sync_type not in (
            YSyncMessageType.SYNC_STEP1,
            YSyncMessageType.SYNC_STEP2,
            YSyncMessageType.SYNC_UPDATE,
        ):
            raise ProtocolError(f"unknown sync message type {sync_type}")
        return Message(kind=kind, sync_type=sync_type, payload=reader.var_bytes())
    if kind == YMessageType.AWARENESS:
        return Message(kind=kind, sync_type=None, payload=reader.var_bytes())
    if kind == AUTH:
        return Message(kind=kind, sync_type=None, payload=data[reader.pos :])
    if kind == QUERY_AWARENESS:
        return Message(kind=kind, sync_type=None, payload=b"")
    raise ProtocolError(f"unknown message type {kind}")


@dataclass(frozen=True)
class AwarenessEntry:
    client: int
    clock: int
    raw: bytes  # the state as sent: JSON text, "null" for a removal
    state: dict[str, Any] | None
    too_big: bool = False  # over the caller's limit: left unparsed, `state` is None


def decode_awareness(
    payload: bytes,
    *,
    max_state_bytes: int | None = None,
    skip: Callable[[int, int], bool] | None = None,
) -> list[AwarenessEntry]:
    """Split an awareness update into its entries, or raise ProtocolError.

    update = varUint(count) { varUint(client) varUint(clock) varString(JSON state | "null") }
    A state over `max_state_bytes` is not parsed; its entry says `too_big`. An entry for
    which `skip(client, clock)` is true is left out unparsed (the framing is still checked).
    """
    reader = _Reader(payload)
    entries = []
    for _ in range(reader.var_uint()):
        client = reader.var_uint()
        clock = reader.var_uint()
        raw = reader.var_bytes()
        if skip is not None and skip(client, clock):
            continue
        if max_state_bytes is not None and len(raw) > max_state_bytes:
            entries.append(AwarenessEntry(client, clock, raw, None, too_big=True))
            continue
        try:
            state = json.loads(raw, parse_constant=_no_constant) if raw else None
        except (ValueError, RecursionError) as exc:
            raise ProtocolError("awareness state is not JSON") from exc
        if state is not None and not isinstance(state, dict):
            raise ProtocolError("awareness state is not an object")
        entries.append(AwarenessEntry(client=client, clock=clock, raw=raw, state=state))
    if reader.pos != len(payload):
        raise ProtocolError("trailing bytes after the awareness update")
    return entries


def _no_constant(name: str) -> None:
    # Python reads NaN and Infinity; the browsers' JSON.parse would throw on them.
    raise ValueError(f"{name} is not JSON")


def encode_awareness(entries: list[tuple[int, int, dict[str, Any] | bytes | None]]) -> bytes:
    """An awareness update of (client, clock, state) entries, as y-protocols writes it.

    A state given as bytes is JSON already (awareness.Owners keeps the text of a state it
    has relayed before: a heartbeat renews the same state, and is not encoded again).
    """
    out = bytearray(encode_var_uint(len(entries)))
    for client, clock, state in entries:
        out += encode_var_uint(client) + encode_var_uint(clock)
        out += encode_var_bytes(state if isinstance(state, bytes) else state_json(state))
    return bytes(out)


def state_json(state: dict[str, Any] | None) -> bytes:
    return json.dumps(state, separators=(",", ":"), allow_nan=False).encode()


def encode_var_uint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_var_bytes(payload: bytes) -> bytes:
    return encode_var_uint(len(payload)) + payload


def awareness_message(update: bytes) -> bytes:
    return bytes([YMessageType.AWARENESS]) + encode_var_bytes(update)


def sync_message(sync_type: int, payload: bytes) -> bytes:
    return bytes([YMessageType.SYNC, sync_type]) + encode_var_bytes(payload)

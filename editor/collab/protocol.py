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
from dataclasses import dataclass

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


def check_awareness(payload: bytes) -> None:
    """Raise ProtocolError unless `payload` is a well-formed awareness update.

    update = varUint(count) { varUint(client) varUint(clock) varString(JSON state | "null") }
    """
    reader = _Reader(payload)
    for _ in range(reader.var_uint()):
        reader.var_uint()
        reader.var_uint()
        raw = reader.var_bytes()
        try:
            state = json.loads(raw) if raw else None
        except ValueError as exc:
            raise ProtocolError("awareness state is not JSON") from exc
        if state is not None and not isinstance(state, dict):
            raise ProtocolError("awareness state is not an object")


def encode_var_bytes(payload: bytes) -> bytes:
    length = len(payload)
    out = bytearray()
    while length > 0x7F:
        out.append(0x80 | (length & 0x7F))
        length >>= 7
    out.append(length)
    return bytes(out) + payload


def awareness_message(update: bytes) -> bytes:
    return bytes([YMessageType.AWARENESS]) + encode_var_bytes(update)


def sync_message(sync_type: int, payload: bytes) -> bytes:
    return bytes([YMessageType.SYNC, sync_type]) + encode_var_bytes(payload)

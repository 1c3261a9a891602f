"""The y-websocket framing parser: well-formed frames parse, every broken one is refused."""

from __future__ import annotations

import pytest
from pycrdt import (
    Awareness,
    Doc,
    Text,
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
    create_sync_message,
    create_update_message,
)

from editor.collab.protocol import ProtocolError, decode_awareness, parse, sync_message


def test_pycrdt_messages_parse():
    doc = Doc()
    doc["content"] = Text("hello")
    step1 = parse(create_sync_message(doc))
    assert (step1.kind, step1.sync_type) == (YMessageType.SYNC, YSyncMessageType.SYNC_STEP1)
    assert step1.payload == doc.get_state()
    update = parse(create_update_message(doc.get_update()))
    assert update.sync_type == YSyncMessageType.SYNC_UPDATE
    assert update.payload == doc.get_update()
    awareness = Awareness(doc)
    awareness.set_local_state({"user": {"name": "Bob"}})
    encoded = awareness.encode_awareness_update([doc.client_id])
    message = parse(create_awareness_message(encoded))
    assert (message.kind, message.payload) == (YMessageType.AWARENESS, encoded)
    decode_awareness(message.payload)


def test_long_payload_lengths_round_trip():
    payload = b"x" * 300_000  # a three-byte length prefix
    assert parse(sync_message(YSyncMessageType.SYNC_UPDATE, payload)).payload == payload


@pytest.mark.parametrize(
    "frame",
    [b"", b"\x00", b"\x00\x01", b"\x00\x02\x05ab", b"\x00\x03\x00", b"\x07", b"\xff" * 9],
)
def test_broken_frames_are_refused(frame):
    with pytest.raises(ProtocolError):
        parse(frame)


@pytest.mark.parametrize(
    "payload",
    [b"", b"\x01", b"\x01\x01\x01\x05ab", b'\x01\x01\x01\x03{"a', b"\x01\x01\x01\x02[]"],
)
def test_broken_awareness_is_refused(payload):
    with pytest.raises(ProtocolError):
        decode_awareness(payload)

"""Convergence property: random concurrent edits from several pycrdt clients through the
server's message handling, with reordered delivery, duplicates and disconnects, end with
the same text everywhere."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Text, YMessageType, YSyncMessageType

from editor.collab.documents import TEXT_NAME, base_update
from editor.collab.protocol import parse, sync_message

CLIENTS = 4


@dataclass
class Replica:
    doc: Doc
    online: bool = True

    @property
    def text(self) -> Text:
        return self.doc.get(TEXT_NAME, type=Text)


@dataclass
class Network:
    """The server's document and the frames in flight, each (destination, frame)."""

    server: Doc
    clients: list[Replica]
    in_flight: list[tuple[int, bytes]] = field(default_factory=list)  # -1 is the server

    def client_sends(self, who: int, frame: bytes) -> None:
        if self.clients[who].online:
            self.in_flight.append((-1, (who, frame)))  # type: ignore[arg-type]

    def deliver(self, index: int, *, keep: bool = False) -> None:
        destination, frame = self.in_flight[index]
        if not keep:
            del self.in_flight[index]
        if destination == -1:
            sender, data = frame
            self.server_receives(sender, data)
        elif self.clients[destination].online:
            self.client_receives(destination, frame)

    def server_receives(self, sender: int, data: bytes) -> None:
        """What DocConsumer + SharedDoc do with a client's frame (storage aside)."""
        message = parse(data)
        assert message.kind == YMessageType.SYNC
        if message.sync_type == YSyncMessageType.SYNC_STEP1:
            reply = sync_message(
                YSyncMessageType.SYNC_STEP2, self.server.get_update(message.payload)
            )
            self.in_flight.append((sender, reply))  # to the asking client only
            return
        self.server.apply_update(message.payload)
        relay = sync_message(YSyncMessageType.SYNC_UPDATE, message.payload)
        for other, replica in enumerate(self.clients):
            if other != sender and replica.online:
                self.in_flight.append((other, relay))

    def client_receives(self, who: int, data: bytes) -> None:
        message = parse(data)
        doc = self.clients[who].doc
        if message.sync_type == YSyncMessageType.SYNC_STEP1:
            self.client_sends(
                who, sync_message(YSyncMessageType.SYNC_STEP2, doc.get_update(message.payload))
            )
        else:
            doc.apply_update(message.payload)

    def connect(self, who: int) -> None:
        """A (re)connection: both sides send their step 1, as server and provider do."""
        self.clients[who].online = True
        self.in_flight.append(
            (who, sync_message(YSyncMessageType.SYNC_STEP1, self.server.get_state()))
        )
        doc = self.clients[who].doc
        self.client_sends(who, sync_message(YSyncMessageType.SYNC_STEP1, doc.get_state()))

    def disconnect(self, who: int) -> None:
        self.clients[who].online = False
        self.in_flight = [
            (dest, frame)
            for dest, frame in self.in_flight
            if dest != who and not (dest == -1 and frame[0] == who)
        ]

    def drain(self) -> None:
        while self.in_flight:
            self.deliver(0)


edit = st.tuples(
    st.just("edit"),
    st.integers(0, CLIENTS - 1),
    st.floats(0, 1),
    st.one_of(st.text("abc xyz\n", min_size=1, max_size=4), st.integers(1, 3)),
)
deliver = st.tuples(st.just("deliver"), st.integers(0, 10_000), st.booleans())
toggle = st.tuples(st.just("toggle"), st.integers(0, CLIENTS - 1))
operations = st.lists(st.one_of(edit, edit, deliver, deliver, deliver, toggle), max_size=80)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations=operations, initial=st.text("def main:\n", max_size=20))
def test_random_concurrent_edits_converge(operations, initial):
    base = base_update(initial)
    server = Doc()
    server.apply_update(base)  # the server loaded the file...
    clients = []
    for _ in range(CLIENTS):
        doc = Doc()
        doc.get(TEXT_NAME, type=Text)
        clients.append(Replica(doc))
    net = Network(server, clients)
    for who in range(CLIENTS):
        net.connect(who)
    for op in operations:
        if op[0] == "edit":
            _, who, where, change = op
            replica = clients[who]
            text = replica.text
            state = replica.doc.get_state()
            position = int(where * len(text))
            if isinstance(change, str):
                text.insert(position, change)
            elif len(text):
                start = min(position, len(text) - 1)
                del text[start : min(len(text), start + change)]
            update = replica.doc.get_update(state)
            # Offline edits stay local until the reconnect's step 2 carries them.
            net.client_sends(who, sync_message(YSyncMessageType.SYNC_UPDATE, update))
        elif op[0] == "deliver" and net.in_flight:
            _, index, duplicate = op
            net.deliver(index % len(net.in_flight), keep=duplicate)
        elif op[0] == "toggle":
            who = op[1]
            if clients[who].online:
                net.disconnect(who)
            else:
                net.connect(who)
    # Everyone comes back and the network settles.
    for who in range(CLIENTS):
        if not clients[who].online:
            net.connect(who)
    net.drain()
    for who in range(CLIENTS):
        net.connect(who)
    net.drain()
    expected = str(server.get(TEXT_NAME, type=Text))
    assert [str(replica.text) for replica in clients] == [expected] * CLIENTS

"""Test helpers: two ``Session``s on a fake link, driven by a ``ManualClock``.

Modelled on h11's ``ConnectionPair`` and aioquic's ``roundtrip``: bytes from one
side's ``data_to_send()`` are fed to the other's ``receive_data()`` until both
are quiet; ``ConnectRequested`` opens the link when the other side is listening
(Connect/Active), else the attempt fails; ``CloseRequested`` takes the link down
after the closing side's last bytes were delivered. Every delivered chunk is
kept in ``wire`` so tests can decode the exact bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from nexthop.bgp.fsm import (
    CloseRequested,
    ConnectRequested,
    Event,
    Session,
    SessionConfig,
    SessionState,
)
from nexthop.bgp.wire import Keepalive, Message, MessageReader, Negotiated, Open, encode_message
from nexthop.clock import ManualClock

A_ID = 0x01010101
B_ID = 0x02020202


def config_a(**changes: object) -> SessionConfig:
    base: dict[str, object] = {
        "local_asn": 65001,
        "peer_asn": 65002,
        "bgp_id": A_ID,
        "peer_address": "192.0.2.2",
    }
    base.update(changes)
    return SessionConfig(**base)  # type: ignore[arg-type]


def config_b(**changes: object) -> SessionConfig:
    base: dict[str, object] = {
        "local_asn": 65002,
        "peer_asn": 65001,
        "bgp_id": B_ID,
        "peer_address": "192.0.2.1",
    }
    base.update(changes)
    return SessionConfig(**base)  # type: ignore[arg-type]


def decode_all(data: bytes, negotiated: Negotiated | None = None) -> list[Message]:
    reader = MessageReader()
    reader.feed(data)
    out = []
    while (msg := reader.next_message(negotiated or Negotiated())) is not None:
        out.append(msg)
    return out


@dataclass
class Side:
    name: str
    session: Session
    events: list[Event] = field(default_factory=list)
    blackholed: bool = False  # drop everything this side sends

    def of_type(self, kind: type) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]


class SessionPair:
    def __init__(
        self,
        a: SessionConfig | None = None,
        b: SessionConfig | None = None,
        *,
        start_at: float = 1000.0,
    ) -> None:
        self.clock = ManualClock(start_at)
        self.a = Side("a", Session(a or config_a()))
        self.b = Side("b", Session(b or config_b()))
        self.link_up = False
        self.wire: list[tuple[str, bytes]] = []  # (sender name, bytes) as delivered
        self._connects: list[Side] = []
        self._closes: list[Side] = []

    @property
    def now(self) -> float:
        return self.clock.now()

    def other(self, side: Side) -> Side:
        return self.b if side is self.a else self.a

    def record(self, side: Side, events: list[Event]) -> list[Event]:
        side.events += events
        for event in events:
            if isinstance(event, ConnectRequested):
                self._connects.append(side)
            elif isinstance(event, CloseRequested):
                self._closes.append(side)
        return events

    def start(self) -> None:
        self.record(self.a, self.a.session.start(self.now))
        self.record(self.b, self.b.session.start(self.now))
        self.pump()

    def established(self) -> bool:
        return (
            self.a.session.state is SessionState.ESTABLISHED
            and self.b.session.state is SessionState.ESTABLISHED
        )

    def pump(self) -> None:
        """Carry bytes, connects and closes until nothing moves."""
        for _ in range(10_000):
            moved = False
            for side in (self.a, self.b):
                moved |= self._deliver(side)
            if self._closes:
                side = self._closes.pop(0)
                self._deliver(side)  # its last words (a NOTIFICATION) go out first
                if self.link_up:
                    self.link_up = False
                    peer = self.other(side)
                    if peer.session.state is not SessionState.IDLE:
                        self.record(peer, peer.session.connection_lost(self.now))
                moved = True
            elif self._connects:
                side = self._connects.pop(0)
                peer = self.other(side)
                if not self.link_up and side.session.state is SessionState.CONNECT:
                    if peer.session.state in (SessionState.CONNECT, SessionState.ACTIVE):
                        self.link_up = True
                        self.record(side, side.session.connection_made(self.now))
                        self.record(peer, peer.session.connection_made(self.now))
                    else:
                        self.record(side, side.session.connection_failed(self.now))
                moved = True
            if not moved:
                return
        raise AssertionError("the pair never went quiet")

    def _deliver(self, side: Side) -> bool:
        data = side.session.data_to_send()
        if not (data and self.link_up and not side.blackholed):
            return False
        peer = self.other(side)
        self.wire.append((side.name, data))
        self.record(peer, peer.session.receive_data(data, self.now))
        return True

    def advance(self, seconds: float) -> None:
        """Move the clock, firing each side's timers at their deadlines."""
        target = self.now + seconds
        while True:
            due = [
                (deadline, side.name)
                for side in (self.a, self.b)
                if (deadline := side.session.get_timer()) is not None and deadline <= target
            ]
            if not due:
                break
            deadline = min(due)[0]
            self.clock.advance(max(0.0, deadline - self.now))
            for side in (self.a, self.b):
                timer = side.session.get_timer()
                if timer is not None and timer <= self.now:
                    self.record(side, side.session.handle_timer(self.now))
            self.pump()
        self.clock.advance(target - self.now)

    def sent_by(self, name: str, negotiated: Negotiated | None = None) -> list[Message]:
        """Every message ``name`` put on the wire, decoded (pre-OPEN parameters)."""
        return decode_all(b"".join(d for n, d in self.wire if n == name), negotiated)


NOW = 1000.0


def wire(*messages: Message, negotiated: Negotiated | None = None) -> bytes:
    """Messages as the peer would send them (pre-OPEN parameters by default)."""
    return b"".join(encode_message(m, negotiated or Negotiated()) for m in messages)


def peer_open(**changes: object) -> Open:
    """The OPEN ``config_b()`` would send, with fields overridden."""
    base = Session(config_b()).local_open
    return replace(base, **changes)  # type: ignore[arg-type]


def opensent_session(config: SessionConfig | None = None) -> Session:
    """A session that has sent its OPEN on a fresh connection (output drained)."""
    session = Session(config or config_a())
    session.start(NOW)
    session.connection_made(NOW)
    session.data_to_send()
    return session


def established_session(config: SessionConfig | None = None) -> Session:
    session = opensent_session(config)
    session.receive_data(wire(peer_open(), Keepalive()), NOW)
    session.data_to_send()
    assert session.state is SessionState.ESTABLISHED
    return session

"""Liveness under faults: whatever happens to the link and the operators, once
the faults are cleared and any manually stopped side is started again, the pair
re-establishes on its own (automatic restart) within the RFC 4271 timers
(OpenSent hold + damped IdleHold + ConnectRetry)."""

from __future__ import annotations

from fsm_pair import A_ID, B_ID, SessionPair
from hypothesis import given, settings
from hypothesis import strategies as st

from nexthop.bgp.constants import CeaseSubcode
from nexthop.bgp.fsm import DownReason, SessionState, UpdateReceived
from nexthop.bgp.wire import AsPathSegment, PathAttributes, Update, cease_notification
from nexthop.net.prefix import parse_prefix

S = SessionState
MAX_PREFIX = cease_notification(CeaseSubcode.MAXIMUM_NUMBER_OF_PREFIXES_REACHED)
UPDATE = Update(
    attributes=PathAttributes(as_path=(AsPathSegment(2, (65001,)),), next_hop=0xC0000201),
    nlri=(parse_prefix("198.51.100.0/24"),),
)

OPS = [
    "advance-1",
    "advance-30",
    "advance-200",
    "blackhole-a",
    "blackhole-b",
    "heal",
    "reset-link",
    "teardown-a",
    "stop-a",
    "start-a",
    "stop-b",
    "start-b",
    "update-a",
]


def _apply(pair: SessionPair, op: str) -> None:
    name, _, arg = op.partition("-")
    side = pair.a if arg == "a" else pair.b
    if name == "advance":
        pair.advance(float(arg))
    elif name == "blackhole":
        side.blackholed = True
    elif name == "heal":
        pair.a.blackholed = pair.b.blackholed = False
    elif op == "reset-link":
        if pair.link_up:
            pair.link_up = False
            for s in (pair.a, pair.b):
                if s.session.state is not S.IDLE:
                    pair.record(s, s.session.connection_lost(pair.now))
    elif name == "teardown":
        pair.record(side, side.session.teardown(pair.now, MAX_PREFIX, DownReason.MAX_PREFIX))
    elif name == "stop":
        pair.record(side, side.session.stop(pair.now))
    elif name == "start":
        pair.record(side, side.session.start(pair.now))
    elif name == "update" and side.session.state is S.ESTABLISHED:
        side.session.send_update(UPDATE)
    pair.pump()


def _check(pair: SessionPair) -> None:
    for side, peer_id in ((pair.a, B_ID), (pair.b, A_ID)):
        negotiated = side.session.negotiated
        if side.session.state is S.ESTABLISHED:
            assert negotiated is not None
            assert negotiated.peer_bgp_id == peer_id
        counters = side.session.counters
        assert counters.flaps <= counters.established_count


@settings(max_examples=60, deadline=None)
@given(ops=st.lists(st.sampled_from(OPS), max_size=20))
def test_pair_recovers_from_any_fault_sequence(ops: list[str]) -> None:
    pair = SessionPair()
    pair.start()
    stopped: set[str] = set()  # sides under ManualStop: only those need a start
    for op in ops:
        _apply(pair, op)
        _check(pair)
        name, _, arg = op.partition("-")
        if name == "stop":
            stopped.add(arg)
        elif name == "start":
            stopped.discard(arg)
    _apply(pair, "heal")
    for arg in sorted(stopped):
        _apply(pair, f"start-{arg}")
    pair.advance(1000)
    assert pair.established(), (pair.a.session.state, pair.b.session.state)
    before = len(pair.b.of_type(UpdateReceived))
    pair.a.session.send_update(UPDATE)
    pair.pump()
    assert len(pair.b.of_type(UpdateReceived)) == before + 1

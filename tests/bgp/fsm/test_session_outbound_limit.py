"""The outbound bound of a ``Session`` (RFC 4486 §4 Cease/Out of Resources): past
``SessionConfig.outbound_limit`` the queued messages are dropped and the peer gets
a NOTIFICATION that follows whole messages on the wire, however the edge cut the
stream into writes (issue 15, "unbounded outbound buffer")."""

from __future__ import annotations

import pytest
from fsm_pair import NOW, config_a, decode_all, established_session
from hypothesis import given, settings
from hypothesis import strategies as st

from nexthop.bgp.constants import CeaseSubcode, ErrorCode
from nexthop.bgp.fsm import CloseRequested, SessionDown, SessionState
from nexthop.bgp.wire import Notification, Update, encode_message
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes
from nexthop.net.prefix import Afi, Prefix


def _update(i: int) -> Update:
    # UPDATEs of different lengths, so the cuts land anywhere in a message.
    asns = tuple(range(65001, 65001 + 1 + i % 40))
    return Update(
        attributes=PathAttributes(as_path=(AsPathSegment(2, asns),), next_hop=0x0A000001),
        nlri=(Prefix(Afi.IPV4, (10 << 24) | (i << 8), 24),),
    )


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(1, 300), min_size=1, max_size=20), queued=st.integers(5, 60))
def test_the_reset_keeps_the_cut_message_and_ends_with_the_notification(
    cuts: list[int], queued: int
) -> None:
    session = established_session(config_a(outbound_limit=1000))
    negotiated = session.negotiated
    for i in range(queued):
        session.send_update(_update(i))
    written = b"".join(session.data_to_send(n) for n in cuts)  # what the edge took
    events = session.check_outbound(NOW, 1001)  # the edge still holds more than the limit
    assert session.state is SessionState.IDLE
    assert any(isinstance(e, CloseRequested) for e in events)
    down = [e for e in events if isinstance(e, SessionDown)]
    assert len(down) == 1
    stream = decode_all(written + session.data_to_send(), negotiated)
    assert all(isinstance(m, Update) for m in stream[:-1])
    assert stream[-1] == Notification(code=ErrorCode.CEASE, subcode=CeaseSubcode.OUT_OF_RESOURCES)
    # Every message the edge had started to take is finished; the rest was dropped.
    assert negotiated is not None
    starts, offset = [], 0
    for i in range(queued):
        starts.append(offset)
        offset += len(encode_message(_update(i), negotiated))
    assert len(stream) - 1 == sum(start < len(written) for start in starts)


def test_within_the_limit_nothing_happens() -> None:
    session = established_session(config_a(outbound_limit=1 << 20))
    for i in range(50):
        session.send_update(_update(i))
    assert session.check_outbound(NOW, 1000) == []
    assert session.state is SessionState.ESTABLISHED
    assert session.bytes_pending > 0


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="outbound_limit"):
        config_a(outbound_limit=0)

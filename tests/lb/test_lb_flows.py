"""FlowTable and the pinning rule on their own."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from lb_builders import random_flows

from nexthop.lb.flows import FlowKey, FlowTable, keep_pinned
from nexthop.lb.model import Flow, IpProtocol


def test_symmetric_keys_match_both_directions_and_plain_keys_do_not() -> None:
    f = Flow.of(IpProtocol.TCP, "10.0.0.9", 40000, "10.0.0.1", 443)
    assert FlowKey.of("r", f, symmetric=True) == FlowKey.of("r", f.reversed(), symmetric=True)
    assert FlowKey.of("r", f, symmetric=False) != FlowKey.of("r", f.reversed(), symmetric=False)
    assert FlowKey.of("r", f, symmetric=True) != FlowKey.of("other", f, symmetric=True)


def test_entries_expire_after_their_idle_timeout_and_traffic_refreshes_them() -> None:
    table = FlowTable()
    a, b = (FlowKey.of("r", f, symmetric=True) for f in random_flows(2))
    table.pin(a, "nva0", 0.0, 240.0)
    table.pin(b, "nva1", 100.0, 240.0)
    assert table.next_deadline() == 240.0
    entry = table.get(a, 200.0)
    assert entry is not None
    FlowTable.touch(entry, 200.0)
    assert table.next_deadline() == 340.0
    expired = table.expire(340.0)
    assert [(x.backend, x.at) for x in expired] == [("nva1", 340.0)]
    assert table.get(a, 439.9) is not None
    assert table.get(a, 440.0) is None  # lazily dropped on lookup
    assert len(table) == 0


def test_repinning_counts_moves_and_close_forgets() -> None:
    table = FlowTable()
    k = FlowKey.of("r", random_flows(1)[0], symmetric=True)
    table.pin(k, "nva0", 0.0, 60.0)
    e = table.pin(k, "nva1", 1.0, 60.0)
    assert (e.backend, e.moves, e.created) == ("nva1", 1, 0.0)
    assert table.on_backend("nva1") == [e]
    assert table.close(k)
    assert not table.close(k)


@given(
    protocol=st.sampled_from([IpProtocol.TCP, IpProtocol.UDP, IpProtocol.ICMP]),
    member=st.booleans(),
    serviceable=st.booleans(),
)
def test_pinning_rule(protocol: int, member: bool, serviceable: bool) -> None:
    kept = keep_pinned(protocol, member=member, serviceable=serviceable)
    if not member:
        assert not kept  # removed from the pool: always move
    elif protocol == IpProtocol.TCP:
        assert kept  # Azure keeps established TCP on a probed-down backend
    else:
        assert kept == serviceable  # UDP moves off an unhealthy backend

"""``RouteServer.vnet_route(prefix)``: one prefix of ``vnet_routes()``, and every
change of it is named by a ``RoutesChanged`` (what the fabric relies on to
re-read only those prefixes)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rs_helpers import NVA1, NVA2, NVA3, announce, connect, server, withdraw

from nexthop.net.prefix import Prefix, parse_prefix
from nexthop.routeserver import INSTANCE_ROLES, RoutesChanged

PEERS = (NVA1, NVA2, NVA3)
PREFIXES = [parse_prefix(p) for p in ("10.100.0.0/16", "10.101.0.0/16", "0.0.0.0/0")]

events = st.lists(
    st.tuples(
        st.sampled_from(INSTANCE_ROLES),
        st.sampled_from([p.name for p in PEERS]),
        st.sampled_from(PREFIXES),
        st.one_of(
            st.none(),  # withdraw
            st.tuples(st.integers(1, 3), st.sampled_from(["10.1.0.100", "10.1.0.101"])),
        ),
        st.booleans(),  # the peer goes down after this UPDATE
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(events)
def test_vnet_route_is_one_prefix_of_vnet_routes_and_changes_are_announced(
    script: list[tuple[str, str, Prefix, tuple[int, str] | None, bool]],
) -> None:
    rs = server()
    connect(rs, *PEERS)
    before = {p: rs.vnet_route(p) for p in PREFIXES}
    assert all(hops == () for hops in before.values())
    for role, peer, prefix, route, down in script:
        if route is None:
            outputs = rs.receive_update(role, peer, withdraw(prefix), 0.0)
        else:
            length, next_hop = route
            update = announce(prefix, as_path=(65001,) * length, next_hop=next_hop)
            outputs = rs.receive_update(role, peer, update, 0.0)
        if down:
            outputs += rs.peer_down(role, peer, 0.0, "test")
            outputs += connect(rs, *[p for p in PEERS if p.name == peer], instances=(role,))
        announced = {p for o in outputs if isinstance(o, RoutesChanged) for p in o.prefixes}
        after = {p: rs.vnet_route(p) for p in PREFIXES}
        assert {p for p in PREFIXES if after[p] != before[p]} <= announced
        assert [(p, h) for p, h in sorted(after.items()) if h] == rs.vnet_routes()
        before = after

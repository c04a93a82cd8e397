"""Properties over random announce/withdraw sequences: what the incremental
UPDATEs built up at each NVA equals a full resend, and the VNet programming
equals a from-scratch model of the Azure rule (shortest AS_PATH, ECMP, split by
instance, union)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rs_helpers import NVA1, NVA2, NVA3, announce, connect, ip, server, withdraw

from nexthop.bgp.wire.messages import PathAttributes
from nexthop.net.prefix import Prefix, parse_prefix
from nexthop.routeserver import INSTANCE_ROLES, Output, SendUpdate

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
    ),
    max_size=25,
)


State = dict[tuple[str, str], dict[Prefix, PathAttributes]]


def apply(state: State, outputs: list[Output]) -> None:
    for o in outputs:
        if not isinstance(o, SendUpdate):
            continue
        table = state.setdefault((o.instance, o.peering), {})
        for prefix in o.update.withdrawn:
            table.pop(prefix, None)
        for prefix in o.update.nlri:
            assert o.update.attributes is not None
            table[prefix] = o.update.attributes


@settings(max_examples=60, deadline=None)
@given(events)
def test_incremental_updates_match_a_full_resend_and_the_vnet_model(
    script: list[tuple[str, str, Prefix, tuple[int, str] | None]],
) -> None:
    rs = server()
    state: State = {}
    apply(state, connect(rs, *PEERS))
    held: dict[tuple[str, str, Prefix], tuple[int, int]] = {}  # -> (length, next hop)
    for role, peer, prefix, route in script:
        if route is None:
            apply(state, rs.receive_update(role, peer, withdraw(prefix), 0.0))
            held.pop((role, peer, prefix), None)
            continue
        length, next_hop = route
        asn = 65001 if peer != "nva3" else 65003
        update = announce(prefix, as_path=(asn,) * length, next_hop=next_hop)
        apply(state, rs.receive_update(role, peer, update, 0.0))
        held[(role, peer, prefix)] = (length, ip(next_hop))

    for role in INSTANCE_ROLES:
        for peering in PEERS:
            fresh: State = {}
            apply(fresh, rs.receive_route_refresh(role, peering.name, 1.0))
            assert state.get((role, peering.name), {}) == fresh.get((role, peering.name), {})

    expected: dict[Prefix, set[int]] = {}
    for role in INSTANCE_ROLES:
        for prefix in PREFIXES:
            routes = [v for (r, _, p), v in held.items() if r == role and p == prefix]
            if routes:
                shortest = min(length for length, _ in routes)
                hops = {nh for length, nh in routes if length == shortest}
                expected.setdefault(prefix, set()).update(hops)
    assert rs.vnet_routes() == [(p, tuple(sorted(h))) for p, h in sorted(expected.items())]

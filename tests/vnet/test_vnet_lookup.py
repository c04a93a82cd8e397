"""next_hop over compiled effective routes: longest prefix match on Active routes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexthop.net.prefix import Afi, Prefix, parse_address, parse_prefix
from nexthop.vnet import (
    BgpRoute,
    EffectiveRoute,
    LookupIndex,
    NextHopType,
    Route,
    RouteSource,
    RouteState,
    RouteTable,
    VirtualNetwork,
    compile_routes,
    compute_effective_routes,
    next_hop,
)

P = parse_prefix
VNET = VirtualNetwork(name="hub", region="r", address_spaces=(P("10.1.0.0/16"), P("fd00:1::/48")))
NVA1 = parse_address("10.1.2.4")[1]
NVA2 = parse_address("10.1.2.5")[1]
FW = parse_address("10.1.3.4")[1]


def ip(text: str) -> int:
    return parse_address(text)[1]


def index_for(
    bgp: list[BgpRoute], udrs: tuple[Route, ...] = (), *, disable: bool = False
) -> LookupIndex:
    table = RouteTable(name="rt", region="r", routes=udrs, disable_bgp_route_propagation=disable)
    return compile_routes(compute_effective_routes(vnet=VNET, route_table=table, bgp_routes=bgp))


def test_longest_prefix_match_across_sources() -> None:
    udrs = (
        Route(
            name="fw-web",
            address_prefix=P("192.0.2.128/25"),
            next_hop_type=NextHopType.VIRTUAL_APPLIANCE,
            next_hop_ip=FW,
        ),
    )
    bgp = [
        BgpRoute(prefix=P("192.0.2.0/24"), next_hops=(NVA1,)),
        BgpRoute(prefix=P("0.0.0.0/0"), next_hops=(NVA1, NVA2)),
    ]
    index = index_for(bgp, udrs)
    # 8 system routes (0.0.0.0/0 overridden by BGP) + 2 BGP + 1 UDR, one Active per prefix
    assert len(index) == 10
    decision = next_hop(index, "192.0.2.200")
    assert decision.source == RouteSource.USER
    assert decision.route_name == "fw-web"
    assert decision.next_hop_ips == (FW,)
    assert decision.prefix == P("192.0.2.128/25")
    assert "longest prefix match 192.0.2.128/25" in decision.reason

    decision = next_hop(index, "192.0.2.1")
    assert decision.source == RouteSource.VIRTUAL_NETWORK_GATEWAY
    assert decision.next_hop_type == NextHopType.VIRTUAL_NETWORK_GATEWAY
    assert decision.next_hop_ips == (NVA1,)

    decision = next_hop(index, "8.8.8.8")
    assert decision.next_hop_ips == (NVA1, NVA2)
    assert decision.next_hop_texts() == ["10.1.2.4", "10.1.2.5"]
    assert "ECMP over 2 next hops" in decision.reason
    assert "overrides 1 other route" in decision.reason

    decision = next_hop(index, "10.1.7.7")
    assert decision.next_hop_type == NextHopType.VNET_LOCAL
    assert decision.source == RouteSource.DEFAULT


def test_vnet_traffic_stays_local_despite_more_specific_bgp_route() -> None:
    index = index_for([BgpRoute(prefix=P("10.1.7.0/24"), next_hops=(NVA1,))])
    decision = next_hop(index, "10.1.7.7")
    assert decision.next_hop_type == NextHopType.VNET_LOCAL
    assert "overrides 1 other route" in decision.reason


def test_private_ranges_are_dropped_and_internet_is_default() -> None:
    index = index_for([])
    dropped = next_hop(index, "172.20.0.1")
    assert dropped.dropped
    assert dropped.next_hop_type == NextHopType.NONE
    assert "drops the packet" in dropped.reason
    internet = next_hop(index, "203.0.113.9")
    assert internet.next_hop_type == NextHopType.INTERNET
    assert not internet.dropped


def test_disable_bgp_route_propagation_means_lookup_ignores_bgp() -> None:
    bgp = [BgpRoute(prefix=P("0.0.0.0/0"), next_hops=(NVA1,))]
    assert next_hop(index_for(bgp, disable=True), "8.8.8.8").next_hop_type == (NextHopType.INTERNET)
    assert next_hop(index_for(bgp), "8.8.8.8").next_hop_type == (
        NextHopType.VIRTUAL_NETWORK_GATEWAY
    )


def test_ipv6_lookup() -> None:
    hop = ip("fd00:1:0:2::4")
    index = index_for([BgpRoute(prefix=P("2001:db8::/32"), next_hops=(hop,))])
    decision = next_hop(index, "2001:db8::99")
    assert decision.next_hop_ips == (hop,)
    assert decision.next_hop_texts() == ["fd00:1:0:2::4"]
    assert next_hop(index, "fd00:1::9").next_hop_type == NextHopType.VNET_LOCAL
    assert next_hop(index, "2600::1").next_hop_type == NextHopType.INTERNET
    assert next_hop(index, (Afi.IPV6, ip("2001:db8::1"))).next_hop_ips == (hop,)


def test_no_matching_route_is_a_drop() -> None:
    v4only = VirtualNetwork(name="v4", region="r", address_spaces=(P("10.1.0.0/16"),))
    index = compile_routes(compute_effective_routes(vnet=v4only))
    decision = next_hop(index, "2001:db8::1")
    assert decision.prefix is None
    assert decision.dropped
    assert decision.next_hop_texts() == []
    assert "no route" in decision.reason


def test_bad_destinations_are_rejected() -> None:
    index = compile_routes([])
    with pytest.raises(ValueError, match="invalid IP address"):
        next_hop(index, "10.1.300.1")
    with pytest.raises(ValueError, match="destination_ip: unknown address family 9"):
        next_hop(index, (9, 1))


def test_two_active_routes_for_one_prefix_are_rejected() -> None:
    route = EffectiveRoute(
        prefix=P("10.0.0.0/8"),
        source=RouteSource.DEFAULT,
        state=RouteState.ACTIVE,
        next_hop_type=NextHopType.NONE,
    )
    with pytest.raises(ValueError, match=r"two Active routes for 10\.0\.0\.0/8"):
        compile_routes([route, route])


@st.composite
def bgp_routes(draw: st.DrawFn) -> BgpRoute:
    length = draw(st.integers(0, 32))
    value = draw(st.integers(0, (1 << 32) - 1)) >> (32 - length) << (32 - length)
    return BgpRoute(prefix=Prefix(Afi.IPV4, value, length), next_hops=(NVA1,))


@settings(max_examples=100, deadline=None)
@given(routes=st.lists(bgp_routes(), max_size=30), address=st.integers(0, (1 << 32) - 1))
def test_lookup_equals_brute_force_over_active_routes(routes: list[BgpRoute], address: int) -> None:
    effective = compute_effective_routes(vnet=VNET, bgp_routes=routes)
    decision = compile_routes(effective).lookup(Afi.IPV4, address)
    matching = [
        r
        for r in effective
        if r.state == RouteState.ACTIVE and r.prefix.contains_address(Afi.IPV4, address)
    ]
    best = max(matching, key=lambda r: r.prefix.length)  # 0.0.0.0/0 always matches
    assert decision.prefix == best.prefix
    assert decision.source == best.source
    # Inside the VNet the answer is always local, whatever BGP says (spec §2 exception).
    if P("10.1.0.0/16").contains_address(Afi.IPV4, address):
        assert decision.next_hop_type == NextHopType.VNET_LOCAL


def test_pick_spreads_flows_over_ecmp_next_hops() -> None:
    index = index_for([BgpRoute(prefix=P("0.0.0.0/0"), next_hops=(NVA1, NVA2))])
    decision = next_hop(index, "8.8.8.8")
    assert [decision.pick(h) for h in range(4)] == [NVA1, NVA2, NVA1, NVA2]
    assert next_hop(index, "10.1.0.9").pick(7) is None  # VnetLocal has no next hop IP

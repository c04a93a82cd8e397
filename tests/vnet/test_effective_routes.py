"""Route selection into Active/Invalid effective routes (route-server-spec §2)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nexthop.net.prefix import Afi, Prefix, parse_address, parse_prefix
from nexthop.vnet import (
    BgpRoute,
    EffectiveRoute,
    NextHopType,
    Route,
    RouteSource,
    RouteState,
    RouteTable,
    VirtualNetwork,
    compute_effective_routes,
    merge_bgp_routes,
    to_az_json,
)

P = parse_prefix
VNET = VirtualNetwork(name="hub", region="r", address_spaces=(P("10.1.0.0/16"),))
NVA1 = parse_address("10.1.2.4")[1]
NVA2 = parse_address("10.1.2.5")[1]


def bgp(prefix: str, *hops: int) -> BgpRoute:
    return BgpRoute(prefix=P(prefix), next_hops=hops or (NVA1,))


def rows(routes: list[EffectiveRoute], prefix: str) -> list[tuple[str, str, str]]:
    return [
        (str(r.source), str(r.state), str(r.next_hop_type)) for r in routes if r.prefix == P(prefix)
    ]


def udr(name: str, prefix: str, hop: NextHopType = NextHopType.NONE) -> Route:
    if hop == NextHopType.VIRTUAL_APPLIANCE:
        return Route(name=name, address_prefix=P(prefix), next_hop_type=hop, next_hop_ip=NVA2)
    return Route(name=name, address_prefix=P(prefix), next_hop_type=hop)


def test_bgp_beats_system_route_for_the_same_prefix() -> None:
    routes = compute_effective_routes(vnet=VNET, bgp_routes=[bgp("0.0.0.0/0"), bgp("10.0.0.0/8")])
    assert rows(routes, "0.0.0.0/0") == [
        ("Default", "Invalid", "Internet"),
        ("VirtualNetworkGateway", "Active", "VirtualNetworkGateway"),
    ]
    assert rows(routes, "10.0.0.0/8") == [
        ("Default", "Invalid", "None"),
        ("VirtualNetworkGateway", "Active", "VirtualNetworkGateway"),
    ]
    invalid = next(r for r in routes if r.prefix == P("0.0.0.0/0") and r.state == "Invalid")
    assert invalid.overridden_by == P("0.0.0.0/0")
    assert "BGP route has the same prefix" in invalid.reason


def test_udr_beats_bgp_and_system_for_the_same_prefix_and_both_stay_listed() -> None:
    table = RouteTable(
        name="rt", region="r", routes=(udr("fw", "0.0.0.0/0", NextHopType.VIRTUAL_APPLIANCE),)
    )
    routes = compute_effective_routes(vnet=VNET, route_table=table, bgp_routes=[bgp("0.0.0.0/0")])
    assert rows(routes, "0.0.0.0/0") == [
        ("Default", "Invalid", "Internet"),
        ("VirtualNetworkGateway", "Invalid", "VirtualNetworkGateway"),
        ("User", "Active", "VirtualAppliance"),
    ]
    bgp_row = next(r for r in routes if r.source == RouteSource.VIRTUAL_NETWORK_GATEWAY)
    assert "user route 'fw'" in bgp_row.reason
    user_row = next(r for r in routes if r.source == RouteSource.USER)
    assert user_row.name == "fw"
    assert user_row.next_hop_ips == (NVA2,)


def test_udr_replaces_vnetlocal_for_the_same_prefix() -> None:
    table = RouteTable(
        name="rt",
        region="r",
        routes=(udr("inspect", "10.1.0.0/16", NextHopType.VIRTUAL_APPLIANCE),),
    )
    routes = compute_effective_routes(vnet=VNET, route_table=table)
    assert rows(routes, "10.1.0.0/16") == [
        ("Default", "Invalid", "VnetLocal"),
        ("User", "Active", "VirtualAppliance"),
    ]


def test_vnet_system_route_beats_more_specific_and_equal_bgp_routes() -> None:
    routes = compute_effective_routes(
        vnet=VNET, bgp_routes=[bgp("10.1.5.0/24"), bgp("10.1.0.0/16"), bgp("10.0.0.0/8")]
    )
    assert rows(routes, "10.1.5.0/24") == [
        ("VirtualNetworkGateway", "Invalid", "VirtualNetworkGateway")
    ]
    assert rows(routes, "10.1.0.0/16") == [
        ("Default", "Active", "VnetLocal"),
        ("VirtualNetworkGateway", "Invalid", "VirtualNetworkGateway"),
    ]
    inner = next(r for r in routes if r.prefix == P("10.1.5.0/24"))
    assert inner.overridden_by == P("10.1.0.0/16")
    assert "preferred even over more specific BGP routes" in inner.reason
    # A supernet of the VNet is not affected by the exception.
    assert ("VirtualNetworkGateway", "Active", "VirtualNetworkGateway") in rows(
        routes, "10.0.0.0/8"
    )


def test_peering_system_route_beats_more_specific_bgp_route() -> None:
    spoke = VirtualNetwork(name="spoke", region="r", address_spaces=(P("10.2.0.0/16"),))
    routes = compute_effective_routes(
        vnet=VNET, peered_vnets=[spoke], bgp_routes=[bgp("10.2.3.0/24")]
    )
    assert rows(routes, "10.2.0.0/16") == [("Default", "Active", "VNetPeering")]
    assert rows(routes, "10.2.3.0/24") == [
        ("VirtualNetworkGateway", "Invalid", "VirtualNetworkGateway")
    ]


def test_more_specific_udr_inside_the_vnet_stays_active() -> None:
    table = RouteTable(
        name="rt", region="r", routes=(udr("sub", "10.1.5.0/24", NextHopType.VIRTUAL_APPLIANCE),)
    )
    routes = compute_effective_routes(vnet=VNET, route_table=table)
    assert rows(routes, "10.1.5.0/24") == [("User", "Active", "VirtualAppliance")]
    assert rows(routes, "10.1.0.0/16") == [("Default", "Active", "VnetLocal")]


def test_disable_bgp_route_propagation_drops_bgp_routes_and_flags_every_row() -> None:
    table = RouteTable(name="rt", region="r", disable_bgp_route_propagation=True)
    routes = compute_effective_routes(vnet=VNET, route_table=table, bgp_routes=[bgp("0.0.0.0/0")])
    assert all(r.source != RouteSource.VIRTUAL_NETWORK_GATEWAY for r in routes)
    assert rows(routes, "0.0.0.0/0") == [("Default", "Active", "Internet")]
    assert all(r.disable_bgp_route_propagation for r in routes)


def test_ecmp_next_hops_are_one_route_and_one_json_row_each() -> None:
    routes = compute_effective_routes(vnet=VNET, bgp_routes=[bgp("192.0.2.0/24", NVA1, NVA2)])
    row = next(r for r in routes if r.prefix == P("192.0.2.0/24"))
    assert row.next_hop_ips == (NVA1, NVA2)
    assert row.state == RouteState.ACTIVE
    json_rows = [r for r in to_az_json(routes)["value"] if r["addressPrefix"] == ["192.0.2.0/24"]]
    assert [r["nextHopIpAddress"] for r in json_rows] == [["10.1.2.4"], ["10.1.2.5"]]
    assert all(r["state"] == "Active" for r in json_rows)


def test_repeated_bgp_prefixes_merge_their_next_hops() -> None:
    merged = merge_bgp_routes(
        [
            bgp("192.0.2.0/24", NVA1),
            bgp("192.0.2.0/24", NVA2, NVA1),
            bgp("198.51.100.0/24", NVA1, NVA1),
        ]
    )
    assert merged == {P("192.0.2.0/24"): (NVA1, NVA2), P("198.51.100.0/24"): (NVA1,)}


def test_az_json_shape_matches_show_effective_route_table() -> None:
    table = RouteTable(
        name="rt", region="r", routes=(udr("fw", "0.0.0.0/0", NextHopType.VIRTUAL_APPLIANCE),)
    )
    document = to_az_json(compute_effective_routes(vnet=VNET, route_table=table))
    assert set(document) == {"value"}
    assert document["value"][0] == {
        "disableBgpRoutePropagation": False,
        "source": "Default",
        "state": "Active",
        "addressPrefix": ["10.1.0.0/16"],
        "nextHopType": "VnetLocal",
        "nextHopIpAddress": [],
        "name": None,
    }
    assert document["value"][-1] == {
        "disableBgpRoutePropagation": False,
        "source": "User",
        "state": "Active",
        "addressPrefix": ["0.0.0.0/0"],
        "nextHopType": "VirtualAppliance",
        "nextHopIpAddress": ["10.1.2.5"],
        "name": "fw",
    }
    internet = next(r for r in document["value"] if r["nextHopType"] == "Internet")
    assert internet["state"] == "Invalid"


def test_ipv6_bgp_and_system_routes() -> None:
    dual = VirtualNetwork(
        name="dual", region="r", address_spaces=(P("10.1.0.0/16"), P("fd00:1::/48"))
    )
    hop = parse_address("fd00:1:0:2::4")[1]
    routes = compute_effective_routes(
        vnet=dual,
        bgp_routes=[
            BgpRoute(prefix=P("2001:db8::/32"), next_hops=(hop,)),
            BgpRoute(prefix=P("fd00:1:0:9::/64"), next_hops=(hop,)),
        ],
    )
    assert rows(routes, "2001:db8::/32") == [
        ("VirtualNetworkGateway", "Active", "VirtualNetworkGateway")
    ]
    assert rows(routes, "fd00:1:0:9::/64") == [
        ("VirtualNetworkGateway", "Invalid", "VirtualNetworkGateway")
    ]
    v6 = next(r for r in to_az_json(routes)["value"] if r["addressPrefix"] == ["2001:db8::/32"])
    assert v6["nextHopIpAddress"] == ["fd00:1:0:2::4"]


def test_peered_reserved_range_beats_the_none_route_for_the_same_prefix() -> None:
    local = VirtualNetwork(name="v", region="r", address_spaces=(P("192.0.2.0/24"),))
    peer = VirtualNetwork(name="big", region="r", address_spaces=(P("10.0.0.0/8"),))
    routes = compute_effective_routes(vnet=local, peered_vnets=[peer])
    assert rows(routes, "10.0.0.0/8") == [
        ("Default", "Active", "VNetPeering"),
        ("Default", "Invalid", "None"),
    ]


# -- properties --------------------------------------------------------------------

SOURCE_RANK = {RouteSource.USER: 0, RouteSource.VIRTUAL_NETWORK_GATEWAY: 1, RouteSource.DEFAULT: 2}
PEER = VirtualNetwork(name="peer", region="r", address_spaces=(P("10.2.0.0/16"),))


@st.composite
def prefixes_near_the_vnet(draw: st.DrawFn) -> Prefix:
    """IPv4 prefixes often inside, equal to or around 10.1.0.0/16 and 10.2.0.0/16."""
    base = draw(st.sampled_from(["10.1.0.0", "10.2.0.0", "10.0.0.0", "192.0.2.0", "0.0.0.0"]))
    length = draw(st.integers(0, 32))
    value = parse_address(base)[1] | draw(st.integers(0, (1 << 18) - 1))
    shift = 32 - length
    return Prefix(Afi.IPV4, value >> shift << shift, length)


@settings(max_examples=150, deadline=None)
@given(
    bgp_prefixes=st.lists(prefixes_near_the_vnet(), max_size=15),
    udr_prefixes=st.lists(prefixes_near_the_vnet(), max_size=5, unique=True),
    disable=st.booleans(),
)
def test_selection_invariants(
    bgp_prefixes: list[Prefix], udr_prefixes: list[Prefix], disable: bool
) -> None:
    table = RouteTable(
        name="rt",
        region="r",
        routes=tuple(
            Route(name=f"u{i}", address_prefix=prefix, next_hop_type=NextHopType.NONE)
            for i, prefix in enumerate(udr_prefixes)
        ),
        disable_bgp_route_propagation=disable,
    )
    routes = compute_effective_routes(
        vnet=VNET,
        peered_vnets=[PEER],
        route_table=table,
        bgp_routes=[BgpRoute(prefix=prefix, next_hops=(NVA1,)) for prefix in bgp_prefixes],
    )
    system_count = len(compute_effective_routes(vnet=VNET, peered_vnets=[PEER]))
    bgp_count = 0 if disable else len(set(bgp_prefixes))
    # Every candidate is listed once, overridden or not.
    assert len(routes) == system_count + bgp_count + len(udr_prefixes)
    guards = [P("10.1.0.0/16"), P("10.2.0.0/16")]
    by_prefix: dict[Prefix, list[EffectiveRoute]] = {}
    for route in routes:
        by_prefix.setdefault(route.prefix, []).append(route)
        if route.source == RouteSource.VIRTUAL_NETWORK_GATEWAY:
            assert not disable
            if any(guard.contains(route.prefix) for guard in guards):
                assert route.state == RouteState.INVALID  # VNet/peering exception
        if route.state == RouteState.INVALID:
            assert route.overridden_by is not None
            assert route.reason
    for prefix, group in by_prefix.items():
        active = [r for r in group if r.state == RouteState.ACTIVE]
        assert len(active) <= 1, prefix
        eligible = [
            r
            for r in group
            if not (
                r.source == RouteSource.VIRTUAL_NETWORK_GATEWAY
                and any(guard.contains(prefix) for guard in guards)
            )
        ]
        if eligible:
            best = min(SOURCE_RANK[r.source] for r in eligible)
            assert len(active) == 1
            assert SOURCE_RANK[active[0].source] == best
        else:
            assert active == []

"""Fabric: cross-object validation (atomic), BGP scope through peerings, caching."""

from __future__ import annotations

import copy

import pytest

from nexthop.net.prefix import parse_address, parse_prefix
from nexthop.vnet import (
    BgpRoute,
    Fabric,
    NextHopType,
    Nic,
    Region,
    Route,
    RouteSource,
    RouteTable,
    Subnet,
    VirtualNetwork,
    VnetPeering,
    effective_routes,
    filter_injectable,
)

P = parse_prefix
REGION = "westeurope"


def ip(text: str) -> int:
    return parse_address(text)[1]


NVA = ip("10.0.2.4")
NVA_B = ip("10.0.2.5")


def vnet(name: str, *spaces: str, region: str = REGION) -> VirtualNetwork:
    return VirtualNetwork(name=name, region=region, address_spaces=tuple(P(s) for s in spaces))


def hub_and_spokes() -> Fabric:
    """hub 10.0/16 with a route server; spoke1 uses it (gateway transit); spoke2 does not."""
    fabric = Fabric()
    fabric.add_region(Region(name=REGION))
    fabric.add_vnet(vnet("hub", "10.0.0.0/16"))
    fabric.add_vnet(vnet("spoke1", "10.1.0.0/16"))
    fabric.add_vnet(vnet("spoke2", "10.2.0.0/16"))
    fabric.add_subnet(Subnet(vnet="hub", name="RouteServerSubnet", prefix=P("10.0.1.0/26")))
    fabric.add_subnet(Subnet(vnet="hub", name="nva", prefix=P("10.0.2.0/24")))
    fabric.add_subnet(Subnet(vnet="spoke1", name="vms", prefix=P("10.1.0.0/24")))
    fabric.add_subnet(Subnet(vnet="spoke2", name="vms", prefix=P("10.2.0.0/24")))
    fabric.add_nic(Nic(name="nva1", vnet="hub", subnet="nva", private_ip=NVA, ip_forwarding=True))
    fabric.add_nic(Nic(name="vm1", vnet="spoke1", subnet="vms", private_ip=ip("10.1.0.4")))
    fabric.add_nic(Nic(name="vm2", vnet="spoke2", subnet="vms", private_ip=ip("10.2.0.4")))
    fabric.add_peering(VnetPeering(local="hub", remote="spoke1", allow_gateway_transit=True))
    fabric.add_peering(VnetPeering(local="spoke1", remote="hub", use_remote_gateways=True))
    fabric.add_peering(VnetPeering(local="hub", remote="spoke2", allow_gateway_transit=True))
    fabric.add_peering(VnetPeering(local="spoke2", remote="hub"))
    return fabric


def gateway_rows(fabric: Fabric, nic: str) -> list[tuple[str, str, tuple[int, ...]]]:
    return [
        (str(r.prefix), str(r.state), r.next_hop_ips)
        for r in fabric.effective_routes(nic)
        if r.source == RouteSource.VIRTUAL_NETWORK_GATEWAY
    ]


def test_bgp_routes_reach_the_hub_and_gateway_transit_spokes_only() -> None:
    fabric = hub_and_spokes()
    fabric.set_bgp_routes("hub", [BgpRoute(prefix=P("0.0.0.0/0"), next_hops=(NVA, NVA_B))])
    expected = [("0.0.0.0/0", "Active", (NVA, NVA_B))]
    assert gateway_rows(fabric, "nva1") == expected
    assert gateway_rows(fabric, "vm1") == expected
    assert gateway_rows(fabric, "vm2") == []  # no "use remote gateway" on spoke2's link
    assert fabric.lookup("vm1", "8.8.8.8").next_hop_ips == (NVA, NVA_B)
    assert fabric.lookup("vm2", "8.8.8.8").next_hop_type == NextHopType.INTERNET


def test_route_server_does_not_inject_vnet_or_peered_ranges_but_allows_supernets() -> None:
    fabric = hub_and_spokes()
    fabric.set_bgp_routes(
        "hub",
        [
            BgpRoute(prefix=P("10.0.5.0/24"), next_hops=(NVA,)),  # inside the hub
            BgpRoute(prefix=P("10.1.0.0/16"), next_hops=(NVA,)),  # = spoke1 (transit)
            BgpRoute(prefix=P("10.0.0.0/8"), next_hops=(NVA,)),  # supernet: allowed
        ],
    )
    assert gateway_rows(fabric, "vm1") == [("10.0.0.0/8", "Active", (NVA,))]
    assert fabric.lookup("vm1", "10.0.2.4").next_hop_type == NextHopType.VNET_PEERING
    assert fabric.lookup("vm1", "10.2.0.4").next_hop_ips == (NVA,)  # spoke-to-spoke via NVA
    assert fabric.lookup("vm1", "10.1.0.9").next_hop_type == NextHopType.VNET_LOCAL
    assert filter_injectable(fabric.bgp_routes("hub"), [P("10.0.0.0/16")]) == [
        BgpRoute(prefix=P("10.1.0.0/16"), next_hops=(NVA,)),
        BgpRoute(prefix=P("10.0.0.0/8"), next_hops=(NVA,)),
    ]
    assert filter_injectable(fabric.bgp_routes("hub"), []) == list(fabric.bgp_routes("hub"))


def test_peering_routes_need_both_directions() -> None:
    fabric = hub_and_spokes()
    fabric.add_vnet(vnet("spoke3", "10.3.0.0/16"))
    fabric.add_subnet(Subnet(vnet="spoke3", name="vms", prefix=P("10.3.0.0/24")))
    fabric.add_nic(Nic(name="vm3", vnet="spoke3", subnet="vms", private_ip=ip("10.3.0.4")))
    fabric.add_peering(VnetPeering(local="spoke3", remote="hub"))
    assert fabric.lookup("vm3", "10.0.2.4").next_hop_type == NextHopType.NONE  # 10/8 drop
    fabric.add_peering(VnetPeering(local="hub", remote="spoke3"))
    assert fabric.lookup("vm3", "10.0.2.4").next_hop_type == NextHopType.VNET_PEERING
    assert fabric.lookup("nva1", "10.3.0.4").next_hop_type == NextHopType.VNET_PEERING
    fabric.remove_peering("hub", "spoke3")
    assert fabric.lookup("vm3", "10.0.2.4").next_hop_type == NextHopType.NONE


def test_disable_bgp_route_propagation_on_the_subnet_route_table() -> None:
    fabric = hub_and_spokes()
    fabric.set_bgp_routes("hub", [BgpRoute(prefix=P("0.0.0.0/0"), next_hops=(NVA,))])
    assert fabric.lookup("vm1", "8.8.8.8").next_hop_ips == (NVA,)
    fabric.add_route_table(RouteTable(name="rt", region=REGION, disable_bgp_route_propagation=True))
    fabric.associate_route_table("spoke1", "vms", "rt")
    assert gateway_rows(fabric, "vm1") == []
    assert fabric.lookup("vm1", "8.8.8.8").next_hop_type == NextHopType.INTERNET
    rows = fabric.effective_route_table("vm1")["value"]
    assert all(row["disableBgpRoutePropagation"] is True for row in rows)
    fabric.associate_route_table("spoke1", "vms", None)
    assert fabric.lookup("vm1", "8.8.8.8").next_hop_ips == (NVA,)


def test_udr_overrides_bgp_and_changes_invalidate_the_cache() -> None:
    fabric = hub_and_spokes()
    fabric.set_bgp_routes("hub", [BgpRoute(prefix=P("0.0.0.0/0"), next_hops=(NVA,))])
    fabric.add_route_table(RouteTable(name="rt", region=REGION))
    fabric.associate_route_table("spoke1", "vms", "rt")
    assert fabric.lookup("vm1", "8.8.8.8").source == RouteSource.VIRTUAL_NETWORK_GATEWAY
    udr = Route(
        name="to-fw",
        address_prefix=P("0.0.0.0/0"),
        next_hop_type=NextHopType.VIRTUAL_APPLIANCE,
        next_hop_ip=ip("10.0.2.10"),
    )
    fabric.replace_route_table(RouteTable(name="rt", region=REGION, routes=(udr,)))
    decision = fabric.lookup("vm1", "8.8.8.8")
    assert decision.source == RouteSource.USER
    assert decision.route_name == "to-fw"
    states = {
        (str(r.source), str(r.state))
        for r in fabric.effective_routes("vm1")
        if r.prefix == P("0.0.0.0/0")
    }
    assert states == {
        ("Default", "Invalid"),
        ("VirtualNetworkGateway", "Invalid"),
        ("User", "Active"),
    }
    # New BGP routes are visible at the next lookup (cache invalidated).
    fabric.set_bgp_routes("hub", [BgpRoute(prefix=P("198.51.100.0/24"), next_hops=(NVA_B,))])
    assert fabric.lookup("vm1", "198.51.100.1").next_hop_ips == (NVA_B,)
    assert fabric.lookup("vm1", "8.8.8.8").source == RouteSource.USER


def test_free_function_matches_the_fabric() -> None:
    fabric = hub_and_spokes()
    routes = [BgpRoute(prefix=P("192.0.2.0/24"), next_hops=(NVA,))]
    fabric.set_bgp_routes("hub", routes)
    assert effective_routes(fabric.nic("vm1"), fabric, routes) == fabric.effective_routes("vm1")


def test_ipv6_nic_and_lookup() -> None:
    fabric = Fabric()
    fabric.add_region(Region(name=REGION))
    fabric.add_vnet(vnet("dual", "10.5.0.0/16", "fd00:5::/48"))
    fabric.add_subnet(Subnet(vnet="dual", name="v6", prefix=P("fd00:5:0:1::/64")))
    fabric.add_nic(Nic(name="n6", vnet="dual", subnet="v6", private_ip=ip("fd00:5:0:1::4")))
    hop = ip("fd00:5:0:1::10")
    fabric.set_bgp_routes("dual", [BgpRoute(prefix=P("2001:db8::/32"), next_hops=(hop,))])
    assert fabric.lookup("n6", "2001:db8::1").next_hop_ips == (hop,)
    assert fabric.lookup("n6", "fd00:5:0:2::1").next_hop_type == NextHopType.VNET_LOCAL
    assert fabric.nic_by_ip("dual", "fd00:5:0:1::4") == fabric.nic("n6")
    assert fabric.nic_by_ip("dual", "fd00:5:0:1::5") is None


# -- validation: every rejected change names the field and leaves the fabric untouched --


def snapshot(fabric: Fabric) -> dict[str, object]:
    return copy.deepcopy(
        {
            "regions": fabric.regions(),
            "vnets": fabric.vnets(),
            "subnets": fabric.subnets(),
            "nics": fabric.nics(),
            "peerings": fabric.peerings(),
            "tables": fabric.route_tables(),
            "bgp": fabric.bgp_routes("hub"),
        }
    )


REJECTED = [
    (
        "subnet outside the address space",
        lambda f: f.add_subnet(Subnet(vnet="hub", name="x", prefix=P("10.9.0.0/24"))),
        "prefix",
        "outside the address space (10.0.0.0/16)",
    ),
    (
        "overlapping subnets",
        lambda f: f.add_subnet(Subnet(vnet="hub", name="x", prefix=P("10.0.2.128/25"))),
        "prefix",
        "overlaps subnet 'nva'",
    ),
    (
        "duplicate subnet name",
        lambda f: f.add_subnet(Subnet(vnet="hub", name="nva", prefix=P("10.0.9.0/24"))),
        "name",
        "already exists",
    ),
    (
        "subnet in unknown vnet",
        lambda f: f.add_subnet(Subnet(vnet="nope", name="x", prefix=P("10.0.9.0/24"))),
        "vnet",
        "unknown virtual network 'nope'",
    ),
    (
        "NIC IP outside its subnet",
        lambda f: f.add_nic(Nic(name="x", vnet="hub", subnet="nva", private_ip=ip("10.0.3.4"))),
        "private_ip",
        "10.0.3.4 is outside subnet 'nva' (10.0.2.0/24)",
    ),
    (
        "NIC IP of the wrong family",
        lambda f: f.add_nic(Nic(name="x", vnet="hub", subnet="nva", private_ip=ip("fd00::4"))),
        "private_ip",
        "is outside subnet 'nva'",
    ),
    (
        "NIC IP reserved by Azure",
        lambda f: f.add_nic(Nic(name="x", vnet="hub", subnet="nva", private_ip=ip("10.0.2.1"))),
        "private_ip",
        "reserved by Azure",
    ),
    (
        "NIC IP already used",
        lambda f: f.add_nic(Nic(name="x", vnet="hub", subnet="nva", private_ip=NVA)),
        "private_ip",
        "already used by NIC 'nva1'",
    ),
    (
        "duplicate NIC",
        lambda f: f.add_nic(Nic(name="nva1", vnet="hub", subnet="nva", private_ip=NVA_B)),
        "name",
        "already exists",
    ),
    (
        "overlapping peered address spaces",
        lambda f: (
            f.add_vnet(vnet("clash", "10.0.128.0/17")),
            f.add_peering(VnetPeering(local="spoke1", remote="clash")),
        ),
        "remote",
        "overlaps 10.0.0.0/16 of peered virtual network 'hub'",
    ),
    (
        "peering overlaps a VNet already peered with the hub",
        lambda f: (
            f.add_vnet(vnet("clash", "10.1.128.0/17")),
            f.add_peering(VnetPeering(local="hub", remote="clash")),
        ),
        "remote",
        "overlaps 10.1.0.0/16 of peered virtual network 'spoke1'",
    ),
    (
        "second use_remote_gateways",
        lambda f: (
            f.add_vnet(vnet("hub2", "10.8.0.0/16")),
            f.add_peering(VnetPeering(local="spoke1", remote="hub2", use_remote_gateways=True)),
        ),
        "use_remote_gateways",
        "only one is allowed",
    ),
    (
        "vnet in unknown region",
        lambda f: f.add_vnet(vnet("far", "10.9.0.0/16", region="mars")),
        "region",
        "unknown region 'mars'",
    ),
    (
        "route table of another region",
        lambda f: (
            f.add_region(Region(name="northeurope")),
            f.add_route_table(RouteTable(name="rt-ne", region="northeurope")),
            f.associate_route_table("hub", "nva", "rt-ne"),
        ),
        "route_table",
        "is in region 'northeurope'",
    ),
    (
        "route table on RouteServerSubnet",
        lambda f: (
            f.add_route_table(RouteTable(name="rt", region=REGION)),
            f.associate_route_table("hub", "RouteServerSubnet", "rt"),
        ),
        "route_table",
        "RouteServerSubnet cannot have a route table",
    ),
    (
        "remove a subnet with NICs",
        lambda f: f.remove_subnet("hub", "nva"),
        "nics",
        "still used by nva1",
    ),
    (
        "remove a vnet with subnets",
        lambda f: f.remove_vnet("spoke2"),
        "subnets",
        "remove its subnets first",
    ),
]


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [case[1:] for case in REJECTED],
    ids=[case[0] for case in REJECTED],
)
def test_rejected_changes_name_the_field(change: object, field: str, fragment: str) -> None:
    fabric = hub_and_spokes()
    fabric.set_bgp_routes("hub", [BgpRoute(prefix=P("0.0.0.0/0"), next_hops=(NVA,))])
    assert callable(change)
    with pytest.raises(ValueError, match=field) as info:
        change(fabric)
    assert f": {field}: " in str(info.value)
    assert fragment in str(info.value)


def test_rejected_change_leaves_the_fabric_untouched() -> None:
    fabric = hub_and_spokes()
    fabric.set_bgp_routes("hub", [BgpRoute(prefix=P("0.0.0.0/0"), next_hops=(NVA,))])
    before = snapshot(fabric)
    routes_before = fabric.effective_routes("vm1")
    for _, change, _, _ in REJECTED[:9]:  # single-step changes
        with pytest.raises(ValueError):
            change(fabric)
        assert snapshot(fabric) == before
    assert fabric.effective_routes("vm1") == routes_before
    fabric.remove_nic("vm2")
    fabric.remove_subnet("spoke2", "vms")
    with pytest.raises(ValueError, match="peerings: remove its peerings first"):
        fabric.remove_vnet("spoke2")
    assert fabric.vnet("spoke2").name == "spoke2"


def test_unknown_names_raise_key_error() -> None:
    fabric = hub_and_spokes()
    with pytest.raises(KeyError, match="unknown NIC 'ghost'"):
        fabric.lookup("ghost", "10.0.0.1")
    with pytest.raises(KeyError, match="unknown virtual network 'ghost'"):
        fabric.set_bgp_routes("ghost", [])
    with pytest.raises(KeyError, match="unknown subnet hub/ghost"):
        fabric.associate_route_table("hub", "ghost", None)
    with pytest.raises(KeyError, match="unknown peering"):
        fabric.remove_peering("spoke1", "spoke2")


def test_route_table_and_region_lifecycle() -> None:
    fabric = hub_and_spokes()
    fabric.add_route_table(RouteTable(name="rt", region=REGION))
    fabric.associate_route_table("spoke1", "vms", "rt")
    with pytest.raises(ValueError, match=r"subnets: still associated with spoke1/vms"):
        fabric.remove_route_table("rt")
    with pytest.raises(ValueError, match="region: cannot change the region"):
        fabric.replace_route_table(RouteTable(name="rt", region="other"))
    with pytest.raises(ValueError, match="still used by"):
        fabric.remove_region(REGION)
    fabric.associate_route_table("spoke1", "vms", None)
    fabric.remove_route_table("rt")
    assert fabric.route_tables() == []


def test_removal_in_order_empties_the_fabric() -> None:
    fabric = hub_and_spokes()
    for nic in ("nva1", "vm1", "vm2"):
        fabric.remove_nic(nic)
    for peering in fabric.peerings():
        fabric.remove_peering(peering.local, peering.remote)
    for subnet in fabric.subnets():
        fabric.remove_subnet(subnet.vnet, subnet.name)
    for net in ("hub", "spoke1", "spoke2"):
        fabric.remove_vnet(net)
    fabric.remove_region(REGION)
    assert fabric.vnets() == []
    assert fabric.regions() == []


def test_more_rejections_name_the_field() -> None:
    fabric = hub_and_spokes()
    cases = [
        (lambda: fabric.add_region(Region(name=REGION)), "name: already exists"),
        (lambda: fabric.add_vnet(vnet("hub", "10.50.0.0/16")), "name: already exists"),
        (
            lambda: fabric.add_subnet(
                Subnet(vnet="hub", name="x", prefix=P("10.0.9.0/24"), route_table="nope")
            ),
            "route_table: unknown route table 'nope'",
        ),
        (
            lambda: fabric.add_nic(Nic(name="x", vnet="hub", subnet="nope", private_ip=NVA_B)),
            "subnet: unknown subnet hub/nope",
        ),
        (
            lambda: fabric.add_route_table(RouteTable(name="rt", region="mars")),
            "region: unknown region 'mars'",
        ),
        (
            lambda: fabric.add_peering(VnetPeering(local="hub", remote="ghost")),
            "remote: unknown virtual network 'ghost'",
        ),
        (
            lambda: fabric.add_peering(VnetPeering(local="hub", remote="spoke1")),
            "remote: this peering already exists",
        ),
        (
            lambda: fabric.set_bgp_routes("hub", [(P("10.9.0.0/16"), (NVA,))]),  # type: ignore[list-item]
            "routes: not a BgpRoute",
        ),
    ]
    before = snapshot(fabric)
    for change, fragment in cases:
        with pytest.raises(ValueError, match=fragment.split(":")[0]) as info:
            change()
        assert fragment in str(info.value)
        assert snapshot(fabric) == before
    fabric.add_route_table(RouteTable(name="rt", region=REGION))
    with pytest.raises(ValueError, match="RouteTable 'rt': name: already exists"):
        fabric.add_route_table(RouteTable(name="rt", region=REGION))


def test_use_remote_gateways_cannot_point_both_ways() -> None:
    fabric = hub_and_spokes()
    fabric.add_vnet(vnet("a", "10.60.0.0/16"))
    fabric.add_vnet(vnet("b", "10.61.0.0/16"))
    fabric.add_peering(VnetPeering(local="a", remote="b", use_remote_gateways=True))
    with pytest.raises(ValueError, match="use_remote_gateways: the reverse link already uses"):
        fabric.add_peering(VnetPeering(local="b", remote="a", use_remote_gateways=True))
    assert [p.local for p in fabric.peerings() if p.remote == "a"] == []


def test_gateway_subnet_cannot_disable_bgp_route_propagation() -> None:
    fabric = hub_and_spokes()
    fabric.add_subnet(Subnet(vnet="hub", name="GatewaySubnet", prefix=P("10.0.3.0/27")))
    fabric.add_route_table(RouteTable(name="gw", region=REGION))
    fabric.add_route_table(
        RouteTable(name="off", region=REGION, disable_bgp_route_propagation=True)
    )
    with pytest.raises(ValueError, match="route_table: route table 'off' disables BGP"):
        fabric.associate_route_table("hub", "GatewaySubnet", "off")
    fabric.associate_route_table("hub", "GatewaySubnet", "gw")
    with pytest.raises(ValueError, match="GatewaySubnet does not support"):
        fabric.replace_route_table(
            RouteTable(name="gw", region=REGION, disable_bgp_route_propagation=True)
        )
    assert not fabric.route_table("gw").disable_bgp_route_propagation
    assert fabric.subnet("hub", "GatewaySubnet").route_table == "gw"


def test_cache_never_serves_stale_routes() -> None:
    fabric = hub_and_spokes()
    udr = Route(name="r", address_prefix=P("192.0.2.0/24"), next_hop_type=NextHopType.NONE)
    steps = [
        lambda: fabric.set_bgp_routes("hub", [BgpRoute(prefix=P("0.0.0.0/0"), next_hops=(NVA,))]),
        lambda: fabric.add_route_table(RouteTable(name="rt", region=REGION)),
        lambda: fabric.associate_route_table("spoke1", "vms", "rt"),
        lambda: fabric.replace_route_table(RouteTable(name="rt", region=REGION, routes=(udr,))),
        lambda: fabric.replace_route_table(
            RouteTable(name="rt", region=REGION, disable_bgp_route_propagation=True)
        ),
        lambda: fabric.associate_route_table("spoke1", "vms", None),
        lambda: fabric.remove_peering("spoke2", "hub"),
        lambda: fabric.add_peering(
            VnetPeering(local="spoke2", remote="hub", use_remote_gateways=True)
        ),
        lambda: fabric.set_bgp_routes("hub", [BgpRoute(prefix=P("10.2.0.0/16"), next_hops=(NVA,))]),
        lambda: fabric.remove_peering("spoke1", "hub"),
        lambda: fabric.set_bgp_routes(
            "spoke1", [BgpRoute(prefix=P("0.0.0.0/0"), next_hops=(NVA_B,))]
        ),
        lambda: fabric.set_bgp_routes("hub", []),
    ]
    for step in steps:
        for nic in fabric.nics():
            fabric.lookup(nic.name, "8.8.8.8")  # fill the cache
        step()
        for nic in fabric.nics():
            fresh = effective_routes(nic, fabric, fabric.programmed_bgp_routes(nic.vnet))
            table = fabric.subnet(nic.vnet, nic.subnet).route_table
            if table and fabric.route_table(table).disable_bgp_route_propagation:
                assert all(r.source != RouteSource.VIRTUAL_NETWORK_GATEWAY for r in fresh)
            assert fabric.effective_routes(nic.name) == fresh, nic.name

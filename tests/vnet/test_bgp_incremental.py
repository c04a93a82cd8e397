"""Incremental BGP programming of the fabric against the from-scratch reference.

The fabric indexes each VNet's BGP source per prefix (``bgp_routes_changed``);
``compute_effective_routes`` over ``programmed_bgp_routes`` (a full read of every
source) stays the reference for rows, pages and lookups.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexthop.net.prefix import Afi, Prefix, parse_address, parse_prefix
from nexthop.vnet import (
    EffectiveRoute,
    Fabric,
    LookupIndex,
    NextHopType,
    Nic,
    Region,
    Route,
    RouteSource,
    RouteState,
    RouteTable,
    Subnet,
    VirtualNetwork,
    VnetPeering,
    compute_effective_routes,
)

P = parse_prefix
REGION = "westeurope"


def ip(text: str) -> int:
    return parse_address(text)[1]


NVA = ip("10.0.2.4")
NVA_B = ip("10.0.2.5")
HOPS = [(NVA,), (NVA_B,), (NVA, NVA_B)]


class CountingSource:
    """A route server stand-in that counts how often the fabric reads it."""

    def __init__(self) -> None:
        self.routes: dict[Prefix, tuple[int, ...]] = {}
        self.single_reads = 0
        self.full_reads = 0

    def vnet_route(self, prefix: Prefix) -> tuple[int, ...]:
        self.single_reads += 1
        return self.routes.get(prefix, ())

    def vnet_routes(self) -> list[tuple[Prefix, tuple[int, ...]]]:
        self.full_reads += 1
        return sorted(self.routes.items())


def vnet(name: str, *spaces: str) -> VirtualNetwork:
    return VirtualNetwork(name=name, region=REGION, address_spaces=tuple(P(s) for s in spaces))


UDRS = (
    Route(
        name="web",
        address_prefix=P("198.51.100.0/24"),
        next_hop_type=NextHopType.VIRTUAL_APPLIANCE,
        next_hop_ip=ip("10.0.2.10"),
    ),
    Route(name="hub-drop", address_prefix=P("10.0.0.0/16"), next_hop_type=NextHopType.NONE),
)


def topology() -> tuple[Fabric, dict[str, CountingSource]]:
    """hub (route server) with spoke1 (gateway transit, its own source too, a route
    table with UDRs) and spoke2 (peered, no transit until a step adds it)."""
    fabric = Fabric()
    fabric.add_region(Region(name=REGION))
    fabric.add_vnet(vnet("hub", "10.0.0.0/16"))
    fabric.add_vnet(vnet("spoke1", "10.1.0.0/16"))
    fabric.add_vnet(vnet("spoke2", "10.2.0.0/16"))
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
    fabric.add_route_table(RouteTable(name="rt", region=REGION, routes=UDRS))
    fabric.associate_route_table("spoke1", "vms", "rt")
    sources = {"hub": CountingSource(), "spoke1": CountingSource()}
    for name, source in sources.items():
        fabric.attach_bgp_source(name, source)
    return fabric, sources


POOL = [
    P(text)
    for text in (
        "0.0.0.0/0",
        "10.0.0.0/8",
        "10.0.0.0/15",
        "10.0.0.0/16",
        "10.0.5.0/24",
        "10.1.0.0/16",
        "10.1.3.0/24",
        "10.2.0.0/16",
        "10.2.7.0/24",
        "100.64.0.0/10",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "192.168.1.0/24",
        "198.51.100.0/24",
        "198.51.100.128/25",
        "203.0.113.0/24",
    )
]
ADDRESSES = [
    ip(text)
    for text in (
        "8.8.8.8",
        "10.0.2.4",
        "10.0.5.9",
        "10.1.0.9",
        "10.1.3.3",
        "10.2.7.1",
        "10.2.0.4",
        "10.9.0.1",
        "100.64.1.1",
        "172.16.3.3",
        "192.168.1.1",
        "192.168.9.9",
        "198.51.100.1",
        "198.51.100.200",
        "203.0.113.5",
    )
]


def reference(fabric: Fabric, nic_name: str) -> list[EffectiveRoute]:
    nic = fabric.nic(nic_name)
    subnet = fabric.subnet(nic.vnet, nic.subnet)
    return compute_effective_routes(
        vnet=fabric.vnet(nic.vnet),
        peered_vnets=fabric.peered_vnets(nic.vnet),
        route_table=fabric.route_table(subnet.route_table) if subnet.route_table else None,
        bgp_routes=fabric.programmed_bgp_routes(nic.vnet),
    )


def assert_matches_reference(fabric: Fabric, space: Prefix, skip: int, top: int) -> None:
    for nic in fabric.nics():
        expected = reference(fabric, nic.name)
        assert fabric.effective_routes(nic.name) == expected, nic.name
        index = LookupIndex(expected)
        for address in ADDRESSES:
            assert fabric.lookup(nic.name, (Afi.IPV4, address)) == index.lookup(
                Afi.IPV4, address
            ), (nic.name, address)
        inside = [r for r in expected if space.contains(r.prefix)]
        page, total = fabric.effective_routes_page(nic.name, prefix=space, skip=skip, top=top)
        assert (page, total) == (inside[skip : skip + top], len(inside))
        page, total = fabric.effective_routes_page(nic.name, skip=skip, top=top)
        assert (page, total) == (expected[skip : skip + top], len(expected))


def toggle_transit(fabric: Fabric) -> None:
    """spoke2 starts or stops using the hub's route server (ranges change)."""
    link = fabric.peering("spoke2", "hub")
    fabric.remove_peering("spoke2", "hub")
    fabric.add_peering(
        VnetPeering(local="spoke2", remote="hub", use_remote_gateways=not link.use_remote_gateways)
    )


def toggle_propagation(fabric: Fabric) -> None:
    table = fabric.route_table("rt")
    fabric.replace_route_table(
        RouteTable(
            name="rt",
            region=REGION,
            routes=table.routes,
            disable_bgp_route_propagation=not table.disable_bgp_route_propagation,
        )
    )


step = st.one_of(
    st.tuples(
        st.just("set"),
        st.sampled_from(["hub", "spoke1"]),
        st.sampled_from(POOL),
        st.sampled_from(HOPS),
    ),
    st.tuples(st.just("withdraw"), st.sampled_from(["hub", "spoke1"]), st.sampled_from(POOL)),
    st.tuples(st.just("transit")),
    st.tuples(st.just("propagation")),
    st.tuples(st.just("check")),
)


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(step, max_size=40),
    space=st.sampled_from(POOL),
    skip=st.integers(0, 12),
    top=st.integers(0, 12),
)
def test_incremental_equals_from_scratch(
    steps: list[tuple[object, ...]], space: Prefix, skip: int, top: int
) -> None:
    fabric, sources = topology()
    for item in steps:
        match item:
            case ("set", str(name), Prefix() as prefix, tuple() as hops):
                sources[name].routes[prefix] = hops
                fabric.bgp_routes_changed(name, [prefix])
            case ("withdraw", str(name), Prefix() as prefix):
                sources[name].routes.pop(prefix, None)
                fabric.bgp_routes_changed(name, [prefix])
            case ("transit",):
                toggle_transit(fabric)
            case ("propagation",):
                toggle_propagation(fabric)
            case _:
                assert_matches_reference(fabric, space, skip, top)
    assert_matches_reference(fabric, space, skip, top)


def test_one_changed_prefix_reads_only_that_prefix() -> None:
    fabric, sources = topology()
    hub = sources["hub"]
    for n in range(1000):
        hub.routes[Prefix(Afi.IPV4, (203 << 24) | (n << 8), 24)] = (NVA,)
    fabric.bgp_routes_changed("hub", list(hub.routes))  # before the first read: no-op
    assert fabric.settle_bgp() == 0
    assert (hub.full_reads, hub.single_reads) == (1, 0)  # attached: read once in full
    assert fabric.lookup("vm1", "203.0.1.1").next_hop_ips == (NVA,)
    assert hub.single_reads == 1  # the index keeps no hops: the match's are read
    changed = P("192.0.2.0/24")
    hub.routes[changed] = (NVA_B,)
    fabric.bgp_routes_changed("hub", [changed])
    assert hub.single_reads == 1  # recorded, not applied yet
    assert fabric.settle_bgp() == 0
    assert hub.single_reads == 2  # settling re-read that prefix and no other
    assert fabric.lookup("vm1", "192.0.2.1").next_hop_ips == (NVA_B,)
    assert fabric.lookup("nva1", "192.0.2.1").next_hop_ips == (NVA_B,)
    assert (hub.full_reads, hub.single_reads) == (1, 4)
    rows, total = fabric.effective_routes_page("vm1", prefix=P("203.0.0.0/16"), skip=10, top=5)
    assert total == 256
    assert [str(r.prefix) for r in rows] == [f"203.0.{n}.0/24" for n in range(10, 15)]
    reads = hub.single_reads
    toggle_transit(fabric)  # a peering change moves no routes here and reads nothing
    assert fabric.settle_bgp() == 0
    assert (hub.full_reads, hub.single_reads) == (1, reads)
    assert fabric.lookup("vm2", "192.0.2.1").next_hop_ips == (NVA_B,)


def test_settle_in_slices() -> None:
    fabric, sources = topology()
    hub = sources["hub"]
    fabric.effective_routes("nva1")
    for n in range(10):
        prefix = Prefix(Afi.IPV4, (203 << 24) | (n << 8), 24)
        hub.routes[prefix] = (NVA,)
        fabric.bgp_routes_changed("hub", [prefix])
    assert fabric.pending_bgp() == 10
    assert fabric.settle_bgp(4) == 6
    assert hub.single_reads == 4
    assert fabric.settle_bgp() == 0
    assert fabric.pending_bgp() == 0
    assert len(fabric.effective_routes_page("nva1", prefix=P("203.0.0.0/16"))[0]) == 10


def test_injection_filter_per_prefix_follows_transit() -> None:
    """A route inside a spoke that starts using the hub's gateway is held back
    (spec §1.4) and given back when the spoke stops; supernets always pass."""
    fabric, sources = topology()
    hub = sources["hub"]
    for text in ("10.2.7.0/24", "10.0.0.0/8"):
        hub.routes[P(text)] = (NVA,)
        fabric.bgp_routes_changed("hub", [P(text)])

    def rows(nic: str) -> list[tuple[str, RouteState]]:
        return [
            (str(r.prefix), r.state)
            for r in fabric.effective_routes(nic)
            if r.source == RouteSource.VIRTUAL_NETWORK_GATEWAY
        ]

    # spoke2 is peered but not a transit spoke: 10.2.7.0/24 is injected into the
    # hub, where spoke2's peering route makes it Invalid.
    assert rows("nva1") == [("10.0.0.0/8", RouteState.ACTIVE), ("10.2.7.0/24", RouteState.INVALID)]
    assert rows("vm2") == []
    toggle_transit(fabric)
    assert rows("nva1") == [("10.0.0.0/8", RouteState.ACTIVE)]
    assert rows("vm2") == [("10.0.0.0/8", RouteState.ACTIVE)]
    toggle_transit(fabric)
    assert rows("nva1") == [("10.0.0.0/8", RouteState.ACTIVE), ("10.2.7.0/24", RouteState.INVALID)]


def test_propagation_opt_out_hides_every_changed_prefix() -> None:
    fabric, sources = topology()
    hub = sources["hub"]
    hub.routes[P("0.0.0.0/0")] = (NVA,)
    fabric.bgp_routes_changed("hub", [P("0.0.0.0/0")])
    assert fabric.lookup("vm1", "8.8.8.8").source == RouteSource.VIRTUAL_NETWORK_GATEWAY
    toggle_propagation(fabric)
    hub.routes[P("203.0.113.0/24")] = (NVA_B,)
    fabric.bgp_routes_changed("hub", [P("203.0.113.0/24")])
    assert fabric.lookup("vm1", "8.8.8.8").next_hop_type == NextHopType.INTERNET
    assert fabric.lookup("vm1", "203.0.113.1").next_hop_type == NextHopType.INTERNET
    assert fabric.lookup("nva1", "203.0.113.1").next_hop_ips == (NVA_B,)
    assert fabric.effective_routes_page("vm1", prefix=P("203.0.113.0/24")) == ([], 0)


def test_overridden_counts_bgp_rows_inside_a_guarding_route() -> None:
    """The user route on the hub's range overrides the system peering route and
    every BGP route inside it."""
    fabric, sources = topology()
    spoke1 = sources["spoke1"]
    for text in ("10.0.0.0/16", "10.0.5.0/24"):
        spoke1.routes[P(text)] = (NVA,)
        fabric.bgp_routes_changed("spoke1", [P(text)])
    decision = fabric.lookup("vm1", "10.0.5.9")
    assert decision.route_name == "hub-drop"
    assert decision.overridden == 3  # the VNetPeering system route and two BGP routes


def test_bgp_routes_changed_needs_an_attached_source() -> None:
    fabric, _ = topology()
    with pytest.raises(KeyError, match="no BGP source attached"):
        fabric.bgp_routes_changed("spoke2", [P("0.0.0.0/0")])
    with pytest.raises(KeyError, match="unknown virtual network 'ghost'"):
        fabric.bgp_routes_changed("ghost", [P("0.0.0.0/0")])
    with pytest.raises(ValueError, match="skip: must be >= 0"):
        fabric.effective_routes_page("vm1", skip=-1)

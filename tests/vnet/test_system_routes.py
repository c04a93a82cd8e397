"""Default system routes (route-server-spec §2, "Default system routes per subnet")."""

from __future__ import annotations

from nexthop.net.prefix import parse_prefix
from nexthop.vnet import NextHopType, RouteSource, RouteState, VirtualNetwork, system_routes

P = parse_prefix


def vnet(*spaces: str, name: str = "v") -> VirtualNetwork:
    return VirtualNetwork(name=name, region="r", address_spaces=tuple(P(s) for s in spaces))


def table(net: VirtualNetwork, peers: tuple[VirtualNetwork, ...] = ()) -> list[tuple[str, str]]:
    routes = system_routes(net, peers)
    assert all(r.source == RouteSource.DEFAULT and r.state == RouteState.ACTIVE for r in routes)
    return [(str(r.prefix), str(r.next_hop_type)) for r in routes]


def test_plain_vnet_gets_vnetlocal_internet_and_four_none_routes() -> None:
    assert table(vnet("10.1.0.0/16")) == [
        ("10.1.0.0/16", "VnetLocal"),
        ("0.0.0.0/0", "Internet"),
        ("10.0.0.0/8", "None"),
        ("172.16.0.0/12", "None"),
        ("192.168.0.0/16", "None"),
        ("100.64.0.0/10", "None"),
    ]


def test_one_vnetlocal_route_per_address_space() -> None:
    rows = table(vnet("10.1.0.0/16", "192.0.2.0/24"))
    assert [row for row in rows if row[1] == "VnetLocal"] == [
        ("10.1.0.0/16", "VnetLocal"),
        ("192.0.2.0/24", "VnetLocal"),
    ]


def test_reserved_range_equal_to_an_address_space_becomes_vnetlocal() -> None:
    rows = table(vnet("172.16.0.0/12"))
    assert ("172.16.0.0/12", "VnetLocal") in rows
    assert ("172.16.0.0/12", "None") not in rows
    assert ("10.0.0.0/8", "None") in rows


def test_reserved_range_inside_a_larger_address_space_is_removed() -> None:
    rows = table(vnet("192.168.0.0/15"))
    assert ("192.168.0.0/15", "VnetLocal") in rows
    assert all(prefix != "192.168.0.0/16" for prefix, _ in rows)


def test_address_space_inside_a_reserved_range_keeps_the_none_route() -> None:
    rows = table(vnet("100.64.1.0/24"))
    assert ("100.64.0.0/10", "None") in rows
    assert ("100.64.1.0/24", "VnetLocal") in rows


def test_peered_address_spaces_get_vnetpeering_routes() -> None:
    spoke1 = vnet("10.1.0.0/16", name="s1")
    spoke2 = vnet("10.2.0.0/16", "10.3.0.0/16", name="s2")
    rows = table(vnet("10.0.0.0/16", name="hub"), (spoke1, spoke2))
    assert [row for row in rows if row[1] == str(NextHopType.VNET_PEERING)] == [
        ("10.1.0.0/16", "VNetPeering"),
        ("10.2.0.0/16", "VNetPeering"),
        ("10.3.0.0/16", "VNetPeering"),
    ]


def test_ipv6_address_space_adds_ipv6_default_route() -> None:
    rows = table(vnet("10.1.0.0/16", "fd00:1::/48"))
    assert ("fd00:1::/48", "VnetLocal") in rows
    assert ("::/0", "Internet") in rows
    assert ("::/0", "Internet") not in table(vnet("10.1.0.0/16"))

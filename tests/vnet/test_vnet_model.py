"""Model objects validate their own fields and name the field in the error."""

from __future__ import annotations

import pytest

from nexthop.net.prefix import Afi, Prefix, parse_address, parse_prefix
from nexthop.vnet import (
    BgpRoute,
    NextHopType,
    Nic,
    Region,
    Route,
    RouteTable,
    Subnet,
    VirtualNetwork,
    VnetPeering,
)

P = parse_prefix


def ip(text: str) -> int:
    return parse_address(text)[1]


def test_valid_objects_construct() -> None:
    vnet = VirtualNetwork(
        name="hub", region="westeurope", address_spaces=(P("10.0.0.0/16"), P("fd00::/48"))
    )
    assert vnet.address_spaces[1].afi == Afi.IPV6
    subnet = Subnet(vnet="hub", name="RouteServerSubnet", prefix=P("10.0.1.0/26"))
    assert subnet.usable(ip("10.0.1.4"))
    route = Route(
        name="to-fw",
        address_prefix=P("0.0.0.0/0"),
        next_hop_type=NextHopType.VIRTUAL_APPLIANCE,
        next_hop_ip=ip("10.0.2.4"),
    )
    table = RouteTable(name="rt", region="westeurope", routes=(route,))
    assert table.routes == (route,)
    assert BgpRoute(prefix=P("10.2.0.0/16"), next_hops=(1, 2)).next_hops == (1, 2)


@pytest.mark.parametrize(
    ("build", "field", "fragment"),
    [
        (lambda: Region(name=""), "name", "non-empty"),
        (
            lambda: VirtualNetwork(name="v", region="r", address_spaces=()),
            "address_spaces",
            "at least one",
        ),
        (
            lambda: VirtualNetwork(
                name="v", region="r", address_spaces=(P("10.0.0.0/8"), P("10.1.0.0/16"))
            ),
            "address_spaces",
            "10.0.0.0/8 overlaps 10.1.0.0/16",
        ),
        (
            lambda: VirtualNetwork(
                name="v", region="r", address_spaces=(Prefix(Afi.IPV4, ip("10.0.0.1"), 16),)
            ),
            "address_spaces",
            "host bits",
        ),
        (
            lambda: Subnet(vnet="v", name="RouteServerSubnet", prefix=P("10.0.1.0/27")),
            "prefix",
            "RouteServerSubnet must be /26 or larger, got 10.0.1.0/27",
        ),
        (
            lambda: Subnet(
                vnet="v", name="RouteServerSubnet", prefix=P("10.0.1.0/26"), route_table="rt"
            ),
            "route_table",
            "cannot have a route table",
        ),
        (
            lambda: Subnet(vnet="v", name="GatewaySubnet", prefix=P("10.0.1.0/28")),
            "prefix",
            "GatewaySubnet must be /27 or larger, got 10.0.1.0/28",
        ),
        (
            lambda: Subnet(vnet="v", name="tiny", prefix=P("10.0.1.0/30")),
            "prefix",
            "smaller than /29",
        ),
        (
            lambda: Route(
                name="nva",
                address_prefix=P("0.0.0.0/0"),
                next_hop_type=NextHopType.VIRTUAL_APPLIANCE,
            ),
            "next_hop_ip",
            "required when next_hop_type is VirtualAppliance",
        ),
        (
            lambda: Route(
                name="inet",
                address_prefix=P("0.0.0.0/0"),
                next_hop_type=NextHopType.INTERNET,
                next_hop_ip=ip("10.0.0.4"),
            ),
            "next_hop_ip",
            "only allowed with VirtualAppliance",
        ),
        (
            lambda: Route(
                name="peer", address_prefix=P("10.0.0.0/8"), next_hop_type=NextHopType.VNET_PEERING
            ),
            "next_hop_type",
            "VNetPeering cannot be used in a user-defined route",
        ),
        (
            lambda: Route(
                name="nva",
                address_prefix=P("0.0.0.0/0"),
                next_hop_type=NextHopType.VIRTUAL_APPLIANCE,
                next_hop_ip=1 << 40,
            ),
            "next_hop_ip",
            "not an IPv4 address",
        ),
        (
            lambda: RouteTable(
                name="rt",
                region="r",
                routes=(
                    Route(name="a", address_prefix=P("0.0.0.0/0"), next_hop_type=NextHopType.NONE),
                    Route(name="a", address_prefix=P("10.0.0.0/8"), next_hop_type=NextHopType.NONE),
                ),
            ),
            "routes",
            "duplicate route name 'a'",
        ),
        (
            lambda: RouteTable(
                name="rt",
                region="r",
                routes=(
                    Route(name="a", address_prefix=P("0.0.0.0/0"), next_hop_type=NextHopType.NONE),
                    Route(
                        name="b", address_prefix=P("0.0.0.0/0"), next_hop_type=NextHopType.INTERNET
                    ),
                ),
            ),
            "routes",
            "same address_prefix 0.0.0.0/0",
        ),
        (lambda: VnetPeering(local="a", remote="a"), "remote", "cannot peer with itself"),
        (
            lambda: VnetPeering(
                local="a", remote="b", allow_gateway_transit=True, use_remote_gateways=True
            ),
            "use_remote_gateways",
            "cannot be combined",
        ),
        (lambda: BgpRoute(prefix=P("10.0.0.0/8"), next_hops=()), "next_hops", "at least one"),
        (
            lambda: BgpRoute(prefix=P("10.0.0.0/8"), next_hops=(1 << 33,)),
            "next_hops",
            "not an IPv4 address",
        ),
        (
            lambda: Nic(name="n", vnet="v", subnet="s", private_ip=-1),
            "private_ip",
            "not an IPv6 address",
        ),
    ],
)
def test_validation_errors_name_the_field(build: object, field: str, fragment: str) -> None:
    assert callable(build)
    with pytest.raises(ValueError, match=field) as info:
        build()
    message = str(info.value)
    assert f": {field}: " in message
    assert fragment in message


def test_usable_excludes_azure_reserved_addresses() -> None:
    subnet = Subnet(vnet="v", name="s", prefix=P("10.0.0.0/24"))
    assert not subnet.usable(ip("10.0.0.0"))
    assert not subnet.usable(ip("10.0.0.3"))
    assert subnet.usable(ip("10.0.0.4"))
    assert subnet.usable(ip("10.0.0.254"))
    assert not subnet.usable(ip("10.0.0.255"))
    assert not subnet.usable(ip("10.0.1.4"))
    v6 = Subnet(vnet="v", name="s6", prefix=P("fd00:0:0:1::/64"))
    assert v6.usable(ip("fd00:0:0:1::4"))
    assert not v6.usable(ip("fd00:0:0:1::1"))


@pytest.mark.parametrize(
    ("prefix", "fragment"),
    [
        ("10.0.0.0/8", "must be a Prefix"),
        (Prefix(9, 0, 0), "unknown address family 9"),
        (Prefix(Afi.IPV4, 0, 40), "prefix length 40 is not in 0..32"),
        (Prefix(Afi.IPV4, 1 << 33, 32), "address out of range"),
    ],
)
def test_prefix_fields_are_checked(prefix: object, fragment: str) -> None:
    with pytest.raises(ValueError, match="prefix") as info:
        BgpRoute(prefix=prefix, next_hops=(1,))  # type: ignore[arg-type]
    assert "BgpRoute: prefix: " in str(info.value)
    assert fragment in str(info.value)


def test_route_table_rejects_non_routes() -> None:
    with pytest.raises(ValueError, match="routes: must contain Route objects"):
        RouteTable(name="rt", region="r", routes=("0.0.0.0/0",))  # type: ignore[arg-type]

"""The virtual network model: regions, VNets, subnets, NICs, peerings, route tables.

Follows Azure's resource model as summarised in route-server-spec §1.1 (the
``RouteServerSubnet``, minimum /26, no UDR) and §2 (route tables, UDR next hop
types, sources and states of effective routes). Every object checks its own
fields on construction and raises ``ValueError`` naming the offending field;
checks that need other objects (a subnet inside its VNet's address space,
overlaps, peerings) live in ``nexthop.vnet.fabric``.

Addresses are plain ints whose family is the family of the prefix they belong
to, like ``Prefix.value``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from nexthop.net.prefix import MAX_LENGTH, Afi, Prefix, format_address

__all__ = [
    "GATEWAY_SUBNET",
    "GATEWAY_SUBNET_MAX_LENGTH",
    "ROUTE_SERVER_SUBNET",
    "ROUTE_SERVER_SUBNET_MAX_LENGTH",
    "USER_NEXT_HOP_TYPES",
    "BgpRoute",
    "EffectiveRoute",
    "NextHopType",
    "Nic",
    "Region",
    "Route",
    "RouteSource",
    "RouteState",
    "RouteTable",
    "Subnet",
    "VirtualNetwork",
    "VnetPeering",
]

ROUTE_SERVER_SUBNET = "RouteServerSubnet"
ROUTE_SERVER_SUBNET_MAX_LENGTH = 26  # "minimum /26" (spec §1.1, QS/FAQ)
GATEWAY_SUBNET = "GatewaySubnet"
GATEWAY_SUBNET_MAX_LENGTH = 27  # Azure recommends /27 or larger for GatewaySubnet [not in spec]
IPV4_SUBNET_MAX_LENGTH = 29  # Azure reserves 5 addresses per subnet; /29 is the smallest
_RESERVED_LOW = 4  # network address, default gateway, two DNS addresses


class NextHopType(StrEnum):
    """Next hop types as spelled in ``az network nic show-effective-route-table``."""

    VIRTUAL_APPLIANCE = "VirtualAppliance"
    VIRTUAL_NETWORK_GATEWAY = "VirtualNetworkGateway"
    VNET_LOCAL = "VnetLocal"
    INTERNET = "Internet"
    NONE = "None"
    VNET_PEERING = "VNetPeering"


# Spec §2: UDR next hop types; VNetPeering (and service endpoints) cannot be used.
USER_NEXT_HOP_TYPES = frozenset(
    {
        NextHopType.VIRTUAL_APPLIANCE,
        NextHopType.VIRTUAL_NETWORK_GATEWAY,
        NextHopType.VNET_LOCAL,
        NextHopType.INTERNET,
        NextHopType.NONE,
    }
)


class RouteSource(StrEnum):
    """Who created an effective route."""

    DEFAULT = "Default"
    USER = "User"
    VIRTUAL_NETWORK_GATEWAY = "VirtualNetworkGateway"


class RouteState(StrEnum):
    ACTIVE = "Active"
    INVALID = "Invalid"


def _fail(owner: str, field: str, problem: str) -> ValueError:
    return ValueError(f"{owner}: {field}: {problem}")


def _check_name(owner: str, field: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise _fail(owner, field, f"must be a non-empty string, got {value!r}")


def _check_prefix(owner: str, field: str, prefix: Prefix) -> None:
    if not isinstance(prefix, Prefix):
        raise _fail(owner, field, f"must be a Prefix, got {prefix!r}")
    if prefix.afi not in MAX_LENGTH:
        raise _fail(owner, field, f"unknown address family {prefix.afi}")
    width = MAX_LENGTH[Afi(prefix.afi)]
    if not 0 <= prefix.length <= width:
        raise _fail(owner, field, f"prefix length {prefix.length} is not in 0..{width}")
    if prefix.value < 0 or prefix.value >> width:
        raise _fail(owner, field, "address out of range for its family")
    if prefix.value & ((1 << (width - prefix.length)) - 1):
        raise _fail(owner, field, f"{prefix} has host bits set")


def _check_address(owner: str, field: str, afi: int, value: int) -> None:
    width = MAX_LENGTH[Afi(afi)]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >> width:
        family = "IPv4" if afi == Afi.IPV4 else "IPv6"
        raise _fail(owner, field, f"{value!r} is not an {family} address")


@dataclass(frozen=True, slots=True, kw_only=True)
class Region:
    name: str

    def __post_init__(self) -> None:
        _check_name("Region", "name", self.name)


@dataclass(frozen=True, slots=True, kw_only=True)
class VirtualNetwork:
    """A VNet: a name, a region and one or more non-overlapping address spaces."""

    name: str
    region: str
    address_spaces: tuple[Prefix, ...]

    def __post_init__(self) -> None:
        _check_name("VirtualNetwork", "name", self.name)
        owner = f"VirtualNetwork {self.name!r}"
        _check_name(owner, "region", self.region)
        if not self.address_spaces:
            raise _fail(owner, "address_spaces", "at least one address space is required")
        for space in self.address_spaces:
            _check_prefix(owner, "address_spaces", space)
        for i, space in enumerate(self.address_spaces):
            for other in self.address_spaces[i + 1 :]:
                if space.overlaps(other):
                    raise _fail(owner, "address_spaces", f"{space} overlaps {other}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Subnet:
    """A subnet of ``vnet``, optionally associated with a route table by name."""

    vnet: str
    name: str
    prefix: Prefix
    route_table: str | None = None

    def __post_init__(self) -> None:
        _check_name("Subnet", "name", self.name)
        owner = f"Subnet {self.vnet}/{self.name}"
        _check_name(owner, "vnet", self.vnet)
        _check_prefix(owner, "prefix", self.prefix)
        if self.prefix.afi == Afi.IPV4 and self.prefix.length > IPV4_SUBNET_MAX_LENGTH:
            raise _fail(owner, "prefix", f"{self.prefix} is smaller than /{IPV4_SUBNET_MAX_LENGTH}")
        if self.name == ROUTE_SERVER_SUBNET:
            if self.prefix.length > ROUTE_SERVER_SUBNET_MAX_LENGTH:
                raise _fail(
                    owner,
                    "prefix",
                    f"{ROUTE_SERVER_SUBNET} must be /{ROUTE_SERVER_SUBNET_MAX_LENGTH} "
                    f"or larger, got {self.prefix}",
                )
            if self.route_table is not None:
                raise _fail(
                    owner, "route_table", f"{ROUTE_SERVER_SUBNET} cannot have a route table"
                )
        if self.name == GATEWAY_SUBNET and self.prefix.length > GATEWAY_SUBNET_MAX_LENGTH:
            raise _fail(
                owner,
                "prefix",
                f"{GATEWAY_SUBNET} must be /{GATEWAY_SUBNET_MAX_LENGTH} or larger, "
                f"got {self.prefix}",
            )
        if self.route_table is not None:
            _check_name(owner, "route_table", self.route_table)

    def usable(self, address: int) -> bool:
        """True when ``address`` is in the subnet and not one Azure reserves."""
        if not self.prefix.contains_address(self.prefix.afi, address):
            return False
        offset = address - self.prefix.value
        size = 1 << (self.prefix.max_length - self.prefix.length)
        if offset < _RESERVED_LOW:
            return False
        return not (self.prefix.afi == Afi.IPV4 and offset == size - 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Nic:
    """A network interface with one private IP in ``vnet``/``subnet``."""

    name: str
    vnet: str
    subnet: str
    private_ip: int
    ip_forwarding: bool = False

    def __post_init__(self) -> None:
        _check_name("Nic", "name", self.name)
        owner = f"Nic {self.name!r}"
        _check_name(owner, "vnet", self.vnet)
        _check_name(owner, "subnet", self.subnet)
        _check_address(owner, "private_ip", Afi.IPV6, self.private_ip)


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """A user-defined route (UDR) in a route table."""

    name: str
    address_prefix: Prefix
    next_hop_type: NextHopType
    next_hop_ip: int | None = None

    def __post_init__(self) -> None:
        _check_name("Route", "name", self.name)
        owner = f"Route {self.name!r}"
        _check_prefix(owner, "address_prefix", self.address_prefix)
        if self.next_hop_type not in USER_NEXT_HOP_TYPES:
            raise _fail(
                owner,
                "next_hop_type",
                f"{self.next_hop_type!s} cannot be used in a user-defined route",
            )
        if self.next_hop_type == NextHopType.VIRTUAL_APPLIANCE:
            if self.next_hop_ip is None:
                raise _fail(owner, "next_hop_ip", "required when next_hop_type is VirtualAppliance")
            _check_address(owner, "next_hop_ip", self.address_prefix.afi, self.next_hop_ip)
        elif self.next_hop_ip is not None:
            raise _fail(
                owner,
                "next_hop_ip",
                f"only allowed with VirtualAppliance, not {self.next_hop_type!s}",
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteTable:
    """A route table: UDRs plus the ``disableBgpRoutePropagation`` switch (spec §1.6)."""

    name: str
    region: str
    routes: tuple[Route, ...] = ()
    disable_bgp_route_propagation: bool = False

    def __post_init__(self) -> None:
        _check_name("RouteTable", "name", self.name)
        owner = f"RouteTable {self.name!r}"
        _check_name(owner, "region", self.region)
        names: set[str] = set()
        prefixes: dict[Prefix, str] = {}
        for route in self.routes:
            if not isinstance(route, Route):
                raise _fail(owner, "routes", f"must contain Route objects, got {route!r}")
            if route.name in names:
                raise _fail(owner, "routes", f"duplicate route name {route.name!r}")
            names.add(route.name)
            if route.address_prefix in prefixes:
                raise _fail(
                    owner,
                    "routes",
                    f"routes {prefixes[route.address_prefix]!r} and {route.name!r} "
                    f"have the same address_prefix {route.address_prefix}",
                )
            prefixes[route.address_prefix] = route.name


@dataclass(frozen=True, slots=True, kw_only=True)
class VnetPeering:
    """One direction of a VNet peering, ``local`` -> ``remote``, as in Azure.

    Routes flow only once both directions exist ("Connected"). Gateway/route server
    routes of ``remote`` reach ``local`` when this link has ``use_remote_gateways``
    ("Use the remote virtual network's gateway or Route Server") and the reverse
    link has ``allow_gateway_transit`` (spec §1.1, §1.6).
    """

    local: str
    remote: str
    allow_gateway_transit: bool = False
    use_remote_gateways: bool = False

    def __post_init__(self) -> None:
        _check_name("VnetPeering", "local", self.local)
        owner = f"VnetPeering {self.local}->{self.remote}"
        _check_name(owner, "remote", self.remote)
        if self.local == self.remote:
            raise _fail(owner, "remote", "a VNet cannot peer with itself")
        if self.allow_gateway_transit and self.use_remote_gateways:
            raise _fail(
                owner,
                "use_remote_gateways",
                "cannot be combined with allow_gateway_transit on the same link",
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class BgpRoute:
    """A route the route server programs into a VNet: prefix and ECMP next hops.

    The input contract between the route server and the VNet model: one object
    per prefix, ``next_hops`` holding every equal-cost next hop (spec §1.5).
    """

    prefix: Prefix
    next_hops: tuple[int, ...]

    def __post_init__(self) -> None:
        _check_prefix("BgpRoute", "prefix", self.prefix)
        owner = f"BgpRoute {self.prefix}"
        if not self.next_hops:
            raise _fail(owner, "next_hops", "at least one next hop is required")
        for hop in self.next_hops:
            _check_address(owner, "next_hops", self.prefix.afi, hop)


@dataclass(frozen=True, slots=True, kw_only=True)
class EffectiveRoute:
    """One row of a NIC's effective route table (spec §2).

    ``reason`` explains an ``Invalid`` state and ``overridden_by`` names the prefix
    of the route that won; neither is part of the Azure JSON shape.
    """

    prefix: Prefix
    source: RouteSource
    state: RouteState
    next_hop_type: NextHopType
    next_hop_ips: tuple[int, ...] = ()
    name: str | None = None
    disable_bgp_route_propagation: bool = False
    reason: str = ""
    overridden_by: Prefix | None = None

    def next_hop_texts(self) -> list[str]:
        return [format_address(self.prefix.afi, ip) for ip in self.next_hop_ips]

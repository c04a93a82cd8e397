"""Route server configuration and its validation (Azure Route Server defaults).

Defaults follow the Azure Route Server documentation (route-server-spec §1.1-1.3):
ASN 65515; two instances on the 4th and 5th addresses of a RouteServerSubnet of
at least /26 (the addresses seen in every lab, e.g. 10.1.1.4/.5 for 10.1.1.0/26);
8 BGP peers; 4,000 routes per peer, counted the FAQ way (routes held plus routes
in the incoming UPDATE); 10,000 routes in total from all connected resources
(what happens beyond it is unconfirmed, so it only raises a warning);
branch-to-branch off; hub routing preference
ExpressRoute. Peers use a 2-octet ASN that is not reserved (the FAQ list).

Beyond the cloud (off by default): every limit can be raised,
``count_readvertised_routes=False`` counts unique prefixes only,
``allow_four_octet_peer_asn`` accepts 4-octet peer ASNs, and
``next_hop_validation`` warns about third-party next hops Azure would not use.

Validation runs at configuration time and raises ``ConfigError`` naming the
field; a rejected change leaves the running configuration untouched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from nexthop.bfd.config import BfdConfig
from nexthop.net.prefix import Afi, Prefix, format_address, parse_address

__all__ = [
    "AZURE_ASN",
    "RESERVED_ASNS",
    "ConfigError",
    "HubRoutingPreference",
    "PeeringConfig",
    "RouteServerConfig",
    "is_reserved_asn",
    "validate_peering",
    "validate_route_server",
]

AZURE_ASN = 65515
RESERVED_ASNS: tuple[tuple[int, int], ...] = (
    (8074, 8075),  # Azure public
    (12076, 12076),
    (65515, 65515),  # Azure private
    (65517, 65520),
    (23456, 23456),  # IANA: AS_TRANS (RFC 6793)
    (64496, 64511),  # documentation (RFC 5398)
    (65535, 65551),  # reserved (RFC 7300) and documentation
)
"""Inclusive ranges the Azure FAQ forbids as NVA ASNs."""

MIN_SUBNET_LENGTH = 26  # RouteServerSubnet must be /26 or larger
FIRST_INSTANCE_OFFSET = 4  # .4 and .5 of the subnet base


def is_reserved_asn(asn: int) -> bool:
    return any(low <= asn <= high for low, high in RESERVED_ASNS)


class HubRoutingPreference(Enum):
    """``hubRoutingPreference``: which source wins for the same prefix."""

    EXPRESS_ROUTE = "ExpressRoute"  # ExpressRoute over VPN/SD-WAN (default)
    VPN_GATEWAY = "VpnGateway"  # VPN and NVA routes over ExpressRoute
    AS_PATH = "ASPath"  # shortest AS_PATH, whatever the source


class ConfigError(ValueError):
    """A configuration value is not acceptable; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True, kw_only=True)
class PeeringConfig:
    """One BGP peering (Azure: name, peerIp, peerAsn); applies to both instances.
    ``bfd``: run BFD with the peer on both instances (off, as in Azure; see docs/bfd.md)."""

    name: str
    peer_ip: str
    peer_asn: int
    bfd: BfdConfig | None = None

    @property
    def address(self) -> int:
        return parse_address(self.peer_ip)[1]


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteServerConfig:
    """The route server. ``subnet`` is the RouteServerSubnet prefix."""

    name: str
    subnet: Prefix
    asn: int = AZURE_ASN
    vnet_address_spaces: tuple[Prefix, ...] = ()
    peered_address_spaces: tuple[Prefix, ...] = ()
    max_peers: int = 8
    max_routes_per_peer: int = 4000
    count_readvertised_routes: bool = True
    idle_hold_after_max_prefix: float = 60.0
    branch_to_branch: bool = False
    hub_routing_preference: HubRoutingPreference = HubRoutingPreference.EXPRESS_ROUTE
    expressroute_route_limit: int = 1000
    max_total_routes: int = 10000
    allow_four_octet_peer_asn: bool = False
    next_hop_validation: bool = False

    @property
    def instance_ips(self) -> tuple[int, int]:
        """The 4th and 5th addresses of the subnet (IN_0, IN_1)."""
        base = self.subnet.value
        return base + FIRST_INSTANCE_OFFSET, base + FIRST_INSTANCE_OFFSET + 1

    @property
    def instance_ip_texts(self) -> tuple[str, str]:
        first, second = self.instance_ips
        return format_address(Afi.IPV4, first), format_address(Afi.IPV4, second)

    @property
    def local_prefixes(self) -> tuple[Prefix, ...]:
        """What every NVA is told: VNet plus peered VNet address spaces, deduplicated."""
        return tuple(dict.fromkeys((*self.vnet_address_spaces, *self.peered_address_spaces)))


def _positive(field: str, value: float) -> None:
    if value <= 0:
        raise ConfigError(field, f"must be positive, got {value}")


def validate_route_server(config: RouteServerConfig) -> None:
    """Raise ``ConfigError`` for the first unacceptable field."""
    if not config.name:
        raise ConfigError("name", "must not be empty")
    if config.subnet.afi != Afi.IPV4:
        raise ConfigError("subnet", "the RouteServerSubnet must be an IPv4 prefix")
    if config.subnet.length > MIN_SUBNET_LENGTH:
        raise ConfigError(
            "subnet",
            f"the RouteServerSubnet must be /{MIN_SUBNET_LENGTH} or larger, "
            f"got /{config.subnet.length}",
        )
    if not 1 <= config.asn <= 0xFFFFFFFF:
        raise ConfigError("asn", f"{config.asn} is not a valid AS number")
    for field, spaces in (
        ("vnet_address_spaces", config.vnet_address_spaces),
        ("peered_address_spaces", config.peered_address_spaces),
    ):
        for prefix in spaces:
            if prefix.afi != Afi.IPV4:
                raise ConfigError(field, f"{prefix} is not IPv4 (Route Server is IPv4-only)")
    _positive("max_peers", config.max_peers)
    _positive("max_routes_per_peer", config.max_routes_per_peer)
    _positive("expressroute_route_limit", config.expressroute_route_limit)
    _positive("max_total_routes", config.max_total_routes)
    if config.idle_hold_after_max_prefix < 0:
        raise ConfigError("idle_hold_after_max_prefix", "must not be negative")


def validate_peering(
    peering: PeeringConfig,
    config: RouteServerConfig,
    existing: Iterable[PeeringConfig],
) -> None:
    """Raise ``ConfigError`` if ``peering`` cannot join ``existing``."""
    others = list(existing)
    if not peering.name:
        raise ConfigError("name", "must not be empty")
    if any(p.name == peering.name for p in others):
        raise ConfigError("name", f"a peering named {peering.name!r} already exists")
    try:
        afi, address = parse_address(peering.peer_ip)
    except ValueError as exc:
        raise ConfigError("peer_ip", str(exc)) from None
    if afi != Afi.IPV4:
        raise ConfigError("peer_ip", f"{peering.peer_ip} is not IPv4 (Route Server is IPv4-only)")
    if any(p.address == address for p in others):
        raise ConfigError("peer_ip", f"{peering.peer_ip} is already used by another peering")
    if config.subnet.contains_address(afi, address):
        raise ConfigError(
            "peer_ip", f"{peering.peer_ip} is inside the RouteServerSubnet {config.subnet}"
        )
    max_asn = 0xFFFFFFFF if config.allow_four_octet_peer_asn else 0xFFFF
    if not 1 <= peering.peer_asn <= max_asn:
        raise ConfigError("peer_asn", f"{peering.peer_asn} is outside 1..{max_asn}")
    if peering.peer_asn == config.asn:
        raise ConfigError(
            "peer_asn", f"{peering.peer_asn} is the route server's own ASN (eBGP only)"
        )
    if is_reserved_asn(peering.peer_asn):
        raise ConfigError("peer_asn", f"{peering.peer_asn} is a reserved ASN")
    if len(others) >= config.max_peers:
        raise ConfigError("max_peers", f"already at the limit of {config.max_peers} peerings")

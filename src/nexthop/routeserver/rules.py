"""Azure Route Server route handling rules, as small pure functions.

Inbound (route-server-spec §1.4): a path whose AS_PATH holds the route server's
own ASN is rejected (loop prevention, RFC 4271 §9.1.2 "AS_PATH loop"); AS 0 in
the AS_PATH makes the UPDATE treat-as-withdraw (RFC 7607 §2, RFC 7606 §2);
NEXT_HOP, AS_PATH and communities are kept exactly as sent (RFC 7947 §2.2.1).

Outbound (§1.7): next-hop-self with the instance address, the route server's
ASN prepended (RFC 4271 §5.1.2-5.1.3 for an external peer), communities kept,
MED and LOCAL_PREF dropped (RFC 4271 §5.1.4: MED is not passed on to other
neighbouring ASes; §5.1.5: LOCAL_PREF is not sent to external peers), RFC 4456
reflection attributes dropped. NO_ADVERTISE (RFC 1997) paths go nowhere.

VNet programming (§1.4 "Prefix acceptance"): a learned prefix equal to or more
specific than a VNet (or peered VNet) address space is not injected; supernets
are. Hub routing preference (§1.5) ranks the route sources.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from nexthop.bgp.constants import AsPathSegmentType, Origin, WellKnownCommunity
from nexthop.bgp.rib.adj_rib_in import AttributePolicy, ImportPolicy
from nexthop.bgp.rib.adj_rib_out import Advertisement
from nexthop.bgp.rib.path import Route, prepend_as
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes
from nexthop.net.prefix import Prefix
from nexthop.routeserver.config import HubRoutingPreference

__all__ = [
    "GatewayKind",
    "GatewayRoute",
    "SourceKind",
    "export_advertisement",
    "has_as_zero",
    "injectable",
    "is_no_advertise",
    "local_advertisement",
    "loop_prevention",
    "source_rank",
]


class SourceKind(Enum):
    """Where a route server path came from."""

    NVA = "nva"
    EXPRESS_ROUTE = "ExpressRoute"
    VPN_GATEWAY = "VpnGateway"


GatewayKind = SourceKind
"""A virtual network gateway is an ``EXPRESS_ROUTE`` or ``VPN_GATEWAY`` source."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayRoute:
    """A route a virtual network gateway (ER/VPN) hands the route server over
    its platform-managed session (IBGP, both sides AS 65515)."""

    prefix: Prefix
    next_hop: int
    as_path: tuple[int, ...] = ()
    communities: tuple[int, ...] = ()
    origin: int = Origin.IGP


def loop_prevention(asn: int, then: ImportPolicy | None = None) -> AttributePolicy:
    """Import policy: reject paths whose AS_PATH already holds ``asn``; the
    paths it lets through go on to ``then`` if given. The AS_PATH check looks
    at the attributes only, so it runs once per UPDATE."""
    reason = f"AS_PATH contains {asn} (loop prevention)"

    def check(attributes: PathAttributes) -> str | None:
        # ``asn in as_path_asns(...)`` without building the tuple.
        return reason if any(asn in seg.asns for seg in attributes.as_path) else None

    return AttributePolicy(check, then)


def has_as_zero(attributes: PathAttributes) -> bool:
    """RFC 7607 §2: AS 0 in AS_PATH makes the UPDATE treat-as-withdraw."""
    return any(0 in seg.asns for seg in attributes.as_path)


def is_no_advertise(attributes: PathAttributes) -> bool:
    return WellKnownCommunity.NO_ADVERTISE in attributes.communities


def local_advertisement(asn: int, next_hop: int) -> Advertisement:
    """A VNet address space as the route server originates it: ``<asn> i``."""
    attributes = PathAttributes(
        origin=Origin.IGP,
        as_path=(AsPathSegment(AsPathSegmentType.AS_SEQUENCE, (asn,)),),
        next_hop=next_hop,
    )
    return Advertisement(attributes=attributes, next_hops=(next_hop,))


def export_advertisement(path: Route, asn: int, next_hop: int) -> Advertisement:
    """A learned path as sent to an NVA: next-hop-self, ``asn`` prepended,
    ORIGIN, communities and unknown transitive attributes kept."""
    attrs = path.attributes
    attributes = PathAttributes(
        origin=attrs.origin,
        as_path=prepend_as(attrs.as_path, asn),
        next_hop=next_hop,
        atomic_aggregate=attrs.atomic_aggregate,
        aggregator=attrs.aggregator,
        communities=attrs.communities,
        extended_communities=attrs.extended_communities,
        large_communities=attrs.large_communities,
        unknown=attrs.unknown,
    )
    return Advertisement(attributes=attributes, next_hops=(next_hop,))


def injectable(prefix: Prefix, address_spaces: Iterable[Prefix]) -> bool:
    """False when ``prefix`` equals or is inside a VNet / peered VNet address space."""
    return not any(space.contains(prefix) for space in address_spaces)


_RANKS: dict[HubRoutingPreference, dict[SourceKind, int]] = {
    # ExpressRoute beats VPN and SD-WAN (NVA); VPN vs NVA: shortest AS_PATH.
    HubRoutingPreference.EXPRESS_ROUTE: {
        SourceKind.EXPRESS_ROUTE: 0,
        SourceKind.VPN_GATEWAY: 1,
        SourceKind.NVA: 1,
    },
    # VPN and NVA beat ExpressRoute.
    HubRoutingPreference.VPN_GATEWAY: {
        SourceKind.EXPRESS_ROUTE: 1,
        SourceKind.VPN_GATEWAY: 0,
        SourceKind.NVA: 0,
    },
    # Shortest AS_PATH whatever the source.
    HubRoutingPreference.AS_PATH: {
        SourceKind.EXPRESS_ROUTE: 0,
        SourceKind.VPN_GATEWAY: 0,
        SourceKind.NVA: 0,
    },
}


def source_rank(kind: SourceKind, preference: HubRoutingPreference) -> int:
    """Lower wins; equal ranks go on to the AS_PATH comparison."""
    return _RANKS[preference][kind]

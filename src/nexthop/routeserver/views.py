"""Read-only views in the shape of the Azure CLI.

``az network routeserver peering list-learned-routes`` / ``list-advertised-routes``
return ``{"RouteServiceRole_IN_0": [row, ...], "RouteServiceRole_IN_1": [...]}``
with rows of ``localAddress, network, nextHop, sourcePeer, origin, asPath,
weight`` (route-server-spec §1.7, "List APIs"; example learned row
``10.0.1.5 172.16.1.0/24 10.0.0.4 10.0.0.4 EBgp 65001 32768``).

[derived] Learned rows use origin ``EBgp`` and weight 32768 as in that example.
Advertised rows have ``sourcePeer`` None and weight 0, origin ``Igp`` for the
VNet address spaces and ``EBgp``/``IBgp`` for reflected NVA/gateway routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from nexthop.bgp.rib.adj_rib_out import Advertisement
from nexthop.bgp.rib.path import Path, format_as_path
from nexthop.net.prefix import Afi, Prefix, format_address

__all__ = [
    "LEARNED_WEIGHT",
    "PeeringState",
    "PeeringStatus",
    "RouteRow",
    "advertised_row",
    "learned_row",
]

LEARNED_WEIGHT = 32768

RouteRow = dict[str, str | int | None]


class PeeringState(Enum):
    IDLE = "Idle"
    ESTABLISHED = "Established"


@dataclass(frozen=True, slots=True, kw_only=True)
class PeeringStatus:
    """One peering on one instance (``az network routeserver peering show`` plus
    the counters the Azure metrics expose)."""

    instance: str
    peering: str
    state: PeeringState
    received_routes: int
    accepted_routes: int
    rejected_routes: int
    advertised_routes: int
    updates_received: int
    max_prefix_events: int
    routes_not_sent: int  # announcements too large for the peer's UPDATE (RFC 4271 §9.2)
    last_error: str
    established_at: float | None
    idle_hold_until: float | None


def learned_row(local_address: int, path: Path) -> RouteRow:
    next_hop = path.next_hops[0] if path.next_hops else 0
    return {
        "localAddress": format_address(Afi.IPV4, local_address),
        "network": str(path.prefix),
        "nextHop": format_address(path.prefix.afi, next_hop),
        "sourcePeer": format_address(Afi.IPV4, path.source_address),
        "origin": "EBgp",
        "asPath": format_as_path(path.attributes),
        "weight": LEARNED_WEIGHT,
    }


def advertised_row(
    local_address: int, prefix: Prefix, advert: Advertisement, origin: str
) -> RouteRow:
    return {
        "localAddress": format_address(Afi.IPV4, local_address),
        "network": str(prefix),
        "nextHop": format_address(prefix.afi, advert.next_hops[0]),
        "sourcePeer": None,
        "origin": origin,
        "asPath": format_as_path(advert.attributes),
        "weight": 0,
    }

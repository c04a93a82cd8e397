"""The Azure virtual network model: effective routes and next hop lookup (spec §2).

Sans-IO: no sockets, no clock. ``Fabric`` owns the topology; each VNet's BGP
routes stay in their source (the route server, ``Fabric.attach_bgp_source``),
indexed per prefix (``bgp_index``: re-read only for the prefixes
``bgp_routes_changed`` names, lazily at the next query); ``subnet_routes``
combines a subnet's static routes with those indexes for rows, pages and
lookups; ``compute_effective_routes`` is the whole-table reference of Azure's
route selection; ``next_hop`` answers where a packet goes over a compiled list.
"""

from __future__ import annotations

from nexthop.vnet.bgp_index import BgpSource, StaticBgpSource
from nexthop.vnet.effective import (
    compute_effective_routes,
    effective_routes,
    merge_bgp_routes,
    to_az_json,
)
from nexthop.vnet.fabric import Fabric, filter_injectable
from nexthop.vnet.lookup import LookupIndex, RouteDecision, compile_routes, next_hop
from nexthop.vnet.model import (
    GATEWAY_SUBNET,
    ROUTE_SERVER_SUBNET,
    BgpRoute,
    EffectiveRoute,
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
)
from nexthop.vnet.system_routes import RESERVED_RANGES, system_routes

__all__ = [
    "GATEWAY_SUBNET",
    "RESERVED_RANGES",
    "ROUTE_SERVER_SUBNET",
    "BgpRoute",
    "BgpSource",
    "EffectiveRoute",
    "Fabric",
    "LookupIndex",
    "NextHopType",
    "Nic",
    "Region",
    "Route",
    "RouteDecision",
    "RouteSource",
    "RouteState",
    "RouteTable",
    "StaticBgpSource",
    "Subnet",
    "VirtualNetwork",
    "VnetPeering",
    "compile_routes",
    "compute_effective_routes",
    "effective_routes",
    "filter_injectable",
    "merge_bgp_routes",
    "next_hop",
    "system_routes",
    "to_az_json",
]

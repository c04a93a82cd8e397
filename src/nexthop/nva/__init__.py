"""Network virtual appliances: their BGP configuration and routing policy.

``frr_config`` parses the FRR/Cisco-style subset into ``model`` objects;
``policy`` evaluates prefix-lists and route-maps over path attributes (pure).
"""

from __future__ import annotations

from nexthop.nva.frr_config import FrrConfigError, parse_community, parse_frr_config
from nexthop.nva.model import (
    Action,
    BgpRouter,
    Direction,
    FrrConfig,
    Neighbor,
    PrefixList,
    PrefixListEntry,
    RouteMap,
    RouteMapEntry,
    SetAction,
    SetAsPathPrepend,
    SetCommunity,
    SetNextHop,
)
from nexthop.nva.policy import (
    Accepted,
    Rejected,
    evaluate_neighbor,
    evaluate_route_map,
    match_prefix_list,
    prefix_list_permits,
)

__all__ = [
    "Accepted",
    "Action",
    "BgpRouter",
    "Direction",
    "FrrConfig",
    "FrrConfigError",
    "Neighbor",
    "PrefixList",
    "PrefixListEntry",
    "Rejected",
    "RouteMap",
    "RouteMapEntry",
    "SetAction",
    "SetAsPathPrepend",
    "SetCommunity",
    "SetNextHop",
    "evaluate_neighbor",
    "evaluate_route_map",
    "match_prefix_list",
    "parse_community",
    "parse_frr_config",
    "prefix_list_permits",
]

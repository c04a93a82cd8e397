"""One route server instance's RIB as an MRT TABLE_DUMP_V2 dump (RFC 6396 §4.3).

The dump holds every path the instance keeps in its Loc-RIB (each peering's
accepted routes, post import policy, and the gateways' routes), one RIB record
per prefix, as RouteViews/RIS dumps hold every peer's path. The peer index table
lists the configured peerings first (their BGP Identifier once a session came up,
0 before), then any other source of a path (a gateway) in order of appearance.
The collector's BGP Identifier is the instance's address (what it sends in OPEN).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from nexthop.bgp.mrt import MrtPeer, RibEntry, table_dump_v2
from nexthop.routeserver.instance import RouteServerInstance

__all__ = ["dump_instance"]


def dump_instance(
    instance: RouteServerInstance,
    *,
    timestamp: int,
    unix_time: Callable[[float], int],
    view_name: str = "",
) -> Iterator[bytes]:
    """The records of ``instance``'s dump; ``unix_time`` turns a path's
    ``learned_at`` (the core's clock) into Unix seconds for its originated time."""
    peers: list[MrtPeer] = []
    index: dict[str, int] = {}
    for config, bgp_id in instance.peer_identities():
        index[config.name] = len(peers)
        peers.append(MrtPeer(bgp_id, config.address, config.peer_asn))
    rows = instance.rib_snapshot()
    for _prefix, routes in rows:
        for route in routes:
            if route.source not in index:
                index[route.source] = len(peers)
                peers.append(MrtPeer(route.router_id, route.source_address, route.source_asn))
    rib = (
        (
            prefix,
            [
                RibEntry(
                    index[route.source],
                    unix_time(route.learned_at),
                    route.attributes,
                    route.next_hops,
                )
                for route in routes
            ],
        )
        for prefix, routes in rows
    )
    collector = instance.local_ip
    return table_dump_v2(timestamp, collector, view_name or instance.role, peers, rib)

"""Effective routes of a NIC: system, BGP and user routes with Azure's selection.

route-server-spec §2, "Selection" (sources UDR, FAQ):

1. Longest prefix match (applied at lookup time, ``nexthop.vnet.lookup``).
2. For the same prefix: **User (UDR) > BGP (source VirtualNetworkGateway) > Default
   (system)**.
3. Exception: "System routes for traffic related to virtual network, virtual
   network peerings, or virtual network service endpoints, are preferred routes,
   even if BGP routes are more specific." So a BGP route equal to or inside a
   ``VnetLocal`` or ``VNetPeering`` system route never wins; it is listed
   ``Invalid``. (The route server does not even inject such routes, spec §1.4;
   ``Fabric`` applies that filter before routes get here.) User routes are not
   subject to the exception: a more specific UDR inside the VNet wins by step 1.

Overridden routes stay listed with state ``Invalid`` (spec §2, "Overridden
routes"). BGP routes are not applied at all on a subnet whose route table sets
``disable_bgp_route_propagation`` (spec §1.6, "Opt-out"). ECMP next hops of one
BGP prefix stay in one ``EffectiveRoute``; the Azure JSON shows one row per next
hop (spec §1.6, "Effective-route representation", [obs]).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from nexthop.net.prefix import Prefix
from nexthop.net.trie import PrefixTrie
from nexthop.vnet.model import (
    BgpRoute,
    EffectiveRoute,
    NextHopType,
    Nic,
    RouteSource,
    RouteState,
    RouteTable,
    VirtualNetwork,
)
from nexthop.vnet.system_routes import system_routes

if TYPE_CHECKING:
    from nexthop.vnet.fabric import Fabric

__all__ = [
    "BGP_SAME_PREFIX",
    "EARLIER_SYSTEM_SAME_PREFIX",
    "GUARDING_TYPES",
    "compute_effective_routes",
    "effective_routes",
    "guarded_reason",
    "merge_bgp_routes",
    "to_az_json",
    "user_same_prefix_reason",
]

GUARDING_TYPES = frozenset({NextHopType.VNET_LOCAL, NextHopType.VNET_PEERING})
"""System routes that BGP routes inside them never beat (the §2 exception)."""
BGP_SAME_PREFIX = "a BGP route has the same prefix"
EARLIER_SYSTEM_SAME_PREFIX = "an earlier system route has the same prefix"


def guarded_reason(winner: Prefix) -> str:
    """Why a BGP route inside system route ``winner`` is Invalid."""
    return (
        f"system route {winner} for the virtual network or a peering is "
        "preferred even over more specific BGP routes"
    )


def user_same_prefix_reason(name: str) -> str:
    return f"user route {name!r} has the same prefix"


def merge_bgp_routes(bgp_routes: Iterable[BgpRoute]) -> dict[Prefix, tuple[int, ...]]:
    """Prefix -> ECMP next hops, merging repeated prefixes and dropping duplicate hops."""
    merged: dict[Prefix, tuple[int, ...]] = {}
    for route in bgp_routes:
        known = merged.get(route.prefix)
        if known is None:
            hops = route.next_hops
            merged[route.prefix] = hops if len(set(hops)) == len(hops) else _unique(hops)
        else:
            merged[route.prefix] = _unique(known + route.next_hops)
    return merged


def _unique(hops: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(hops))


def compute_effective_routes(
    *,
    vnet: VirtualNetwork,
    peered_vnets: Iterable[VirtualNetwork] = (),
    route_table: RouteTable | None = None,
    bgp_routes: Iterable[BgpRoute] = (),
) -> list[EffectiveRoute]:
    """Effective routes of any NIC in a subnet of ``vnet`` with ``route_table``.

    Output order: system routes, then BGP routes, then user routes, each in input
    order, like ``az network nic show-effective-route-table``.
    """
    disable = route_table.disable_bgp_route_propagation if route_table else False
    system = system_routes(vnet, peered_vnets)
    user = route_table.routes if route_table else ()
    bgp = {} if disable else merge_bgp_routes(bgp_routes)

    guards: PrefixTrie[None] = PrefixTrie()
    for route in system:
        if route.next_hop_type in GUARDING_TYPES:
            guards.insert(route.prefix, None)
    user_by_prefix = {route.address_prefix: route for route in user}

    result: list[EffectiveRoute] = []
    active_bgp: set[Prefix] = set()
    bgp_rows: list[EffectiveRoute] = []
    for prefix, hops in bgp.items():
        state, reason, winner = RouteState.ACTIVE, "", None
        covering = guards.covering(prefix)
        if covering:
            winner = covering[-1][0]
            state = RouteState.INVALID
            reason = guarded_reason(winner)
        elif prefix in user_by_prefix:
            winner = prefix
            state = RouteState.INVALID
            reason = user_same_prefix_reason(user_by_prefix[prefix].name)
        else:
            active_bgp.add(prefix)
        bgp_rows.append(
            EffectiveRoute(
                prefix=prefix,
                source=RouteSource.VIRTUAL_NETWORK_GATEWAY,
                state=state,
                next_hop_type=NextHopType.VIRTUAL_NETWORK_GATEWAY,
                next_hop_ips=hops,
                disable_bgp_route_propagation=disable,
                reason=reason,
                overridden_by=winner,
            )
        )

    seen_system: set[Prefix] = set()
    for route in system:
        state, reason, winner = RouteState.ACTIVE, "", None
        if route.prefix in user_by_prefix:
            state, winner = RouteState.INVALID, route.prefix
            reason = user_same_prefix_reason(user_by_prefix[route.prefix].name)
        elif route.prefix in active_bgp:
            state, winner = RouteState.INVALID, route.prefix
            reason = BGP_SAME_PREFIX
        elif route.prefix in seen_system:
            state, winner = RouteState.INVALID, route.prefix
            reason = EARLIER_SYSTEM_SAME_PREFIX
        seen_system.add(route.prefix)
        result.append(
            EffectiveRoute(
                prefix=route.prefix,
                source=RouteSource.DEFAULT,
                state=state,
                next_hop_type=route.next_hop_type,
                disable_bgp_route_propagation=disable,
                reason=reason,
                overridden_by=winner,
            )
        )
    result.extend(bgp_rows)
    result.extend(
        EffectiveRoute(
            prefix=route.address_prefix,
            source=RouteSource.USER,
            state=RouteState.ACTIVE,
            next_hop_type=route.next_hop_type,
            next_hop_ips=() if route.next_hop_ip is None else (route.next_hop_ip,),
            name=route.name,
            disable_bgp_route_propagation=disable,
        )
        for route in user
    )
    return result


def effective_routes(
    nic: Nic, fabric: Fabric, bgp_routes: Iterable[BgpRoute]
) -> list[EffectiveRoute]:
    """Effective routes of ``nic`` given the BGP routes programmed for its VNet.

    ``bgp_routes`` are the routes a route server (in this VNet, or in a peered hub
    through gateway transit) programs for the NIC; ``Fabric.effective_routes``
    gathers them. The fabric supplies the VNet, its connected peers and the subnet's
    route table.
    """
    subnet = fabric.subnet(nic.vnet, nic.subnet)
    return compute_effective_routes(
        vnet=fabric.vnet(nic.vnet),
        peered_vnets=fabric.peered_vnets(nic.vnet),
        route_table=fabric.route_table(subnet.route_table) if subnet.route_table else None,
        bgp_routes=bgp_routes,
    )


def to_az_json(routes: Iterable[EffectiveRoute]) -> dict[str, list[dict[str, object]]]:
    """The ``az network nic show-effective-route-table`` JSON for ``routes``.

    Field names follow the Azure REST ``EffectiveRoute`` model. A BGP route with
    several ECMP next hops becomes one row per next hop (spec §1.6 [obs]).
    """
    rows: list[dict[str, object]] = []
    for route in routes:
        hops = route.next_hop_texts()
        groups = (
            [[hop] for hop in hops]
            if route.source == RouteSource.VIRTUAL_NETWORK_GATEWAY and len(hops) > 1
            else [hops]
        )
        rows.extend(
            {
                "disableBgpRoutePropagation": route.disable_bgp_route_propagation,
                "source": str(route.source),
                "state": str(route.state),
                "addressPrefix": [str(route.prefix)],
                "nextHopType": str(route.next_hop_type),
                "nextHopIpAddress": group,
                "name": route.name,
            }
            for group in groups
        )
    return {"value": rows}

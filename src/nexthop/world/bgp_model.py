"""Model-level BGP between the NVAs and the route servers: UPDATEs, no TCP.

For every NVA ``neighbor`` statement that names a route server instance (and a
route server peering that names the NVA), the model opens a session on that
instance (``RouteServer.peer_established``) and sends what the NVA would send
(RFC 4271 §9.2, §5.1): each ``network`` statement and each prefix of the branches
it fronts, ORIGIN IGP, NEXT_HOP its own address, through the neighbor's outbound
route-map (``set ip next-hop`` to the load balancer frontend is the point of
route-server-spec §1.8), then its own AS prepended as an eBGP speaker does
(RFC 4271 §5.1.2). ``RouteServer.receive_update`` takes them.

The other direction: every ``SendUpdate`` the route server returns is applied to the
receiving NVA's table for that instance. The NVA drops routes carrying its own AS
(RFC 4271 §9.1.2 loop detection, which is why reflected NVA routes go nowhere) and
runs its inbound route-map. Each ``RoutesChanged`` the route server returns is
handed to ``World.routes_changed``: the fabric, whose BGP source is the route
server itself, re-reads exactly those prefixes (spec §1.6).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from nexthop.bgp.constants import Origin
from nexthop.bgp.rib.path import as_path_asns, prepend_as
from nexthop.bgp.wire.messages import PathAttributes, Update
from nexthop.bgp.wire.negotiated import Negotiated
from nexthop.net.prefix import Afi, Prefix
from nexthop.net.trie import PrefixTrie
from nexthop.nva import Accepted, Direction, evaluate_neighbor
from nexthop.routeserver import (
    AZURE_ASN,
    Output,
    RoutesChanged,
    RouteServerWarning,
    SendUpdate,
    TeardownPeering,
)
from nexthop.world.model import LearnedRoute, NvaNode, Session

if TYPE_CHECKING:
    from nexthop.world.build import World

__all__ = [
    "best_learned",
    "nva_prefixes",
    "outbound_updates",
    "sessions_down",
    "sessions_up",
    "start",
]



def nva_prefixes(node: NvaNode) -> tuple[Prefix, ...]:
    """What the NVA originates: ``network`` statements, then its branches' prefixes."""
    networks: tuple[Prefix, ...] = ()
    if node.config is not None and node.config.bgp is not None:
        networks = node.config.bgp.networks
    return tuple(dict.fromkeys((*networks, *node.branch_prefixes)))


def outbound_updates(node: NvaNode, session: Session) -> tuple[list[Update], dict[Prefix, str]]:
    """The UPDATEs ``node`` sends on ``session``, and the prefixes its route-map denied."""
    config = node.config
    if config is None or node.asn is None:
        return [], {}
    base = PathAttributes(origin=Origin.IGP, as_path=(), next_hop=node.ip)
    groups: dict[PathAttributes, list[Prefix]] = {}
    denied: dict[Prefix, str] = {}
    for prefix in nva_prefixes(node):
        result = evaluate_neighbor(config, session.instance_ip, Direction.OUT, prefix, base)
        if not isinstance(result, Accepted):
            where = "implicit deny" if result.sequence is None else f"deny {result.sequence}"
            denied[prefix] = f"route-map {result.route_map} out: {where}"
            continue
        attributes = result.attributes
        attributes = replace(attributes, as_path=prepend_as(attributes.as_path, node.asn))
        groups.setdefault(attributes, []).append(prefix)
    updates = [Update(attributes=attrs, nlri=tuple(prefixes)) for attrs, prefixes in groups.items()]
    return updates, denied


def _sessions(world: World, node: NvaNode) -> tuple[Session, ...]:
    """Sessions for every neighbor statement naming a route server instance that
    has a peering for this NVA's address."""
    if node.config is None or node.config.bgp is None:
        return ()
    sessions: list[Session] = []
    for neighbor in node.config.bgp.neighbors:
        for rs in world.route_servers.values():
            for role, address in rs.instance_ips.items():
                if address != neighbor.address:
                    continue
                peering = next((p for p in rs.server.peerings() if p.address == node.ip), None)
                if peering is None:
                    world.record(world.now, "bgp_no_peering", node.name, f"{rs.name} {role}")
                    continue
                sessions.append(
                    Session(
                        nva=node.name,
                        route_server=rs.name,
                        instance=role,
                        instance_ip=address,
                        peering=peering.name,
                    )
                )
    return tuple(sessions)


def start(world: World, now: float) -> None:
    """Open every session of every live NVA."""
    for node in world.nvas.values():
        node.sessions = _sessions(world, node)
    for node in world.nvas.values():
        sessions_up(world, node, now)


def _negotiated(world: World, node: NvaNode) -> Negotiated:
    router_id = None
    if node.config is not None and node.config.bgp is not None:
        router_id = node.config.bgp.router_id
    hold = int(world.options.hold_time)
    return Negotiated(
        route_refresh=True,
        local_asn=AZURE_ASN,
        peer_asn=node.asn or 0,
        peer_bgp_id=router_id or node.ip,
        hold_time=hold,
        keepalive_time=hold // 3,
    )


def sessions_up(world: World, node: NvaNode, now: float) -> None:
    """Establish the NVA's sessions that are down and send its routes on them."""
    if not node.up:
        return
    for session in node.sessions:
        key = (session.route_server, session.instance)
        if key in node.established:
            continue
        server = world.route_servers[session.route_server].server
        outputs = server.peer_established(
            session.instance, session.peering, _negotiated(world, node), now
        )
        node.established.add(key)
        world.record(now, "bgp_up", node.name, f"{session.route_server} {session.instance}")
        _handle(world, session.route_server, outputs)
        updates, denied = outbound_updates(node, session)
        for prefix, why in denied.items():
            node.rejected[(session.route_server, f"out:{session.instance}", prefix)] = why
        for update in updates:
            if key not in node.established:
                break  # torn down by the route server (e.g. max prefixes)
            _handle(
                world,
                session.route_server,
                server.receive_update(session.instance, session.peering, update, now),
            )


def sessions_down(world: World, node: NvaNode, now: float, reason: str) -> None:
    """The route server drops the NVA's sessions and withdraws what it learned."""
    for session in node.sessions:
        key = (session.route_server, session.instance)
        if key not in node.established:
            continue
        node.established.discard(key)
        server = world.route_servers[session.route_server].server
        world.record(now, "bgp_down", node.name, f"{session.route_server} {session.instance}")
        outputs = server.peer_down(session.instance, session.peering, now, reason)
        _handle(world, session.route_server, outputs)
    node.learned.clear()


def _find_session(
    world: World, rs: str, instance: str, peering: str
) -> tuple[NvaNode, Session] | None:
    for node in world.nvas.values():
        for session in node.sessions:
            if (session.route_server, session.instance, session.peering) == (rs, instance, peering):
                return node, session
    return None


def _handle(world: World, rs: str, outputs: list[Output]) -> None:
    for output in outputs:
        match output:
            case SendUpdate(instance=instance, peering=peering, update=update):
                found = _find_session(world, rs, instance, peering)
                if found is not None and (rs, instance) in found[0].established:
                    _receive(found[0], found[1], update)
            case TeardownPeering(instance=instance, peering=peering, reason=reason):
                found = _find_session(world, rs, instance, peering)
                if found is not None:
                    node = found[0]
                    node.established.discard((rs, instance))
                    for key in [k for k in node.learned if k[:2] == (rs, instance)]:
                        del node.learned[key]
                    world.record(world.now, "bgp_teardown", node.name, reason)
            case RoutesChanged(prefixes=prefixes):
                world.routes_changed(rs, prefixes)
            case RouteServerWarning(message=message):
                world.record(world.now, "rs_warning", rs, message)
            case _:
                pass


def _receive(node: NvaNode, session: Session, update: Update) -> None:
    """Apply one UPDATE from a route server instance to the NVA's table."""
    rs, instance = session.route_server, session.instance
    withdrawn = list(update.withdrawn)
    announced = list(update.nlri)
    if update.mp_unreach is not None and update.mp_unreach.afi == Afi.IPV4:
        withdrawn += update.mp_unreach.withdrawn
    if update.mp_reach is not None and update.mp_reach.afi == Afi.IPV4:
        announced += update.mp_reach.nlri
    for prefix in withdrawn:
        node.learned.pop((rs, instance, prefix), None)
    attrs = update.attributes
    if attrs is None or update.treat_as_withdraw or node.config is None:
        for prefix in announced:
            node.learned.pop((rs, instance, prefix), None)
        return
    path = as_path_asns(attrs)
    for prefix in announced:
        key = (rs, instance, prefix)
        node.learned.pop(key, None)
        if node.asn is not None and node.asn in path:
            node.rejected[key] = f"AS_PATH {' '.join(map(str, path))} holds own AS {node.asn}"
            continue
        result = evaluate_neighbor(node.config, session.instance_ip, Direction.IN, prefix, attrs)
        if not isinstance(result, Accepted):
            node.rejected[key] = f"route-map {result.route_map} in denies it"
            continue
        node.rejected.pop(key, None)
        accepted = result.attributes
        node.learned[key] = LearnedRoute(
            prefix=prefix,
            next_hop=accepted.next_hop if accepted.next_hop is not None else session.instance_ip,
            as_path=as_path_asns(accepted),
            route_server=rs,
            instance=instance,
            route_map=result.route_map,
        )


def best_learned(node: NvaNode, address: int) -> LearnedRoute | None:
    """The NVA's BGP route for ``address``: longest prefix, then the shortest
    AS_PATH, then the lower instance address (RFC 4271 §9.1.2.2, simplified)."""
    trie: PrefixTrie[list[LearnedRoute]] = PrefixTrie()
    for route in node.learned.values():
        existing = trie.get(route.prefix)
        if existing is None:
            trie.insert(route.prefix, [route])
        else:
            existing.append(route)
    match = trie.longest_match(Afi.IPV4, address)
    if match is None:
        return None
    return min(match[1], key=lambda r: (len(r.as_path), r.next_hop, r.instance))

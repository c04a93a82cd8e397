"""Builders for route server tests: a server with one VNet, NVAs, UPDATEs, and
helpers that read what the server asked to send."""

from __future__ import annotations

from typing import Any

from nexthop.bgp.constants import AsPathSegmentType
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes, Update
from nexthop.bgp.wire.negotiated import Negotiated
from nexthop.net.prefix import Prefix, parse_address, parse_prefix
from nexthop.routeserver import (
    INSTANCE_ROLES,
    Output,
    PeeringConfig,
    RouteServer,
    RouteServerConfig,
    SendUpdate,
)

SUBNET = parse_prefix("10.1.1.0/26")
VNET = parse_prefix("10.1.0.0/16")
NVA_NET = parse_prefix("10.100.0.0/16")
NVA1 = PeeringConfig(name="nva1", peer_ip="10.1.0.4", peer_asn=65001)
NVA2 = PeeringConfig(name="nva2", peer_ip="10.1.0.5", peer_asn=65001)
NVA3 = PeeringConfig(name="nva3", peer_ip="10.1.0.6", peer_asn=65003)
BGP_IDS = {"nva1": 1, "nva2": 2, "nva3": 3}


def ip(text: str) -> int:
    return parse_address(text)[1]


def server(**settings: Any) -> RouteServer:
    config = RouteServerConfig(name="ars", subnet=SUBNET, vnet_address_spaces=(VNET,), **settings)
    return RouteServer(config)


def negotiated(peering: PeeringConfig, *, route_refresh: bool = True) -> Negotiated:
    return Negotiated(
        asn4=True,
        route_refresh=route_refresh,
        local_asn=65515,
        peer_asn=peering.peer_asn,
        peer_bgp_id=BGP_IDS.get(peering.name, 9),
    )


def connect(
    rs: RouteServer,
    *peerings: PeeringConfig,
    now: float = 0.0,
    instances: tuple[str, ...] = INSTANCE_ROLES,
    route_refresh: bool = True,
) -> list[Output]:
    """Configure (if needed) and bring up each peering on ``instances``."""
    outputs: list[Output] = []
    for peering in peerings:
        if peering.name not in {p.name for p in rs.peerings()}:
            rs.add_peering(peering)
        for role in instances:
            outputs += rs.peer_established(
                role, peering.name, negotiated(peering, route_refresh=route_refresh), now
            )
    return outputs


def announce(
    *prefixes: Prefix | str,
    as_path: tuple[int, ...] = (65001,),
    next_hop: str = "10.1.0.100",
    communities: tuple[int, ...] = (),
    med: int | None = None,
) -> Update:
    attrs = PathAttributes(
        med=med,
        as_path=(AsPathSegment(AsPathSegmentType.AS_SEQUENCE, as_path),) if as_path else (),
        next_hop=ip(next_hop),
        communities=communities,
    )
    nlri = tuple(parse_prefix(p) if isinstance(p, str) else p for p in prefixes)
    return Update(attributes=attrs, nlri=nlri)


def withdraw(*prefixes: Prefix | str) -> Update:
    return Update(withdrawn=tuple(parse_prefix(p) if isinstance(p, str) else p for p in prefixes))


def send_both(rs: RouteServer, peering: str, update: Update, now: float = 0.0) -> list[Output]:
    """An NVA sends the same UPDATE to both instances, as Azure requires."""
    outputs: list[Output] = []
    for role in INSTANCE_ROLES:
        outputs += rs.receive_update(role, peering, update, now)
    return outputs


def updates_to(outputs: list[Output], instance: str, peering: str) -> list[Update]:
    return [
        o.update
        for o in outputs
        if isinstance(o, SendUpdate) and o.instance == instance and o.peering == peering
    ]


def announced_to(
    outputs: list[Output], instance: str, peering: str
) -> dict[Prefix, PathAttributes]:
    seen: dict[Prefix, PathAttributes] = {}
    for u in updates_to(outputs, instance, peering):
        for prefix in u.nlri:
            assert u.attributes is not None
            seen[prefix] = u.attributes
    return seen


def withdrawn_to(outputs: list[Output], instance: str, peering: str) -> set[Prefix]:
    return {p for u in updates_to(outputs, instance, peering) for p in u.withdrawn}

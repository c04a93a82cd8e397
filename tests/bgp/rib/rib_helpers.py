"""Builders for RIB tests: paths with just the attributes a test cares about."""

from __future__ import annotations

from nexthop.bgp.constants import AsPathSegmentType
from nexthop.bgp.rib.path import Path, PeerType
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes
from nexthop.net.prefix import Prefix, parse_address, parse_prefix

P = parse_prefix("10.100.0.0/16")


def ip(text: str) -> int:
    return parse_address(text)[1]


def seq(*asns: int) -> AsPathSegment:
    return AsPathSegment(AsPathSegmentType.AS_SEQUENCE, asns)


def aset(*asns: int) -> AsPathSegment:
    return AsPathSegment(AsPathSegmentType.AS_SET, asns)


def path(
    source: str = "a",
    *,
    prefix: Prefix = P,
    as_path: tuple[AsPathSegment, ...] = (),
    origin: int = 0,
    med: int | None = None,
    local_pref: int | None = None,
    weight: int = 0,
    peer_type: PeerType = PeerType.EBGP,
    router_id: int = 1,
    address: str = "10.0.0.1",
    next_hop: str = "10.0.0.1",
    path_id: int = 0,
    communities: tuple[int, ...] = (),
) -> Path:
    attrs = PathAttributes(
        origin=origin,
        as_path=as_path,
        next_hop=ip(next_hop),
        med=med,
        local_pref=local_pref,
        communities=communities,
    )
    return Path(
        prefix=prefix,
        attributes=attrs,
        next_hops=(ip(next_hop),),
        source=source,
        source_address=ip(address),
        router_id=router_id,
        peer_type=peer_type,
        path_id=path_id,
        weight=weight,
    )

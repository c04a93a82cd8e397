"""``NvaSpeaker``: own-AS drop, route-maps both ways, next hops, withdraw, session down."""

from __future__ import annotations

import ipaddress

import pytest

from nexthop.bgp.constants import AsPathSegmentType
from nexthop.bgp.rib.path import as_path_asns
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes, Update
from nexthop.net.prefix import parse_prefix
from nexthop.nva import parse_frr_config
from nexthop.nva.speaker import NvaSpeaker


def ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


RS0, RS1 = ip("10.1.1.4"), ip("10.1.1.5")
CONFIG = parse_frr_config(
    """
router bgp 65001
 neighbor 10.1.1.4 remote-as 65515
 neighbor 10.1.1.4 route-map OUT out
 neighbor 10.1.1.4 route-map IN in
 neighbor 10.1.1.5 remote-as 65515
 network 192.168.0.0/16
 network 172.16.0.0/12
!
ip prefix-list BRANCH seq 5 permit 192.168.0.0/16
ip prefix-list SPOKES seq 5 permit 10.0.0.0/8 le 24
!
route-map OUT permit 10
 match ip address prefix-list BRANCH
 set ip next-hop 10.1.0.100
!
route-map IN permit 10
 match ip address prefix-list SPOKES
"""
)


def attrs(*asns: int, next_hop: str = "10.1.1.4") -> PathAttributes:
    return PathAttributes(
        origin=0,
        as_path=(AsPathSegment(AsPathSegmentType.AS_SEQUENCE, asns),),
        next_hop=ip(next_hop),
    )


def speaker() -> NvaSpeaker:
    return NvaSpeaker(CONFIG, ip("10.1.0.4"), extra_prefixes=(parse_prefix("192.168.0.0/16"),))


def test_outbound_route_map_sets_the_next_hop_and_denies_the_rest() -> None:
    out = speaker().session_up(RS0)
    assert list(out.routes) == [parse_prefix("192.168.0.0/16")]
    sent = out.routes[parse_prefix("192.168.0.0/16")]
    assert sent.next_hop == ip("10.1.0.100")
    assert as_path_asns(sent) == (65001,)
    assert out.denied == {parse_prefix("172.16.0.0/12"): "route-map OUT out: implicit deny"}
    assert [u.nlri for u in out.updates] == [(parse_prefix("192.168.0.0/16"),)]


def test_without_route_map_the_own_address_is_the_next_hop() -> None:
    out = speaker().session_up(RS1)
    assert {p: a.next_hop for p, a in out.routes.items()} == {
        parse_prefix("192.168.0.0/16"): ip("10.1.0.4"),
        parse_prefix("172.16.0.0/12"): ip("10.1.0.4"),
    }


def test_routes_carrying_the_own_as_are_dropped() -> None:
    s = speaker()
    s.session_up(RS1)
    s.receive(RS1, Update(attributes=attrs(65515, 65001), nlri=(parse_prefix("10.2.0.0/16"),)))
    assert dict(s.routes(RS1)) == {}
    reason = "AS_PATH 65515 65001 holds own AS 65001"
    assert s.rejected(RS1) == {parse_prefix("10.2.0.0/16"): reason}
    assert s.best(ip("10.2.0.1")) is None


def test_inbound_route_map_filters_and_best_is_longest_prefix() -> None:
    s = speaker()
    s.session_up(RS0)
    s.session_up(RS1)
    wide, narrow = parse_prefix("10.0.0.0/8"), parse_prefix("10.2.0.0/16")
    s.receive(RS0, Update(attributes=attrs(65515), nlri=(parse_prefix("10.9.9.0/25"),)))
    assert "route-map IN in denies it" in s.rejected(RS0).values()
    s.receive(RS0, Update(attributes=attrs(65515), nlri=(wide,)))
    s.receive(RS1, Update(attributes=attrs(65515, next_hop="10.1.1.5"), nlri=(narrow,)))
    best = s.best(ip("10.2.3.4"))
    assert best is not None
    assert (best.prefix, best.neighbor, best.next_hop) == (narrow, RS1, RS1)
    other = s.best(ip("10.7.0.1"))
    assert other is not None
    assert other.prefix == wide


def test_withdraw_and_session_down_drop_routes() -> None:
    s = speaker()
    s.session_up(RS1)
    prefix = parse_prefix("10.2.0.0/16")
    s.receive(RS1, Update(attributes=attrs(65515, next_hop="10.1.1.5"), nlri=(prefix,)))
    assert s.best(ip("10.2.0.1")) is not None
    s.receive(RS1, Update(withdrawn=(prefix,)))
    assert s.best(ip("10.2.0.1")) is None
    s.receive(RS1, Update(attributes=attrs(65515, next_hop="10.1.1.5"), nlri=(prefix,)))
    assert s.session_down(RS1) == [prefix]
    assert not s.is_established(RS1)
    assert s.best(ip("10.2.0.1")) is None
    s.receive(RS1, Update(attributes=attrs(65515, next_hop="10.1.1.5"), nlri=(prefix,)))
    assert list(s.learned()) == []  # ignored while down


def test_unknown_neighbor_and_missing_router_bgp() -> None:
    with pytest.raises(KeyError, match="no neighbor"):
        speaker().session_up(ip("10.9.9.9"))
    with pytest.raises(ValueError, match="router bgp"):
        NvaSpeaker(parse_frr_config(""), ip("10.1.0.4"))

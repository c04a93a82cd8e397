"""What an NVA announces is checked before it is used (``routeserver/inbound.py``):
the leftmost AS must be the NVA's (RFC 4271 §6.3, treat-as-withdraw per RFC 7606
§7.2) and the NEXT_HOP must be a usable host address that is not the route
server's own (RFC 4271 §6.3: logged, route ignored, no NOTIFICATION). The
sans-IO route server is driven directly; ``tests/serve/test_conformance_updates.py``
sends the same cases over TCP to ``nexthop serve``."""

from __future__ import annotations

import pytest
from rs_helpers import NVA1, NVA3, NVA_NET, announce, connect, send_both, server, updates_to

from nexthop.bgp.constants import AsPathSegmentType
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes, Update
from nexthop.net.prefix import Afi, Prefix, parse_address
from nexthop.routeserver import (
    IN_0,
    IN_1,
    Output,
    RoutesChanged,
    RouteServer,
    RouteServerWarning,
    TeardownPeering,
)
from nexthop.routeserver.inbound import first_as_problem, next_hop_problem


def _learned(rs: RouteServer, peering: str) -> set[str]:
    rows = rs.learned_routes(peering)
    return {r["network"] for role in (IN_0, IN_1) for r in rows[role]}


def _programmed(rs: RouteServer) -> set[Prefix]:
    return {prefix for prefix, _hops in rs.vnet_routes()}


def _warnings(outputs: list[Output]) -> list[str]:
    return [o.message for o in outputs if isinstance(o, RouteServerWarning)]


@pytest.mark.parametrize(
    ("as_path", "words"),
    [
        ((), "empty AS_PATH"),
        ((65003,), "leftmost AS 65003"),
        ((65099, 65001), "leftmost AS 65099"),
    ],
)
def test_a_path_not_starting_with_the_peers_as_is_treated_as_withdraw(
    as_path: tuple[int, ...], words: str
) -> None:
    rs = server()
    connect(rs, NVA1, NVA3)
    send_both(rs, "nva1", announce(NVA_NET, as_path=(65001, 7)))
    assert _learned(rs, "nva1") == {str(NVA_NET)}
    out = send_both(rs, "nva1", announce(NVA_NET, as_path=as_path))
    # The earlier path is withdrawn (RFC 7606 §2 treat-as-withdraw), nothing is
    # stored, no session is reset, and the reason is logged.
    assert _learned(rs, "nva1") == set()
    assert rs.peering_status("nva1")[IN_0].received_routes == 0
    assert not [o for o in out if isinstance(o, TeardownPeering)]
    assert NVA_NET not in _programmed(rs)
    assert {p for u in updates_to(out, IN_0, "nva3") for p in u.withdrawn} == {NVA_NET}
    texts = _warnings(out)
    assert len(texts) == 2
    assert all(words in t and "treated as withdraw" in t for t in texts)
    assert NVA_NET not in _programmed(rs)
    # A correct path afterwards is learned again: the check is per UPDATE.
    send_both(rs, "nva1", announce(NVA_NET, as_path=(65001,)))
    assert _learned(rs, "nva1") == {str(NVA_NET)}


def test_a_path_starting_with_an_as_set_fails_the_first_as_check() -> None:
    attrs = PathAttributes(as_path=(AsPathSegment(AsPathSegmentType.AS_SET, (65001,)),))
    problem = first_as_problem(attrs, 65001)
    assert problem is not None
    assert "segment of type 1" in problem
    good = PathAttributes(as_path=(AsPathSegment(AsPathSegmentType.AS_SEQUENCE, (65001, 1)),))
    assert first_as_problem(good, 65001) is None


@pytest.mark.parametrize(
    ("next_hop", "words"),
    [
        ("10.1.1.4", "route server's own address"),  # IN_0
        ("10.1.1.5", "route server's own address"),  # IN_1, refused on IN_0 too
        ("0.0.0.0", "unspecified"),
        ("224.0.0.5", "multicast"),
        ("239.255.255.250", "multicast"),
        ("255.255.255.255", "reserved or broadcast"),
        ("127.0.0.1", "loopback"),
    ],
)
def test_a_semantically_incorrect_next_hop_is_kept_as_rejected_and_not_used(
    next_hop: str, words: str
) -> None:
    rs = server()
    connect(rs, NVA1, NVA3)
    send_both(rs, "nva1", announce(NVA_NET, next_hop="10.1.0.100"))
    out = send_both(rs, "nva1", announce(NVA_NET, next_hop=next_hop))
    assert not [o for o in out if isinstance(o, TeardownPeering)]
    assert _learned(rs, "nva1") == set()
    assert NVA_NET not in _programmed(rs)
    assert {p for u in updates_to(out, IN_0, "nva3") for p in u.withdrawn} == {NVA_NET}
    status = rs.peering_status("nva1")[IN_0]
    assert (status.received_routes, status.accepted_routes, status.rejected_routes) == (1, 0, 1)
    [(path, reason)] = rs.rejected_routes("nva1")[IN_0]
    assert path.prefix == NVA_NET
    assert words in reason
    assert next_hop in reason
    assert all(words in t for t in _warnings(out))
    assert [o for o in out if isinstance(o, RoutesChanged)]  # the VNet lost the route


def test_good_next_hops_in_the_same_update_stream_are_unaffected() -> None:
    rs = server()
    connect(rs, NVA1)
    send_both(rs, "nva1", announce("192.168.0.0/16", next_hop="10.1.0.100"))
    send_both(rs, "nva1", announce("192.169.0.0/16", next_hop="0.0.0.0"))
    assert _learned(rs, "nva1") == {"192.168.0.0/16"}
    assert {str(p) for p in _programmed(rs)} == {"192.168.0.0/16"}


def test_next_hop_problem_covers_ipv6() -> None:
    assert next_hop_problem(Afi.IPV6, parse_address("::")[1], ()) is not None
    assert next_hop_problem(Afi.IPV6, parse_address("ff02::5")[1], ()) is not None
    assert next_hop_problem(Afi.IPV6, parse_address("2001:db8::1")[1], ()) is None


def test_an_update_with_only_withdrawals_is_not_checked() -> None:
    rs = server()
    connect(rs, NVA1)
    send_both(rs, "nva1", announce(NVA_NET))
    out = send_both(rs, "nva1", Update(withdrawn=(NVA_NET,)))
    assert _learned(rs, "nva1") == set()
    assert not _warnings(out)

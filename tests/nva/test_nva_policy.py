"""Prefix-list and route-map evaluation, including a brute-force property check."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexthop.bgp.constants import AsPathSegmentType, WellKnownCommunity
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes
from nexthop.net.prefix import Afi, Prefix, parse_prefix
from nexthop.nva import (
    Accepted,
    Direction,
    Rejected,
    evaluate_neighbor,
    evaluate_route_map,
    match_prefix_list,
    parse_frr_config,
    prefix_list_permits,
)
from nexthop.nva.policy import prepend_as_path

SEQ = AsPathSegmentType.AS_SEQUENCE
SET = AsPathSegmentType.AS_SET


def ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def community(text: str) -> int:
    high, low = text.split(":")
    return (int(high) << 16) | int(low)


def permits(lines: str, prefix: str) -> bool:
    config = parse_frr_config(lines)
    return prefix_list_permits(config.prefix_lists["L"], parse_prefix(prefix))


# --- prefix-lists ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "prefix", "expected"),
    [
        ("10.0.0.0/8", "10.0.0.0/8", True),
        ("10.0.0.0/8", "10.1.0.0/16", False),  # no ge/le: exact length only
        ("10.0.0.0/8", "11.0.0.0/8", False),
        ("10.0.0.0/8 le 16", "10.0.0.0/8", True),
        ("10.0.0.0/8 le 16", "10.1.0.0/16", True),
        ("10.0.0.0/8 le 16", "10.1.1.0/24", False),
        ("10.0.0.0/8 ge 16", "10.0.0.0/8", False),
        ("10.0.0.0/8 ge 16", "10.1.1.1/32", True),
        ("10.0.0.0/8 ge 16 le 24", "10.1.0.0/16", True),
        ("10.0.0.0/8 ge 16 le 24", "10.1.1.0/24", True),
        ("10.0.0.0/8 ge 16 le 24", "10.1.1.128/25", False),
        ("10.0.0.0/8 ge 16 le 24", "10.0.0.0/12", False),
        ("192.168.0.0/16 ge 24 le 24", "192.168.10.0/24", True),
        ("any", "203.0.113.0/24", True),
        ("any", "0.0.0.0/0", True),
    ],
)
def test_prefix_list_ge_le(entry: str, prefix: str, expected: bool) -> None:
    assert permits(f"ip prefix-list L seq 5 permit {entry}\n", prefix) is expected


def test_first_match_by_sequence_wins() -> None:
    text = (
        "ip prefix-list L seq 20 permit 10.0.0.0/8 le 32\n"
        "ip prefix-list L seq 10 deny 10.1.0.0/16 le 32\n"
    )
    assert not permits(text, "10.1.2.0/24")
    assert permits(text, "10.2.0.0/16")
    plist = parse_frr_config(text).prefix_lists["L"]
    decided = match_prefix_list(plist, parse_prefix("10.1.2.0/24"))
    assert decided is not None
    assert decided.sequence == 10


def test_prefix_list_implicit_deny() -> None:
    text = "ip prefix-list L seq 5 permit 10.0.0.0/8 le 32\n"
    assert not permits(text, "192.168.0.0/16")
    plist = parse_frr_config(text).prefix_lists["L"]
    assert match_prefix_list(plist, parse_prefix("192.168.0.0/16")) is None


def test_prefix_list_ignores_other_families() -> None:
    plist = parse_frr_config("ip prefix-list L seq 5 permit any\n").prefix_lists["L"]
    assert not prefix_list_permits(plist, Prefix(Afi.IPV6, 0, 0))


# Brute-force reference: compare the leading bits as text, then the length range
# written out case by case from the FRR documentation.
def reference_entry(prefix: str, ge: int | None, le: int | None, route: Prefix) -> bool:
    net = ipaddress.IPv4Network(prefix)
    bits = format(int(net.network_address), "032b")[: net.prefixlen]
    route_bits = format(route.value, "032b")
    if route.length < net.prefixlen or not route_bits.startswith(bits):
        return False
    if ge is None and le is None:
        return route.length == net.prefixlen
    if ge is None:
        return net.prefixlen <= route.length <= (le or 0)
    if le is None:
        return ge <= route.length <= 32
    return ge <= route.length <= le


@st.composite
def prefixes(draw: st.DrawFn, max_length: int = 32) -> Prefix:
    length = draw(st.integers(0, max_length))
    # Addresses from a small pool so that entries and routes often overlap.
    top = draw(st.sampled_from([0x0A000000, 0x0A010000, 0x0A018000, 0xC0A80000, 0xFFFFFFFF]))
    noise = draw(st.integers(0, 0xFFFF)) if draw(st.booleans()) else 0
    value = (top | noise) & ((0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF)
    return Prefix(Afi.IPV4, value, length)


@st.composite
def entries(draw: st.DrawFn) -> tuple[str, str, int | None, int | None]:
    prefix = draw(prefixes(max_length=31))
    action = draw(st.sampled_from(["permit", "deny"]))
    ge = draw(st.none() | st.integers(prefix.length + 1, 32))
    le = draw(st.none() | st.integers(ge if ge is not None else prefix.length, 32))
    return action, str(prefix), ge, le


@given(st.lists(entries(), min_size=1, max_size=6), prefixes())
def test_prefix_list_matches_brute_force(
    spec: list[tuple[str, str, int | None, int | None]], route: Prefix
) -> None:
    lines = []
    for seq, (action, prefix, ge, le) in enumerate(spec, start=1):
        line = f"ip prefix-list L seq {seq * 5} {action} {prefix}"
        line += f" ge {ge}" if ge is not None else ""
        line += f" le {le}" if le is not None else ""
        lines.append(line)
    plist = parse_frr_config("\n".join(lines) + "\n").prefix_lists["L"]
    expected = next(
        (action == "permit" for action, p, ge, le in spec if reference_entry(p, ge, le, route)),
        False,
    )
    assert prefix_list_permits(plist, route) is expected


# --- route-maps -------------------------------------------------------------------

ROUTE_MAP = """\
ip prefix-list ONPREM seq 5 permit 192.168.0.0/16 le 24
ip prefix-list BOGON seq 5 permit 10.99.0.0/16 le 32
route-map RM deny 5
 match ip address prefix-list BOGON
route-map RM permit 20
 set community 65001:20
route-map RM permit 10
 match ip address prefix-list ONPREM
 set ip next-hop 10.1.0.100
 set as-path prepend 65001 65001
 set community 65001:100 no-export additive
"""


def run(text: str, prefix: str, attributes: PathAttributes) -> Accepted | Rejected:
    config = parse_frr_config(text)
    return evaluate_route_map(
        config.route_maps["RM"], config.prefix_lists, parse_prefix(prefix), attributes
    )


def test_permit_applies_sets_of_the_matching_entry() -> None:
    attributes = PathAttributes(
        as_path=(AsPathSegment(SEQ, (65010,)),),
        next_hop=ip("10.1.0.4"),
        communities=(community("65001:100"), community("65000:1")),
    )
    result = run(ROUTE_MAP, "192.168.10.0/24", attributes)
    assert result == Accepted(
        attributes=PathAttributes(
            as_path=(AsPathSegment(SEQ, (65001, 65001, 65010)),),
            next_hop=ip("10.1.0.100"),
            communities=(
                community("65000:1"),
                community("65001:100"),
                int(WellKnownCommunity.NO_EXPORT),
            ),
        ),
        route_map="RM",
        sequence=10,
        line=7,
    )


def test_deny_entry_rejects_and_names_itself() -> None:
    result = run(ROUTE_MAP, "10.99.1.0/24", PathAttributes())
    assert result == Rejected(route_map="RM", sequence=5, line=3)
    assert not result.implicit


def test_entry_without_match_matches_everything_and_replaces_communities() -> None:
    attributes = PathAttributes(communities=(community("65000:1"),), next_hop=ip("10.1.0.4"))
    result = run(ROUTE_MAP, "172.16.0.0/12", attributes)
    assert isinstance(result, Accepted)
    assert result.sequence == 20
    assert result.attributes == PathAttributes(
        communities=(community("65001:20"),), next_hop=ip("10.1.0.4")
    )


def test_implicit_deny_when_no_entry_matches() -> None:
    text = (
        "ip prefix-list P seq 5 permit 10.0.0.0/8\n"
        "route-map RM permit 10\n match ip address prefix-list P\n"
    )
    result = run(text, "192.168.0.0/16", PathAttributes())
    assert result == Rejected(route_map="RM")
    assert result.implicit


def test_prefix_list_deny_means_entry_does_not_match() -> None:
    text = (
        "ip prefix-list P seq 5 deny 10.1.0.0/16\n"
        "ip prefix-list P seq 10 permit 10.0.0.0/8 le 16\n"
        "route-map RM deny 10\n match ip address prefix-list P\n"
        "route-map RM permit 20\n"
    )
    assert isinstance(run(text, "10.1.0.0/16", PathAttributes()), Accepted)
    assert isinstance(run(text, "10.2.0.0/16", PathAttributes()), Rejected)


def test_set_community_none_clears() -> None:
    text = "route-map RM permit 10\n set community none\n"
    result = run(text, "10.0.0.0/8", PathAttributes(communities=(community("1:1"),)))
    assert isinstance(result, Accepted)
    assert result.attributes.communities == ()


def test_prepend_before_an_as_set_starts_a_new_segment() -> None:
    path = (AsPathSegment(SET, (65020, 65030)),)
    assert prepend_as_path(path, (65001,)) == (AsPathSegment(SEQ, (65001,)), *path)


def test_prepend_onto_an_empty_path() -> None:
    assert prepend_as_path((), (65001, 65001)) == (AsPathSegment(SEQ, (65001, 65001)),)
    assert prepend_as_path((), ()) == ()


def test_prepend_splits_segments_at_255() -> None:
    path = (AsPathSegment(SEQ, tuple(range(1, 255))),)  # 254 ASNs
    result = prepend_as_path(path, (65001, 65002))
    assert [len(s.asns) for s in result] == [1, 255]
    assert result[0].asns + result[1].asns == (65001, 65002, *range(1, 255))


def test_article_route_map_sets_the_load_balancer_next_hop() -> None:
    config = parse_frr_config(
        "router bgp 65001\n"
        " neighbor 10.1.1.4 remote-as 65515\n"
        " neighbor 10.1.1.4 route-map SET-NEXTHOP out\n"
        " neighbor 10.1.1.5 remote-as 65515\n"
        "route-map SET-NEXTHOP permit 10\n"
        " set ip next-hop 10.1.0.100\n"
    )
    route = parse_prefix("192.168.0.0/16")
    sent = PathAttributes(next_hop=ip("10.1.0.4"))
    out = evaluate_neighbor(config, ip("10.1.1.4"), Direction.OUT, route, sent)
    assert isinstance(out, Accepted)
    assert out.attributes.next_hop == ip("10.1.0.100")
    # No inbound route-map, and none at all toward 10.1.1.5: accepted unchanged.
    assert evaluate_neighbor(config, ip("10.1.1.4"), Direction.IN, route, sent) == Accepted(
        attributes=sent
    )
    assert evaluate_neighbor(config, ip("10.1.1.5"), Direction.OUT, route, sent) == Accepted(
        attributes=sent
    )
    with pytest.raises(KeyError):
        evaluate_neighbor(config, ip("10.1.1.6"), Direction.OUT, route, sent)

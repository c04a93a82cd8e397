"""Parser tests: every supported statement, the article's configuration, and errors."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from nexthop.bgp.constants import WellKnownCommunity
from nexthop.net.prefix import parse_prefix
from nexthop.nva import (
    Action,
    FrrConfigError,
    Neighbor,
    PrefixListEntry,
    SetAsPathPrepend,
    SetCommunity,
    SetNextHop,
    parse_community,
    parse_frr_config,
)

# The NVA configuration of the Azure Route Server "Next hop IP support" article
# (route-server spec §1.8) for the addresses of examples/next-hop-ip.yaml: both
# route server instances as eBGP neighbors in AS 65515 and an outbound route-map
# that sets the internal load balancer frontend as next hop.
ARTICLE_CONFIG = (Path(__file__).parent / "article-config.txt").read_text()


def ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def error_of(text: str) -> FrrConfigError:
    with pytest.raises(FrrConfigError) as info:
        parse_frr_config(text)
    return info.value


def test_article_config() -> None:
    config = parse_frr_config(ARTICLE_CONFIG)
    assert config.bgp is not None
    assert config.bgp.asn == 65001
    assert config.bgp.line == 1
    assert config.bgp.neighbors == (
        Neighbor(
            address=ip("10.1.1.4"),
            remote_as=65515,
            route_map_out="SET-NEXTHOP",
            activated=True,
            line=2,
        ),
        Neighbor(
            address=ip("10.1.1.5"),
            remote_as=65515,
            route_map_out="SET-NEXTHOP",
            activated=True,
            line=3,
        ),
    )
    (entry,) = config.route_maps["SET-NEXTHOP"].entries
    assert entry.action is Action.PERMIT
    assert entry.sequence == 10
    assert entry.match_prefix_list is None
    assert entry.sets == (SetNextHop(address=ip("10.1.0.100"), line=12),)
    assert config.prefix_lists == {}


def test_router_bgp_statements() -> None:
    config = parse_frr_config(
        "router bgp 65001\n"
        " bgp router-id 10.0.0.1\n"
        " no bgp ebgp-requires-policy\n"
        " no bgp network import-check\n"
        " neighbor 10.0.0.9 remote-as 65515\n"
        " neighbor 10.0.0.9 ebgp-multihop\n"
        " neighbor 10.0.0.9 next-hop-self\n"
        " neighbor 10.0.0.9 description route server IN_0\n"
        " neighbor 10.0.0.9 route-map IN in\n"
        " neighbor 10.0.0.8 remote-as 65002\n"
        " neighbor 10.0.0.8 ebgp-multihop 2\n"
        " network 192.168.0.0/16\n"
        " network 172.16.0.0 mask 255.240.0.0\n"
        " address-family ipv4 unicast\n"
        "  network 192.168.0.0/16\n"
        "  neighbor 10.0.0.8 activate\n"
        "  neighbor 10.0.0.8 route-map OUT out\n"
        " exit-address-family\n"
        "route-map IN permit 10\n"
        "route-map OUT deny 10\n"
    )
    bgp = config.bgp
    assert bgp is not None
    assert bgp.router_id == ip("10.0.0.1")
    first, second = bgp.neighbors
    assert first == Neighbor(
        address=ip("10.0.0.9"),
        remote_as=65515,
        ebgp_multihop=255,
        next_hop_self=True,
        route_map_in="IN",
        description="route server IN_0",
        line=5,
    )
    assert second.ebgp_multihop == 2
    assert second.activated
    assert second.route_map_out == "OUT"
    assert second.route_map_in is None
    # duplicate network statements collapse, order kept
    assert bgp.networks == (parse_prefix("192.168.0.0/16"), parse_prefix("172.16.0.0/12"))
    assert bgp.neighbor(ip("10.0.0.8")) is second
    assert bgp.neighbor(ip("10.0.0.7")) is None


def test_prefix_list_statements() -> None:
    config = parse_frr_config(
        "ip prefix-list L description on-premises ranges\n"
        "ip prefix-list L seq 20 deny 10.0.0.0/8 ge 16 le 24\n"
        "ip prefix-list L permit 192.168.0.0/16 le 24\n"
        "ip prefix-list L permit 172.16.0.0/12 ge 20\n"
        "ip prefix-list L seq 5 deny any\n"
        "ip prefix-list L seq 20 permit 10.0.0.0/8\n"  # same seq replaces
    )
    plist = config.prefix_lists["L"]
    assert plist.line == 1
    assert plist.entries == (
        PrefixListEntry(
            sequence=5, action=Action.DENY, prefix=parse_prefix("0.0.0.0/0"), le=32, line=5
        ),
        PrefixListEntry(
            sequence=20, action=Action.PERMIT, prefix=parse_prefix("10.0.0.0/8"), line=6
        ),
        # no seq: the next multiple of 5 after the highest so far
        PrefixListEntry(
            sequence=25,
            action=Action.PERMIT,
            prefix=parse_prefix("192.168.0.0/16"),
            le=24,
            line=3,
        ),
        PrefixListEntry(
            sequence=30,
            action=Action.PERMIT,
            prefix=parse_prefix("172.16.0.0/12"),
            ge=20,
            line=4,
        ),
    )


def test_route_map_statements() -> None:
    config = parse_frr_config(
        "ip prefix-list P seq 5 permit 10.0.0.0/8 le 32\n"
        "route-map RM deny 20\n"
        " description drop the rest\n"
        "route-map RM permit 10\n"
        " match ip address prefix-list P\n"
        " set ip next-hop 10.1.0.100\n"
        " set as-path prepend 65001 65001\n"
        " set community 65001:100 no-export 65001:100 additive\n"
        "exit\n"
        "route-map RM permit 20\n"  # re-entering seq 20 changes its action
        " set community none\n"
        "end\n"
    )
    first, second = config.route_maps["RM"].entries
    assert (first.sequence, first.action, first.match_prefix_list) == (10, Action.PERMIT, "P")
    assert first.sets == (
        SetNextHop(address=ip("10.1.0.100"), line=6),
        SetAsPathPrepend(asns=(65001, 65001), line=7),
        SetCommunity(
            communities=((65001 << 16) | 100, WellKnownCommunity.NO_EXPORT),
            additive=True,
            line=8,
        ),
    )
    assert (second.sequence, second.action, second.line) == (20, Action.PERMIT, 2)
    assert second.sets == (SetCommunity(communities=(), additive=False, line=11),)


def test_later_set_of_same_kind_replaces() -> None:
    config = parse_frr_config(
        "route-map RM permit 10\n set ip next-hop 10.0.0.1\n set ip next-hop 10.0.0.2\n"
    )
    assert config.route_maps["RM"].entries[0].sets == (SetNextHop(address=ip("10.0.0.2"), line=3),)


def test_comments_blank_lines_and_ignored_globals() -> None:
    config = parse_frr_config(
        "frr version 8.4\nfrr defaults traditional\nhostname nva1\nlog stdout\n"
        "# a comment\n\n!\nrouter bgp 65001\n"
    )
    assert config.bgp is not None
    assert config.bgp.line == 8


def test_empty_config() -> None:
    config = parse_frr_config("")
    assert config.bgp is None
    assert config.route_maps == {}


@pytest.mark.parametrize("text", ["65536:1", "1:65536", "x:1", "4294967296", "no-such", ""])
def test_parse_community_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid community"):
        parse_community(text)


def test_parse_community_forms() -> None:
    assert parse_community("65001:100") == (65001 << 16) | 100
    assert parse_community("4259840100") == 4259840100
    assert parse_community("no-advertise") == WellKnownCommunity.NO_ADVERTISE
    assert parse_community("local-AS") == WellKnownCommunity.NO_EXPORT_SUBCONFED
    assert parse_community("no-peer") == WellKnownCommunity.NO_PEER
    assert parse_community("blackhole") == WellKnownCommunity.BLACKHOLE
    assert parse_community("graceful-shutdown") == WellKnownCommunity.GRACEFUL_SHUTDOWN


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (
            "router bgp 65001\n neighbour 10.0.0.1 remote-as 65515\n",
            2,
            "unknown statement 'neighbour 10.0.0.1 remote-as 65515' in router bgp",
        ),
        ("interface eth0\n", 1, "unknown statement 'interface eth0'"),
        (
            "router bgp 65001\n neighbor 10.0.0.1 route-map X out\n",
            2,
            "neighbor 10.0.0.1 needs 'neighbor 10.0.0.1 remote-as ASN' first",
        ),
        (
            "router bgp 65001\n neighbor 10.0.0.1 remote-as 65515\n neighbor 10.0.0.1 shutdown\n",
            3,
            "unknown neighbor statement 'neighbor 10.0.0.1 shutdown'",
        ),
        (
            "router bgp 65001\n neighbor 10.0.0.1 remote-as 65515\n"
            " neighbor 10.0.0.1 route-map X sideways\n",
            3,
            "unknown neighbor statement 'neighbor 10.0.0.1 route-map X sideways'",
        ),
        (
            "router bgp 65001\n neighbor fe80::1 remote-as 65515\n",
            2,
            "neighbor address must be an IPv4 address, got 'fe80::1'",
        ),
        ("router bgp 0\n", 1, "AS number 0 is out of range 1-4294967295"),
        (
            "router bgp 65001\nrouter bgp 65002\n",
            2,
            "a second 'router bgp' (65002); there is already router bgp 65001",
        ),
        ("router ospf\n", 1, "expected 'router bgp ASN'"),
        (
            "router bgp 65001\n address-family ipv6 unicast\n",
            2,
            "only 'address-family ipv4 [unicast]' is supported, got 'address-family ipv6 unicast'",
        ),
        (
            "router bgp 65001\n address-family ipv4\n  neighbor 10.0.0.1 remote-as 1\n",
            3,
            "expected 'neighbor X remote-as ASN' under router bgp",
        ),
        (
            "router bgp 65001\n network 10.0.0.1/8\n",
            2,
            "prefix 10.0.0.1/8 has host bits set (did you mean 10.0.0.0/8?)",
        ),
        (
            "router bgp 65001\n network 10.0.0.0\n",
            2,
            "prefix '10.0.0.0' needs a length (A.B.C.D/M)",
        ),
        (
            "router bgp 65001\n network 10.0.0.0 255.0.0.0\n",
            2,
            "expected 'network A.B.C.D/M' or 'network A.B.C.D mask M.M.M.M'",
        ),
        (
            "router bgp 65001\n network ten/8\n",
            2,
            "expected an IPv4 prefix like 10.0.0.0/8, got 'ten/8'",
        ),
        ("ip prefix-list L seq\n", 1, "'seq' needs a number"),
        (
            "router bgp 65001\n network 10.0.0.0 mask 255.0.255.0\n",
            2,
            "invalid netmask '255.0.255.0'",
        ),
        (
            "ip prefix-list L seq 5 permit 10.0.0.0/8 ge 8\n",
            1,
            "invalid prefix range for 10.0.0.0/8: need length < ge <= le <= 32",
        ),
        (
            "ip prefix-list L seq 5 permit 10.0.0.0/8 ge 24 le 16\n",
            1,
            "invalid prefix range for 10.0.0.0/8: need length < ge <= le <= 32",
        ),
        (
            "ip prefix-list L seq 5 permit 10.0.0.0/16 le 8\n",
            1,
            "invalid prefix range for 10.0.0.0/16: need length < ge <= le <= 32",
        ),
        ("ip prefix-list L seq 5 permit 10.0.0.0/8 le 33\n", 1, "le 33 is out of range 0-32"),
        (
            "ip prefix-list L seq 5 permit 10.0.0.0/8 le 24 ge 16\n",
            1,
            "write at most one 'ge' and one 'le', 'ge' first",
        ),
        (
            "ip prefix-list L seq 5 permit 10.0.0.0/8 max 24\n",
            1,
            "expected 'ge N' or 'le N', got 'max 24'",
        ),
        (
            "ip prefix-list L seq 5 allow 10.0.0.0/8\n",
            1,
            "expected 'permit' or 'deny' followed by a prefix",
        ),
        ("ip prefix-list L seq 5 permit any le 32\n", 1, "'any' takes no ge/le"),
        ("ip prefix-list L seq x permit any\n", 1, "sequence number must be a number, got 'x'"),
        (
            "ip prefix-list L\n",
            1,
            "expected 'ip prefix-list NAME [seq N] permit|deny PREFIX [ge N] [le N]'",
        ),
        ("route-map RM permit 70000\n", 1, "sequence number 70000 is out of range 1-65535"),
        ("route-map RM allow 10\n", 1, "expected 'route-map NAME permit|deny SEQ'"),
        (
            "route-map RM permit 10\n set metric 5\n",
            2,
            "unknown route-map statement 'set metric 5'",
        ),
        (
            "route-map RM permit 10\n set ip next-hop peer-address\n",
            2,
            "next-hop must be an IPv4 address, got 'peer-address'",
        ),
        (
            "route-map RM permit 10\n set community 65536:1\n",
            2,
            "invalid community '65536:1' (expected AA:NN with each part 0-65535, or a name)",
        ),
        (
            "route-map RM permit 10\n set community additive\n",
            2,
            "'set community' needs at least one community",
        ),
        (
            "route-map RM permit 10\n set as-path prepend 65001 x\n",
            2,
            "AS number must be a number, got 'x'",
        ),
        (
            "route-map RM permit 10\n match ip address prefix-list NOPE\n",
            2,
            "prefix-list 'NOPE' is not defined",
        ),
        (
            "router bgp 65001\n neighbor 10.0.0.1 remote-as 65515\n"
            " neighbor 10.0.0.1 route-map NOPE in\n",
            3,
            "route-map 'NOPE' is not defined",
        ),
    ],
)
def test_errors_name_the_line(text: str, line: int, reason: str) -> None:
    error = error_of(text)
    assert (error.line, error.reason) == (line, reason)
    assert str(error) == f"line {line}: {reason}"


def test_exit_leaves_address_family_then_router_bgp() -> None:
    config = parse_frr_config(
        "router bgp 65001\n"
        " neighbor 10.0.0.1 remote-as 65515\n"
        " address-family ipv4\n"
        "  neighbor 10.0.0.1 activate\n"
        " exit\n"
        " bgp router-id 10.0.0.9\n"  # back in router bgp
        "exit\n"
        "ip prefix-list L seq 5 permit any\n"
    )
    assert config.bgp is not None
    assert config.bgp.router_id == ip("10.0.0.9")
    assert config.bgp.neighbors[0].activated
    error = error_of("router bgp 65001\nexit\nbgp router-id 10.0.0.9\n")
    assert str(error) == "line 3: unknown statement 'bgp router-id 10.0.0.9'"


def test_remote_as_can_be_redeclared() -> None:
    config = parse_frr_config(
        "router bgp 65001\n neighbor 10.0.0.1 remote-as 65002\n neighbor 10.0.0.1 remote-as 65515\n"
    )
    assert config.bgp is not None
    (neighbor,) = config.bgp.neighbors
    assert (neighbor.remote_as, neighbor.line) == (65515, 2)

"""Each lint rule, tripped by one change to the clean design (tests/lint/lint_designs.py).

Every case checks the whole set of rules the variant trips (so a rule that fires too
widely fails another case), the finding's named path and its message; the last
tests check that every registered rule has a case here and in docs/lint.md.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lint_designs import FRONTEND, design, frr, networks, text

from nexthop.lint import RULES, LintOptions, Report, Severity, lint_text

Design = dict[str, Any]
DOCS = Path(__file__).parents[2] / "docs" / "lint.md"


def lint(data: Design, **options: Any) -> Report:
    return lint_text(text(data), "t.yaml", options=LintOptions(**options))


def bgp(data: Design, index: int, **knobs: Any) -> Design:
    data["nvas"][index]["bgp_config"] = frr(**knobs)
    return data


def one_instance(d: Design) -> Design:
    return bgp(d, 0, instances=("10.1.1.4",))


def no_peering(d: Design) -> Design:
    d["route_servers"][0]["peerings"].pop(1)
    return d


def no_neighbors(d: Design) -> Design:
    return bgp(d, 1, instances=())


def different_routes(d: Design) -> Design:
    return bgp(d, 0, second_map=f" set ip next-hop {FRONTEND}\n set as-path prepend 65001")


def reserved_asn(d: Design) -> Design:
    d["route_servers"][0]["peerings"].pop(0)
    return bgp(d, 0, asn=65520)


def four_byte_asn(d: Design) -> Design:
    d["route_servers"][0]["peerings"].pop(0)
    return bgp(d, 0, asn=4200000001)


def no_multihop(d: Design) -> Design:
    return bgp(d, 0, multihop=False)


def limited(d: Design, limit: int, count: int) -> Design:
    d["route_servers"][0]["limits"] = {"max_routes_per_peer": limit}
    return bgp(d, 0, networks=networks(count))


def expressroute(d: Design) -> Design:
    d["vnets"][0]["subnets"].append({"name": "GatewaySubnet", "prefix": "10.1.3.0/27"})
    d["virtual_network_gateways"] = [{"name": "er", "vnet": "hub", "type": "expressroute"}]
    d["route_servers"][0]["branch_to_branch"] = True
    return bgp(d, 0, networks=networks(1000))


def vnet_prefix(d: Design) -> Design:
    return bgp(d, 0, networks=("10.1.2.0/24", "10.0.0.0/8"))


def default_route(d: Design) -> Design:
    return bgp(d, 0, networks=("0.0.0.0/0",))


def cross_region(d: Design) -> Design:
    d["vnets"].append(
        {
            "name": "far",
            "region": "northeurope",
            "address_space": ["10.3.0.0/16"],
            "subnets": [{"name": "lb", "prefix": "10.3.0.0/24"}],
        }
    )
    d["peerings"] = [{"name": "hub-far", "local_vnet": "hub", "remote_vnet": "far"}]
    d["load_balancers"].append(
        {
            "name": "far-ilb",
            "frontend": {"vnet": "far", "subnet": "lb", "ip": "10.3.0.100"},
            "backend_pool": {"members": ["vm-far"]},
            "probes": [{"name": "p", "port": 22}],
            "rules": [{"name": "ha-ports", "probe": "p"}],
        }
    )
    d["vms"].append({"name": "vm-far", "nic": {"vnet": "far", "subnet": "lb", "ip": "10.3.0.4"}})
    return bgp(d, 0, next_hop="10.3.0.100")


def not_in_pool(d: Design) -> Design:
    d["load_balancers"][0]["backend_pool"]["members"] = ["fw-a"]
    return d


def unknown_next_hop(d: Design) -> Design:
    return bgp(d, 0, next_hop="10.1.0.200")


def own_next_hop(d: Design) -> Design:
    return bgp(d, 0, next_hop=None)


def gateway_udr(d: Design, *routes: dict[str, Any]) -> Design:
    d["vnets"][0]["subnets"].append(
        {"name": "GatewaySubnet", "prefix": "10.1.3.0/27", "route_table": "gw-rt"}
    )
    d["route_tables"] = [{"name": "gw-rt", "routes": list(routes)}]
    return d


TO_FIREWALL = {
    "name": "hub-to-fw",
    "prefix": "10.1.0.0/16",
    "next_hop_type": "virtual_appliance",
    "next_hop_ip": FRONTEND,
}


def branch_overlap(d: Design) -> Design:
    d["branches"][0]["prefixes"].append("10.1.5.0/24")
    return d


def host_ecmp(d: Design) -> Design:
    d["load_balancers"] = []
    bgp(d, 0, next_hop=None)
    return bgp(d, 1, next_hop=None)


def no_ha_ports(d: Design) -> Design:
    d["load_balancers"][0]["rules"] = [
        {
            "name": "https",
            "protocol": "tcp",
            "frontend_port": 443,
            "backend_port": 443,
            "probe": "tcp22",
        }
    ]
    return d


def slow_probe(d: Design) -> Design:
    d["load_balancers"][0]["probes"][0]["threshold"] = 3
    return d


def floating(d: Design) -> Design:
    d["load_balancers"][0]["rules"][0]["floating_ip"] = True
    return d


def wrong_responder(d: Design) -> Design:
    d["nvas"][1]["probe_responder"] = {"port": 2222}
    return d


def no_forwarding(d: Design) -> Design:
    d["nvas"][0]["nic"]["ip_forwarding"] = False
    return d


# (case, change, rules tripped, (rule, path, message fragment) of the finding checked)
CASES: list[tuple[str, Callable[[Design], Design], set[str], tuple[str, str, str]]] = [
    (
        "one-instance",
        one_instance,
        {"one-instance"},
        (
            "one-instance",
            "nvas[fw-a].bgp_config",
            "peers route server 'rs' at 10.1.1.4 only; 10.1.1.5 has no neighbor statement",
        ),
    ),
    (
        "unmatched-peering: no peering",
        no_peering,
        {"unmatched-peering"},
        (
            "unmatched-peering",
            "nvas[fw-b].bgp_config",
            "route server 'rs' has no peering for 10.1.0.5; its sessions will never come up",
        ),
    ),
    (
        "unmatched-peering: no neighbor",
        no_neighbors,
        {"unmatched-peering"},
        (
            "unmatched-peering",
            "route_servers[rs].peerings[fw-b]",
            "NVA 'fw-b' has no neighbor statement for either instance of 'rs'",
        ),
    ),
    (
        "different-routes",
        different_routes,
        {"different-routes"},
        (
            "different-routes",
            "nvas[fw-a].bgp_config",
            "advertises different routes to 10.1.1.4 and 10.1.1.5: 192.168.0.0/16 with other "
            "attributes (as path)",
        ),
    ),
    (
        "nva-asn: reserved",
        reserved_asn,
        {"nva-asn", "unmatched-peering"},
        ("nva-asn", "nvas[fw-a].bgp_config", "ASN 65520 is reserved by Azure or IANA"),
    ),
    (
        "nva-asn: 4-byte",
        four_byte_asn,
        {"nva-asn", "unmatched-peering"},
        (
            "nva-asn",
            "nvas[fw-a].bgp_config",
            "ASN 4200000001 is a 4-byte ASN; Route Server peers with 2-byte ASNs only",
        ),
    ),
    (
        "ebgp-multihop",
        no_multihop,
        {"ebgp-multihop"},
        (
            "ebgp-multihop",
            "nvas[fw-a].bgp_config",
            "neighbor 10.1.1.5 (route server 'rs') has no ebgp-multihop",
        ),
    ),
    (
        "route-limit",
        lambda d: limited(d, 100, 100),  # + the branch prefix: 101
        {"route-limit"},
        (
            "route-limit",
            "nvas[fw-a].bgp_config",
            "sends 101 routes to 10.1.1.4: held plus incoming reaches 101, over the limit of 100",
        ),
    ),
    (
        "route-limit: Azure's 4,000",
        lambda d: bgp(d, 0, networks=networks(4000)),
        {"route-limit"},
        ("route-limit", "nvas[fw-a].bgp_config", "over the limit of 4000"),
    ),
    (
        "route-limit-refresh",
        lambda d: limited(d, 100, 59),  # 60 routes held, re-sent in one UPDATE: 120
        {"route-limit-refresh"},
        (
            "route-limit-refresh",
            "nvas[fw-a].bgp_config",
            "sends 60 routes to 10.1.1.4; re-sent, 60 held plus an UPDATE of 60 is 120",
        ),
    ),
    (
        "expressroute-limit",
        expressroute,
        {"expressroute-limit"},
        (
            "expressroute-limit",
            "route_servers[rs].branch_to_branch",
            "1002 routes go towards ExpressRoute (1 address spaces, 1001 from NVAs), over the "
            "limit of 1000",
        ),
    ),
    (
        "vnet-prefix",
        vnet_prefix,
        {"vnet-prefix"},
        (
            "vnet-prefix",
            "nvas[fw-a].bgp_config",
            "advertises 10.1.2.0/24, equal to or inside the address space 10.1.0.0/16",
        ),
    ),
    (
        "default-route-loop",
        default_route,
        {"default-route-loop"},
        (
            "default-route-loop",
            "nvas[fw-a].bgp_config",
            "advertises 0.0.0.0/0 (next hop 10.1.0.100); its own subnet 'nva' has no route "
            "table overriding it",
        ),
    ),
    (
        "cross-region-next-hop",
        cross_region,
        # fw-b still sends the local frontend: the VM host does ECMP between the two
        {"cross-region-next-hop", "next-hop-not-in-pool", "asymmetric-active-active"},
        (
            "cross-region-next-hop",
            "nvas[fw-a].bgp_config",
            "next hop 10.3.0.100 is load balancer 'far-ilb' in region 'northeurope', but route "
            "server 'rs' is in 'westeurope'",
        ),
    ),
    (
        "next-hop-not-in-pool",
        not_in_pool,
        {"next-hop-not-in-pool"},
        (
            "next-hop-not-in-pool",
            "nvas[fw-b].bgp_config",
            "next hop 10.1.0.100 is load balancer 'ilb', whose backend pool does not contain "
            "'fw-b'",
        ),
    ),
    (
        "next-hop-unknown",
        unknown_next_hop,
        {"next-hop-unknown", "asymmetric-active-active"},  # ECMP with fw-b's frontend
        (
            "next-hop-unknown",
            "nvas[fw-a].bgp_config",
            "next hop 10.1.0.200 (for 192.168.0.0/16) is neither a load balancer frontend nor "
            "an NVA address",
        ),
    ),
    (
        "next-hop-self-in-pool",
        own_next_hop,
        {"next-hop-self-in-pool", "asymmetric-active-active"},
        (
            "next-hop-self-in-pool",
            "nvas[fw-a].bgp_config",
            "is in the backend pool of 'ilb' (10.1.0.100) but advertises 192.168.0.0/16 to "
            "10.1.1.4 with next hop its own address 10.1.0.4",
        ),
    ),
    (
        "gateway-subnet-udr",
        lambda d: gateway_udr(d, TO_FIREWALL),
        {"gateway-subnet-udr"},
        (
            "gateway-subnet-udr",
            "vnets[hub].subnets[GatewaySubnet].route_table",
            "route 'hub-to-fw' (10.1.0.0/16) of table 'gw-rt' sends route server instance "
            "10.1.1.4 to virtual_appliance 10.1.0.100",
        ),
    ),
    (
        "branch-overlaps-vnet",
        branch_overlap,
        {"branch-overlaps-vnet", "vnet-prefix"},
        (
            "branch-overlaps-vnet",
            "branches[onprem].prefixes[10.1.5.0/24]",
            "10.1.5.0/24 overlaps the address space 10.1.0.0/16 of vnet 'hub'",
        ),
    ),
    (
        "asymmetric-active-active: host ECMP",
        host_ecmp,
        {"asymmetric-active-active"},
        (
            "asymmetric-active-active",
            "route_servers[rs]",
            "192.168.0.0/16 reach the VMs with next hops 10.1.0.4 (NVA fw-a), 10.1.0.5 (NVA "
            "fw-b) at equal AS_PATH length",
        ),
    ),
    (
        "asymmetric-active-active: no HA ports",
        no_ha_ports,
        {"asymmetric-active-active"},
        (
            "asymmetric-active-active",
            "load_balancers[ilb].rules",
            "NVAs fw-a, fw-b all answer the probes of 'ilb', which has no HA-ports rule",
        ),
    ),
    (
        "failover-target",
        slow_probe,
        {"failover-target"},
        (
            "failover-target",
            "load_balancers[ilb].probes[tcp22]",
            "failover behind 'ilb' can take up to 20 s ((3 + 1) x 5 s probes), slower than the "
            "target of 15 s",
        ),
    ),
    (
        "floating-ip-loopback",
        floating,
        {"floating-ip-loopback"},
        (
            "floating-ip-loopback",
            "load_balancers[ilb].rules[ha-ports].floating_ip",
            "rule 'ha-ports' keeps destination 10.1.0.100, which fw-a, fw-b do not hold on a "
            "loopback",
        ),
    ),
    (
        "probe-no-responder",
        wrong_responder,
        {"probe-no-responder"},
        (
            "probe-no-responder",
            "load_balancers[ilb].probes[tcp22]",
            "NVA 'fw-b' has no probe responder on tcp/22",
        ),
    ),
    (
        "ip-forwarding-off",
        no_forwarding,
        {"ip-forwarding-off"},
        (
            "ip-forwarding-off",
            "nvas[fw-a].nic.ip_forwarding",
            "without IP forwarding Azure drops the traffic this NVA should forward",
        ),
    ),
]


def test_the_clean_design_trips_nothing() -> None:
    report = lint(design())
    assert report.findings == ()
    assert report.exit_code == 0


@pytest.mark.parametrize(
    ("change", "tripped", "expected"),
    [pytest.param(change, tripped, expected, id=case) for case, change, tripped, expected in CASES],
)
def test_each_rule_is_tripped_by_its_design(
    change: Callable[[Design], Design], tripped: set[str], expected: tuple[str, str, str]
) -> None:
    report = lint(change(design()))
    assert {f.rule for f in report.findings} == tripped
    rule_id, path, fragment = expected
    matching = [f for f in report.findings if f.rule == rule_id and f.name_path == path]
    assert matching, [str(f) for f in report.findings]
    assert any(fragment in f.message for f in matching), [f.message for f in matching]
    rule = RULES[rule_id]
    assert all(f.severity is rule.severity for f in matching)
    assert report.exit_code == (2 if rule.severity is Severity.ERROR else 1)


def test_the_route_limit_counts_held_plus_incoming_at_the_boundary() -> None:
    """Exactly 4,000 (3,999 networks + the branch) fits once; a re-send would not."""
    at_limit = lint(bgp(design(), 0, networks=networks(3999)))
    assert {f.rule for f in at_limit.findings} == {"route-limit-refresh"}


def test_a_supernet_of_the_vnet_is_injected() -> None:
    report = lint(bgp(design(), 0, networks=("10.0.0.0/8",)))
    assert report.findings == ()


def test_a_default_route_is_fine_when_the_nva_subnet_overrides_it() -> None:
    d = default_route(design())
    d["vnets"][0]["subnets"][0]["route_table"] = "nva-rt"
    d["route_tables"] = [
        {
            "name": "nva-rt",
            "routes": [{"name": "internet", "prefix": "0.0.0.0/0", "next_hop_type": "internet"}],
        }
    ]
    assert lint(d).findings == ()


def test_a_gateway_subnet_udr_is_fine_when_it_keeps_the_route_server_local() -> None:
    keep = {"name": "rs-local", "prefix": "10.1.1.0/26", "next_hop_type": "vnet_local"}
    assert lint(gateway_udr(design(), TO_FIREWALL, keep)).findings == ()
    # A default route is less specific than the VNet's own system route: harmless.
    default = {**TO_FIREWALL, "name": "all-to-fw", "prefix": "0.0.0.0/0"}
    assert lint(gateway_udr(design(), default)).findings == ()


def test_active_passive_failover_adds_the_dead_timer() -> None:
    d = design()
    d["nvas"][0]["ha"] = {"role": "active"}
    d["nvas"][1]["ha"] = {
        "role": "standby",
        "heartbeat": {"peer": "fw-a", "interval_ms": 1000, "dead_after": 3},
    }
    for n in d["nvas"]:
        n["probe_responder"] = {"port": 22, "mode": "when_active"}
    assert lint(d).findings == ()  # 3 s + (1 + 1) x 5 s = 13 s
    (finding,) = lint(d, failover_target_s=10).findings
    assert finding.rule == "failover-target"
    assert "up to 13 s (heartbeat dead timer 3 s + (1 + 1) x 5 s probes)" in finding.message


def test_a_standby_that_always_answers_the_probe_is_active_active() -> None:
    d = no_ha_ports(design())
    d["nvas"][1]["ha"] = {"role": "standby", "heartbeat": {"peer": "fw-a"}}
    d["nvas"][0]["ha"] = {"role": "active"}
    assert "asymmetric-active-active" in {f.rule for f in lint(d).findings}
    d["nvas"][1]["probe_responder"] = {"port": 22, "mode": "when_active"}
    assert "asymmetric-active-active" not in {f.rule for f in lint(d).findings}


def test_ignore_skips_a_rule_and_refuses_an_unknown_one() -> None:
    data = text(no_multihop(design()))
    assert lint_text(data, ignore=["ebgp-multihop"]).findings == ()
    with pytest.raises(ValueError, match="unknown lint rule"):
        lint_text(data, ignore=["no-such-rule"])


def test_every_rule_has_a_design_here() -> None:
    covered = {expected[0] for _, _, _, expected in CASES}
    assert covered == set(RULES)


def test_docs_list_every_rule_with_its_azure_behaviour_fix_and_source() -> None:
    docs = DOCS.read_text()
    for rule in [*RULES.values()]:
        assert f"`{rule.id}`" in docs, rule.id
        assert rule.source in docs, rule.id
    assert "`invalid`" in docs


def test_every_rule_names_its_source_section_and_a_fix() -> None:
    for rule in RULES.values():
        assert rule.source.startswith("route-server-spec §"), rule.id
        assert rule.azure, rule.id
        assert rule.fix, rule.id
        assert rule.summary, rule.id
        assert "§" in (rule.check.__doc__ or ""), rule.id


def test_vpn_branches_count_towards_expressroute_with_branch_to_branch() -> None:
    d = expressroute(design())
    bgp(d, 0)  # fw-a back to the branch prefix only
    d["virtual_network_gateways"].append({"name": "vpn", "vnet": "hub", "type": "vpn"})
    d["branches"].append({"name": "site", "prefixes": list(networks(999)), "behind_gateway": "vpn"})
    (finding,) = lint(d).findings  # 1 space + 192.168.0.0/16 + 999 = 1001
    assert finding.rule == "expressroute-limit"
    assert finding.message.startswith(
        "1001 routes go towards ExpressRoute (1 address spaces, 1 from NVAs, 999 from VPN branches)"
    )
    d["route_servers"][0]["branch_to_branch"] = False
    assert lint(d).findings == ()

"""Cross-resource rules, one defect at a time on top of tests/config/base.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexthop.config import (
    Topology,
    TopologyError,
    TopologyInvalid,
    load_topology,
    load_topology_text,
)

BASE = (Path(__file__).parent / "base.yaml").read_text()
N5 = "       neighbor 10.1.1.5 remote-as 65515\n"


def variant(*replacements: tuple[str, str], append: str = "") -> str:
    text = BASE
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text + append


def problems(*replacements: tuple[str, str], append: str = "") -> list[str]:
    """``path: message`` of every error (positions are pinned in test_config_bad_inputs)."""
    with pytest.raises(TopologyError) as info:
        load_topology_text(variant(*replacements, append=append), "t.yaml")
    return [f"{p.path}: {p.message}" for p in info.value.problems]


VM = "{vnet: hub, subnet: workload, ip: 10.1.2.4}"


@pytest.mark.parametrize(
    ("replacement", "expected"),
    [
        (
            (VM, "{vnet: spoke, subnet: workload, ip: 10.1.2.4}"),
            "vms[0].nic.vnet: vnet 'spoke' is not declared",
        ),
        (
            (VM, "{vnet: hub, subnet: db, ip: 10.1.2.4}"),
            "vms[0].nic.subnet: vnet 'hub' has no subnet 'db'",
        ),
        (
            (VM, "{vnet: hub, subnet: RouteServerSubnet, ip: 10.1.1.10}"),
            "vms[0].nic.subnet: subnet 'RouteServerSubnet' is reserved for Azure use",
        ),
        (
            (VM, "{vnet: hub, subnet: workload, ip: 10.1.2.255}"),
            "vms[0].nic.ip: 10.1.2.255 is reserved by Azure in subnet 'workload' (10.1.2.0/24): "
            "the first four addresses and the last are not assignable",
        ),
        (
            (VM, "{vnet: hub, subnet: workload, ip: 10.1.2}"),
            "vms[0].nic.ip: '10.1.2' is not an IPv4 address (like 10.1.0.4)",
        ),
        (("  - name: vm1", "  - name: nva1"), "vms[0].name: 'nva1' is already the name of an NVA"),
        (
            ("  - name: vm1", "  - name: 'vm 1'"),
            "vms[0].name: 'vm 1' is not a valid name (1-80 letters, digits, '_', '.', '-'; "
            "starting with a letter or digit)",
        ),
        (
            (
                "{name: workload, prefix: 10.1.2.0/24}",
                "{name: workload, prefix: 10.1.2.0/24, route_table: rt}",
            ),
            "vnets[0].subnets[2].route_table: route table 'rt' is not declared",
        ),
        (
            ("{name: workload, prefix: 10.1.2.0/24}", "{name: nva, prefix: 10.1.2.0/24}"),
            "vnets[0].subnets[2].name: duplicate subnet name 'nva' (first at vnets[0].subnets[0])",
        ),
        (
            ("address_space: [10.1.0.0/16]", "address_space: [10.1.0.0/16, 10.1.128.0/17]"),
            "vnets[0].address_space[1]: 10.1.128.0/17 overlaps 10.1.0.0/16",
        ),
        (
            ("address_space: [10.1.0.0/16]", "address_space: []"),
            "vnets[0].address_space: needs at least one address range",
        ),
        (
            ("    vnet: hub\n    peerings", "    vnet: spoke\n    peerings"),
            "route_servers[0].vnet: vnet 'spoke' is not declared",
        ),
        (
            ("{name: RouteServerSubnet, prefix: 10.1.1.0/26}", "{name: rs, prefix: 10.1.1.0/26}"),
            "route_servers[0].vnet: vnet 'hub' has no subnet named RouteServerSubnet",
        ),
        (
            ("peer_ip: 10.1.0.4, peer_asn: 65001}", "peer_ip: 10.1.0.9, peer_asn: 65001}"),
            "route_servers[0].peerings[0].peer_ip: 10.1.0.9 is not the NIC address of any NVA "
            "(set external: true for a peer outside the topology)",
        ),
        (
            ("peer_ip: 10.1.0.4, peer_asn: 65001}", "peer_ip: 10.1.0.4, peer_asn: 65002}"),
            "route_servers[0].peerings[0].peer_asn: NVA 'nva1' runs router bgp 65001, not 65002",
        ),
        (
            (
                "peer_asn: 65001}",
                "peer_asn: 65001}\n    limits: {max_peers: 1}\n    peerings_extra: 1",
            ),
            "route_servers[0].peerings_extra: unknown field 'peerings_extra'",
        ),
        (
            ("    backend_pool: {members: [nva1]}", "    backend_pool: {members: []}"),
            "load_balancers[0].backend_pool.members: needs at least one member",
        ),
        (
            (
                "{name: ha-ports, probe: ssh, idle_timeout_min: 4}",
                "{name: ha-ports, probe: http, idle_timeout_min: 4}",
            ),
            "load_balancers[0].rules[0].probe: probe 'http' is not declared in 'ilb'",
        ),
        (
            (
                "{name: ha-ports, probe: ssh, idle_timeout_min: 4}",
                "{name: ha-ports, protocol: tcp, probe: ssh}",
            ),
            "load_balancers[0].rules[0].protocol: HA ports rules use protocol all with "
            "frontend_port and backend_port 0; other rules need tcp or udp and non-zero ports",
        ),
        (
            (
                "{name: ha-ports, probe: ssh, idle_timeout_min: 4}",
                "{name: ha-ports, protocol: sctp, probe: ssh}",
            ),
            "load_balancers[0].rules[0].protocol: Input should be 'tcp', 'udp' or 'all'",
        ),
        (
            ("{name: ssh, port: 22, interval_s: 5}", "{name: ssh, protocol: http, port: 22}"),
            "load_balancers[0].probes[0].path: http probes need a path (like /health)",
        ),
        (
            ("{name: ssh, port: 22, interval_s: 5}", "{name: ssh, port: 22, path: /health}"),
            "load_balancers[0].probes[0].path: tcp probes take no path",
        ),
        (
            ("{name: ssh, port: 22, interval_s: 5}", "{name: ssh, port: 70000}"),
            "load_balancers[0].probes[0].port: Input should be less than or equal to 65535",
        ),
        (
            ("{vnet: hub, subnet: nva, ip: 10.1.0.100}", "{vnet: hub, subnet: nva, ip: 10.1.0.4}"),
            "nvas[0].nic.ip: 10.1.0.4 is already used by load balancer 'ilb' "
            "(load_balancers[0].frontend.ip)",
        ),
        (
            (
                "    probe_responder: {port: 22}",
                "    probe_responder: {port: 22}\n    ha: {role: standby}",
            ),
            "nvas[0].ha.heartbeat: a standby NVA needs a heartbeat to its active peer",
        ),
        (
            (
                "    probe_responder: {port: 22}",
                "    probe_responder: {port: 22}\n    ha: {role: active, heartbeat: {peer: nva2}}",
            ),
            "nvas[0].ha.heartbeat.peer: 'nva2' is not another NVA",
        ),
        (
            (
                "    probe_responder: {port: 22}",
                "    probe_responder: {port: 22}\n    ha: {role: leader}",
            ),
            "nvas[0].ha.role: Input should be 'standalone', 'active' or 'standby'",
        ),
        (
            (N5, "       neighbor 10.1.1.5 remote-as 65001\n"),
            "nvas[0].bgp_config: neighbor 10.1.1.5 is route server 'rs', whose ASN is 65515, "
            "not 65001",
        ),
    ],
)
def test_rule(replacement: tuple[str, str], expected: str) -> None:
    assert expected in problems(replacement)


def test_external_peering_needs_no_nva() -> None:
    text = variant(
        (
            "peer_ip: 10.1.0.4, peer_asn: 65001}",
            "peer_ip: 10.1.0.4, peer_asn: 65001}\n"
            "      - {name: lab, peer_ip: 192.0.2.10, peer_asn: 65100, external: true}",
        ),
    )
    rs = load_topology_text(text).topology.route_server("rs")
    assert rs is not None
    assert [p.name for p in rs.peerings] == ["nva1", "lab"]


def test_too_many_peerings_and_duplicate_peer() -> None:
    found = problems(
        (
            "peer_ip: 10.1.0.4, peer_asn: 65001}",
            "peer_ip: 10.1.0.4, peer_asn: 65001}\n"
            "      - {name: again, peer_ip: 10.1.0.4, peer_asn: 65001}\n    limits: {max_peers: 1}",
        ),
    )
    assert found == [
        "route_servers[0].peerings: 2 peerings exceed the limit of 1",
        "route_servers[0].peerings[1].peer_ip: 10.1.0.4 is already peered "
        "(route_servers[0].peerings[0])",
    ]


def test_fast_probes_allow_short_intervals() -> None:
    text = variant(
        ("{name: ssh, port: 22, interval_s: 5}", "{name: ssh, port: 22, interval_s: 1}"),
        ("    backend_pool:", "    fast_probes: true\n    backend_pool:"),
    )
    lb = load_topology_text(text).topology.load_balancer("ilb")
    assert lb is not None
    assert lb.probes[0].interval_s == 1


SPOKE = """\
  - name: spoke
    region: northeurope
    address_space: [10.2.0.0/16]
    subnets:
      - {name: nva, prefix: 10.2.0.0/24}
"""


def test_nva_must_be_in_the_route_server_vnet_or_a_peered_one() -> None:
    found = problems(
        ("route_servers:", SPOKE + "route_servers:"),
        ("peer_ip: 10.1.0.4", "peer_ip: 10.2.0.4"),
        (
            "nic: {vnet: hub, subnet: nva, ip: 10.1.0.4}",
            "nic: {vnet: spoke, subnet: nva, ip: 10.2.0.4}",
        ),
    )
    assert found == [
        "route_servers[0].peerings[0].peer_ip: NVA 'nva1' is in vnet 'spoke', which is neither "
        "'hub' nor directly peered with it",
        "load_balancers[0].backend_pool.members[0]: 'nva1' is in vnet 'spoke'; backends must be "
        "in the frontend's vnet 'hub'",
    ]


@pytest.mark.parametrize(
    ("peering", "expected"),
    [
        (
            "{name: p, local_vnet: hub, remote_vnet: nowhere}",
            "peerings[0].remote_vnet: vnet 'nowhere' is not declared",
        ),
        (
            "{name: p, local_vnet: hub, remote_vnet: hub}",
            "peerings[0].remote_vnet: a vnet cannot peer with itself",
        ),
        (
            "{name: p, local_vnet: spoke, remote_vnet: hub, use_remote_gateways: true}",
            "peerings[0].allow_gateway_transit: use_remote_gateways needs allow_gateway_transit: "
            "true on the remote side",
        ),
        (
            "{name: p, local_vnet: hub, remote_vnet: spoke, use_remote_gateways: true}",
            "peerings[0].use_remote_gateways: vnet 'spoke' has no route server or gateway to use",
        ),
    ],
)
def test_peering_rules(peering: str, expected: str) -> None:
    assert problems(
        ("route_servers:", SPOKE + "route_servers:"), append=f"peerings:\n  - {peering}\n"
    ) == [expected]


def test_duplicate_peering() -> None:
    found = problems(
        ("route_servers:", SPOKE + "route_servers:"),
        append="peerings:\n  - {name: a, local_vnet: hub, remote_vnet: spoke}\n"
        "  - {name: b, local_vnet: spoke, remote_vnet: hub}\n",
    )
    assert found == ["peerings[1].remote_vnet: 'spoke' and 'hub' are already peered (peerings[0])"]


@pytest.mark.parametrize(
    ("routes", "expected"),
    [
        (
            "{name: r, prefix: 0.0.0.0/0, next_hop_type: virtual_appliance}",
            "route_tables[0].routes[0].next_hop_ip: virtual_appliance routes need a next_hop_ip",
        ),
        (
            "{name: r, prefix: 0.0.0.0/0, next_hop_type: internet, next_hop_ip: 10.1.0.100}",
            "route_tables[0].routes[0].next_hop_ip: only virtual_appliance routes take a "
            "next_hop_ip, not internet",
        ),
    ],
)
def test_route_table_rules(routes: str, expected: str) -> None:
    assert problems(append=f"route_tables:\n  - name: rt\n    routes:\n      - {routes}\n") == [
        expected
    ]


def test_no_route_table_on_route_server_subnet() -> None:
    found = problems(
        (
            "{name: RouteServerSubnet, prefix: 10.1.1.0/26}",
            "{name: RouteServerSubnet, prefix: 10.1.1.0/26, route_table: rt}",
        ),
        append="route_tables:\n  - {name: rt}\n",
    )
    assert found == ["vnets[0].subnets[1].route_table: RouteServerSubnet cannot have a route table"]


@pytest.mark.parametrize(
    ("branch", "expected"),
    [
        (
            "{name: b, prefixes: [192.168.0.0/16]}",
            "branches[0]: set exactly one of behind_nvas or behind_gateway",
        ),
        (
            "{name: b, prefixes: [192.168.0.0/16], behind_nvas: [nva1], behind_gateway: gw}",
            "branches[0]: set exactly one of behind_nvas or behind_gateway",
        ),
        (
            "{name: b, prefixes: [192.168.0.0/16], behind_nvas: [nva9]}",
            "branches[0].behind_nvas[0]: NVA 'nva9' is not declared",
        ),
        (
            "{name: b, prefixes: [192.168.0.0/16], behind_gateway: gw}",
            "branches[0].behind_gateway: gateway 'gw' is not declared",
        ),
        (
            "{name: b, prefixes: [192.168.0.0/16], behind_nvas: [nva1], peer_ip: 192.168.0.1}",
            "branches[0]: peer_ip and asn go together (the branch's BGP speaker)",
        ),
        (
            "{name: b, prefixes: [], behind_nvas: [nva1]}",
            "branches[0].prefixes: needs at least one prefix",
        ),
    ],
)
def test_branch_rules(branch: str, expected: str) -> None:
    assert expected in problems(append=f"branches:\n  - {branch}\n")


def test_gateway_needs_gateway_subnet() -> None:
    found = problems(append="virtual_network_gateways:\n  - {name: gw, vnet: hub, type: vpn}\n")
    assert found == [
        "virtual_network_gateways[0].vnet: vnet 'hub' has no subnet named GatewaySubnet"
    ]


def test_branch_behind_gateway_and_branch_bgp_peer() -> None:
    text = variant(
        (
            "{name: workload, prefix: 10.1.2.0/24}",
            "{name: workload, prefix: 10.1.2.0/24}\n"
            "      - {name: GatewaySubnet, prefix: 10.1.3.0/27}",
        ),
        (N5, N5 + "       neighbor 192.168.0.1 remote-as 65100\n"),
        append="virtual_network_gateways:\n  - {name: gw, vnet: hub, type: vpn}\n"
        "branches:\n  - {name: dc, prefixes: [172.16.0.0/12], behind_gateway: gw}\n"
        "  - {name: site, prefixes: [192.168.0.0/16], behind_nvas: [nva1],\n"
        "     peer_ip: 192.168.0.1, asn: 65100}\n",
    )
    topo = load_topology_text(text).topology
    assert [b.name for b in topo.branches] == ["dc", "site"]


def test_branch_peer_asn_must_match_the_neighbor() -> None:
    found = problems(
        (N5, N5 + "       neighbor 192.168.0.1 remote-as 65101\n"),
        append="branches:\n  - {name: site, prefixes: [192.168.0.0/16], behind_nvas: [nva1], "
        "peer_ip: 192.168.0.1, asn: 65100}\n",
    )
    assert found == [
        "nvas[0].bgp_config: neighbor 192.168.0.1 is branch 'site' in AS 65100, not 65101"
    ]


# --- the loader's own cases ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "t.yaml:1:1: the file is empty"),
        ("# only a comment\n", "t.yaml:1:1: the file is empty"),
        ("- a\n- b\n", "t.yaml:1:1: expected a mapping of keys to values"),
        ("region: w\nvnets: 5\n", "t.yaml:2:8: vnets: expected a list"),
        ("region: x\n---\nregion: y\n", "t.yaml:2:1: malformed YAML: but found another document"),
        ("region: [x\n", "t.yaml:2:1: malformed YAML: expected ',' or ']', but got '<stream end>'"),
    ],
)
def test_document_level_problems(text: str, expected: str) -> None:
    with pytest.raises(TopologyError) as info:
        load_topology_text(text, "t.yaml")
    assert str(info.value) == expected


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(TopologyError) as info:
        load_topology(missing)
    assert str(info.value) == f"{missing}:1:1: cannot read: No such file or directory"
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(TopologyError) as info:
        load_topology(binary)
    assert str(info.value) == f"{binary}:1:1: not UTF-8 text"


def test_several_problems_are_sorted_by_position() -> None:
    found = problems(
        ("{name: ssh, port: 22, interval_s: 5}", "{name: ssh, port: 22, interval_s: 2}"),
        (VM, "{vnet: hub, subnet: workload, ip: 10.1.0.4}"),
    )
    assert found == [
        "load_balancers[0].probes[0].interval_s: 2 s is below the 5 s minimum "
        "(set fast_probes: true to allow it)",
        "vms[0].nic.ip: 10.1.0.4 is not inside subnet 'workload' (10.1.2.0/24)",
    ]


def test_direct_construction_raises_topology_invalid() -> None:
    data = {
        "region": "westeurope",
        "vnets": [
            {
                "name": "hub",
                "address_space": ["10.1.0.0/16"],
                "subnets": [
                    {"name": "a", "prefix": "10.2.0.0/24"},
                ],
            }
        ],
    }
    with pytest.raises(TopologyInvalid) as info:
        Topology.model_validate(data)
    assert [str(i) for i in info.value.issues] == [
        "vnets[0].subnets[0].prefix: 10.2.0.0/24 is not inside the address space of vnet "
        "'hub' (10.1.0.0/16)"
    ]


def test_model_dump_round_trips() -> None:
    topo = load_topology_text(BASE).topology
    dumped = topo.model_dump(mode="json", exclude_defaults=True)
    assert dumped["vnets"][0]["address_space"] == ["10.1.0.0/16"]
    assert Topology.model_validate(dumped) == topo


def test_lookups() -> None:
    topo = load_topology_text(BASE).topology
    vm = topo.vm("vm1")
    assert vm is not None
    assert str(vm.nic.ip) == "10.1.2.4"
    assert topo.vm("nva1") is None
    assert topo.nva("vm1") is None
    assert topo.route_server("nope") is None
    assert topo.route_server_ips("nope") is None
    assert topo.load_balancer("nope") is None
    assert topo.subnet("nope", "nva") is None
    assert topo.region_of("hub") == "westeurope"


def test_one_route_server_per_vnet() -> None:
    found = problems(("load_balancers:", "  - {name: rs2, vnet: hub}\nload_balancers:"))
    assert found == [
        "route_servers[1].vnet: vnet 'hub' already has a route server (route_servers[0])"
    ]


def test_peered_nva_needs_router_bgp() -> None:
    found = problems(
        ("      router bgp 65001\n", ""),
        (N5, ""),
        ("       neighbor 10.1.1.4 remote-as 65515\n", ""),
        ("       neighbor 10.1.1.4 route-map SET-NEXTHOP out\n", ""),
        ("       neighbor 10.1.1.5 route-map SET-NEXTHOP out\n", ""),
    )
    assert found == [
        "route_servers[0].peerings[0].peer_ip: NVA 'nva1' has no 'router bgp' in its bgp_config"
    ]


def test_nvas_may_peer_each_other() -> None:
    text = variant(
        (N5, N5 + "       neighbor 10.1.0.5 remote-as 65001\n"),
        (
            "vms:\n",
            "  - name: nva2\n    nic: {vnet: hub, subnet: nva, ip: 10.1.0.5}\n"
            "    bgp_config: |\n      router bgp 65001\n"
            "       neighbor 10.1.0.4 remote-as 65001\nvms:\n",
        ),
    )
    topo = load_topology_text(text).topology
    assert [n.name for n in topo.nvas] == ["nva1", "nva2"]


def test_standby_must_watch_an_active_nva() -> None:
    found = problems(
        (
            "    probe_responder: {port: 22}",
            "    probe_responder: {port: 22}\n    ha: {role: standby, heartbeat: {peer: nva2}}",
        ),
        (
            "vms:\n",
            "  - name: nva2\n    nic: {vnet: hub, subnet: nva, ip: 10.1.0.5}\n"
            "    ha: {role: standby, heartbeat: {peer: nva1}}\nvms:\n",
        ),
    )
    assert found == [
        "nvas[0].ha.heartbeat.peer: a standby NVA must watch an active NVA; 'nva2' is standby",
        "nvas[1].ha.heartbeat.peer: a standby NVA must watch an active NVA; 'nva1' is standby",
    ]


def test_gateway_vnet_must_exist() -> None:
    found = problems(append="virtual_network_gateways:\n  - {name: gw, vnet: spoke, type: vpn}\n")
    assert found == ["virtual_network_gateways[0].vnet: vnet 'spoke' is not declared"]

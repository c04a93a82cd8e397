"""Every bad input in tests/config/bad/ fails with exactly these messages.

Each file is tests/config/base.yaml with one defect (its first line says which);
the expected text includes the file, line and column, so the tests also pin the
positions the loader computes from the YAML node marks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nexthop.config import TopologyError, load_topology

HERE = Path(__file__).parent
BAD = HERE / "bad"

CASES = {
    "malformed-yaml": ["18:34: malformed YAML: expected ',' or ']', but got '}'"],
    "duplicate-key": ["13:5: route_servers[0].vnet: duplicate key 'vnet'"],
    "unknown-field": ["20:31: load_balancers[0].probes[0].interval: unknown field 'interval'"],
    "missing-field": ["4:5: vnets[0].address_space: required field is missing"],
    "host-bits": [
        "7:29: vnets[0].subnets[0].prefix: 10.1.0.1/24 has host bits set "
        "(did you mean 10.1.0.0/24?)"
    ],
    "reserved-asn": [
        "14:51: route_servers[0].peerings[0].peer_asn: 65515 is the route server's own ASN; "
        "peers must use another (eBGP only)"
    ],
    "reserved-asn-iana": [
        "14:51: route_servers[0].peerings[0].peer_asn: ASN 64500 is reserved by Azure or IANA "
        "and cannot peer with a route server"
    ],
    "four-byte-asn": [
        "14:51: route_servers[0].peerings[0].peer_asn: route server peers need a 2-byte ASN "
        "(1-65535), got 4200000001"
    ],
    "overlapping-subnets": [
        "9:34: vnets[0].subnets[2].prefix: 10.1.0.128/25 overlaps subnet 'nva' (10.1.0.0/24)"
    ],
    "subnet-outside-vnet": [
        "9:34: vnets[0].subnets[2].prefix: 10.2.2.0/24 is not inside the address space of "
        "vnet 'hub' (10.1.0.0/16)"
    ],
    "peered-overlap": [
        "13:53: peerings[0].remote_vnet: address space 10.1.0.0/16 of 'hub' overlaps "
        "10.1.128.0/17 of 'spoke'; peered vnets need disjoint address spaces"
    ],
    "small-route-server-subnet": [
        "8:43: vnets[0].subnets[1].prefix: RouteServerSubnet must be /26 or larger, got /27"
    ],
    "unknown-backend": [
        "18:36: load_balancers[0].backend_pool.members[1]: 'nva3' is not a declared NVA or VM"
    ],
    "frontend-outside-subnet": [
        "17:44: load_balancers[0].frontend.ip: 10.9.0.5 is not inside subnet 'nva' (10.1.0.0/24)"
    ],
    "probe-interval": [
        "20:43: load_balancers[0].probes[0].interval_s: 2 s is below the 5 s minimum "
        "(set fast_probes: true to allow it)"
    ],
    "idle-timeout": [
        "22:56: load_balancers[0].rules[0].idle_timeout_min: 120 min is outside 4-100"
    ],
    "ip-conflict": [
        "37:39: vms[0].nic.ip: 10.1.0.4 is already used by NVA 'nva1' (nvas[0].nic.ip)"
    ],
    "reserved-address": [
        "37:44: vms[0].nic.ip: 10.1.2.1 is reserved by Azure in subnet 'workload' (10.1.2.0/24): "
        "the first four addresses and the last are not assignable"
    ],
    "bgp-config-syntax": [
        "31:8: nvas[0].bgp_config: line 4 of the BGP config: unknown statement "
        "'neighbour 10.1.1.5 next-hop-self' in router bgp"
    ],
    "undefined-route-map": [
        "32:8: nvas[0].bgp_config: line 5 of the BGP config: route-map 'FROM-RS' is not defined"
    ],
    "unknown-neighbor": [
        "31:8: nvas[0].bgp_config: neighbor 10.1.0.9 is neither a route server instance "
        "(10.1.1.4, 10.1.1.5) nor a declared NVA or branch peer"
    ],
}


def test_every_bad_file_has_a_case() -> None:
    assert {p.stem for p in BAD.glob("*.yaml")} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_message(name: str) -> None:
    path = BAD / f"{name}.yaml"
    with pytest.raises(TopologyError) as info:
        load_topology(path)
    assert [str(p) for p in info.value.problems] == [f"{path}:{m}" for m in CASES[name]]
    assert str(info.value) == "\n".join(f"{path}:{m}" for m in CASES[name])


@pytest.mark.parametrize("name", sorted(CASES))
def test_position_points_at_the_culprit(name: str) -> None:
    """The reported column starts the offending token (or key) on the reported line."""
    path = BAD / f"{name}.yaml"
    with pytest.raises(TopologyError) as info:
        load_topology(path)
    lines = path.read_text().splitlines()
    for problem in info.value.problems:
        rest = lines[problem.line - 1][problem.column - 1 :]
        assert rest
        assert not rest[0].isspace()


def test_base_file_is_valid() -> None:
    loaded = load_topology(HERE / "base.yaml")
    assert [n.name for n in loaded.topology.nvas] == ["nva1"]

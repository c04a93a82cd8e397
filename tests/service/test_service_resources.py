"""Resource CRUD through the control plane, and every bad input with its message."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexthop.service import Conflict, ControlPlane, ControlPlaneError, NotFound

VM2 = {"name": "vm2", "nic": {"vnet": "hub", "subnet": "workload", "ip": "10.1.2.5"}}


def test_put_creates_then_updates_a_resource(applied: ControlPlane) -> None:
    created = applied.put_resource("vms", "vm2", dict(VM2))
    assert created.applied
    assert [(c.action, c.kind, c.name) for c in created.changes] == [("create", "vms", "vm2")]
    assert applied.get_resource("vms", "vm2")["nic"]["ip"] == "10.1.2.5"
    # the model sees it: the new VM has an effective route table with the BGP route
    routes = applied.effective_route_table("vm2")["value"]
    assert any(
        r["addressPrefix"] == ["192.168.0.0/16"]
        and r["state"] == "Active"
        and r["nextHopIpAddress"] == ["10.1.0.100"]
        for r in routes
    )

    moved = {**VM2, "nic": {**VM2["nic"], "ip": "10.1.2.6"}}
    updated = applied.put_resource("vms", "vm2", moved)
    assert [(c.action, c.detail) for c in updated.changes] == [("update", "changed: nic")]
    assert applied.get_resource("vms", "vm2")["nic"]["ip"] == "10.1.2.6"
    # order within the kind is kept on update
    assert [v["name"] for v in applied.list_resources("vms")] == ["vm1", "vm2"]


def test_put_takes_the_name_from_the_url_and_keeps_the_callers_body(
    applied: ControlPlane,
) -> None:
    body = {"nic": {"vnet": "hub", "subnet": "workload", "ip": "10.1.2.9"}}
    applied.put_resource("vms", "vm9", body)
    assert applied.get_resource("vms", "vm9")["name"] == "vm9"
    assert "name" not in body


def test_put_of_an_identical_body_is_a_no_op(applied: ControlPlane) -> None:
    body = applied.get_resource("vms", "vm1")
    result = applied.put_resource("vms", "vm1", body)
    assert result.changes == []
    assert not result.applied


def test_delete_removes_the_resource(applied: ControlPlane) -> None:
    applied.put_resource("vms", "vm2", dict(VM2))
    result = applied.delete_resource("vms", "vm2")
    assert [(c.action, c.kind, c.name) for c in result.changes] == [("delete", "vms", "vm2")]
    with pytest.raises(NotFound, match="VM 'vm2' not found"):
        applied.get_resource("vms", "vm2")


def test_deleting_a_referenced_nva_is_refused_with_the_reference(
    applied: ControlPlane, db_path: Path
) -> None:
    before = applied.list_resources("nvas")
    with pytest.raises(Conflict) as info:
        applied.delete_resource("nvas", "nva1")
    assert info.value.code == "in_use"
    assert "cannot delete nvas 'nva1'" in info.value.message
    lines = info.value.message.splitlines()
    assert "load_balancers[0].backend_pool.members[0]: 'nva1' is not a declared NVA or VM" in lines
    assert "branches[0].behind_nvas[0]: NVA 'nva1' is not declared" in lines
    assert info.value.field == "route_servers[0].peerings[0].peer_ip"
    assert applied.list_resources("nvas") == before


def test_unknown_kind_and_name_mismatch(applied: ControlPlane) -> None:
    with pytest.raises(ControlPlaneError, match="unknown resource kind 'widgets'"):
        applied.list_resources("widgets")
    with pytest.raises(ControlPlaneError, match="body name 'vm3' differs from the URL name 'vm2'"):
        applied.put_resource("vms", "vm2", {**VM2, "name": "vm3"})
    with pytest.raises(NotFound, match="route server 'nope' not found"):
        applied.learned_routes("nope", "nva1")
    with pytest.raises(NotFound, match=r"^peering 'nva9' not found on route server 'rs'$"):
        applied.learned_routes("rs", "nva9")
    with pytest.raises(NotFound, match=r"^peering 'nva9' not found on route server 'rs'$"):
        applied.routeserver_peering("rs", "nva9")
    with pytest.raises(NotFound, match=r"^branch 'nope' not found$"):
        applied.get_resource("branches", "nope")
    with pytest.raises(NotFound, match="NVA 'nva9' not found"):
        applied.lab_fail("nva9")


# --- bad inputs: each one rejected with its precise message, nothing changed ----------

BAD_FILES = [
    pytest.param(
        ("region: westeurope", "region: [westeurope"),
        "bad.yaml:10:6: malformed YAML: expected ',' or ']', but got ':'",
        id="malformed-yaml",
    ),
    pytest.param(
        ("region: westeurope", "region: westeurope\ncolour: blue"),
        "bad.yaml:9:1: colour: unknown field 'colour'",
        id="unknown-field",
    ),
    pytest.param(
        ("peer_asn: 65001\n      - name: nva2", "peer_asn: 8075\n      - name: nva2"),
        "bad.yaml:29:19: route_servers[0].peerings[0].peer_asn: ASN 8075 is reserved by Azure"
        " or IANA and cannot peer with a route server",
        id="reserved-asn",
    ),
    pytest.param(
        ("prefix: 10.1.2.0/24", "prefix: 10.1.0.128/25"),
        "bad.yaml:19:17: vnets[0].subnets[2].prefix: 10.1.0.128/25 overlaps subnet 'nva'"
        " (10.1.0.0/24)",
        id="overlapping-prefixes",
    ),
    pytest.param(
        ("members: [nva1, nva2]", "members: [nva1, nva3]"),
        "bad.yaml:43:23: load_balancers[0].backend_pool.members[1]: 'nva3' is not a declared"
        " NVA or VM",
        id="unknown-nva-in-pool",
    ),
    pytest.param(
        ("ip: 10.1.0.100", "ip: 10.1.2.100"),
        "bad.yaml:40:11: load_balancers[0].frontend.ip: 10.1.2.100 is not inside subnet 'nva'"
        " (10.1.0.0/24)",
        id="frontend-outside-subnet",
    ),
]


@pytest.mark.parametrize(("edit", "message"), BAD_FILES)
def test_bad_file_is_rejected_with_its_message(
    applied: ControlPlane, example_text: str, edit: tuple[str, str], message: str
) -> None:
    before = {k: applied.list_resources(k) for k in applied.kinds()}
    with pytest.raises(ControlPlaneError) as info:
        applied.apply_text(example_text.replace(*edit), "bad.yaml")
    assert info.value.code == "invalid_topology"
    assert message in info.value.message.splitlines()
    assert {k: applied.list_resources(k) for k in applied.kinds()} == before


BAD_BODIES = [
    pytest.param(
        "vms",
        "vm2",
        {**VM2, "colour": "blue"},
        "vms[1].colour: unknown field 'colour'",
        id="unknown-field",
    ),
    pytest.param(
        "route_servers",
        "rs",
        {
            "name": "rs",
            "vnet": "hub",
            "peerings": [{"name": "x", "peer_ip": "10.1.0.4", "peer_asn": 65515}],
        },
        "route_servers[0].peerings[0].peer_asn: 65515 is the route server's own ASN;"
        " peers must use another (eBGP only)",
        id="reserved-asn",
    ),
    pytest.param(
        "vnets",
        "hub",
        {
            "name": "hub",
            "address_space": ["10.1.0.0/16"],
            "subnets": [
                {"name": "nva", "prefix": "10.1.0.0/24"},
                {"name": "RouteServerSubnet", "prefix": "10.1.1.0/26"},
                {"name": "workload", "prefix": "10.1.2.0/24"},
                {"name": "extra", "prefix": "10.1.2.128/25"},
            ],
        },
        "vnets[0].subnets[3].prefix: 10.1.2.128/25 overlaps subnet 'workload' (10.1.2.0/24)",
        id="overlapping-prefixes",
    ),
    pytest.param(
        "load_balancers",
        "ilb",
        {
            "name": "ilb",
            "frontend": {"vnet": "hub", "subnet": "nva", "ip": "10.1.2.100"},
            "backend_pool": {"members": ["nva1", "nva7"]},
            "probes": [{"name": "ssh", "port": 22}],
            "rules": [{"name": "all", "probe": "ssh"}],
        },
        "load_balancers[0].backend_pool.members[1]: 'nva7' is not a declared NVA or VM",
        id="unknown-nva-in-pool",
    ),
    pytest.param(
        "load_balancers",
        "ilb",
        {
            "name": "ilb",
            "frontend": {"vnet": "hub", "subnet": "nva", "ip": "10.1.2.100"},
            "backend_pool": {"members": ["nva1"]},
            "probes": [{"name": "ssh", "port": 22}],
            "rules": [{"name": "all", "probe": "ssh"}],
        },
        "load_balancers[0].frontend.ip: 10.1.2.100 is not inside subnet 'nva' (10.1.0.0/24)",
        id="frontend-outside-subnet",
    ),
]


@pytest.mark.parametrize(("kind", "name", "body", "message"), BAD_BODIES)
def test_bad_resource_body_is_rejected_with_its_message(
    applied: ControlPlane, kind: str, name: str, body: dict[str, object], message: str
) -> None:
    before = {k: applied.list_resources(k) for k in applied.kinds()}
    with pytest.raises(ControlPlaneError) as info:
        applied.put_resource(kind, name, body)
    assert info.value.code == "invalid_topology"
    assert message in info.value.message.splitlines()
    assert {k: applied.list_resources(k) for k in applied.kinds()} == before


def test_settings_are_one_resource(applied: ControlPlane) -> None:
    settings = applied.get_resource("settings", "topology")
    assert settings == {
        "name": "next-hop-ip",
        "description": "Route Server with NVAs behind an internal load balancer (next hop IP)",
        "region": "westeurope",
    }
    result = applied.put_resource("settings", "topology", {**settings, "region": "northeurope"})
    assert [(c.action, c.detail) for c in result.changes] == [("update", "changed: region")]
    assert applied.topology is not None
    assert applied.topology.region == "northeurope"
    with pytest.raises(ControlPlaneError, match="the topology settings cannot be deleted"):
        applied.delete_resource("settings", "topology")

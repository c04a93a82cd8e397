"""``nexthop import``: real deployment descriptions (``az`` JSON, an ARM template
export, Terraform state; samples in this folder, README.md names their schemas)
become topology files that validate, with what could not be mapped listed."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from nexthop.cli.main import app
from nexthop.config import load_topology, load_topology_text
from nexthop.importer import import_path

HERE = Path(__file__).parent
EXAMPLE = HERE.parents[1] / "examples" / "next-hop-ip.yaml"
BGP = HERE / "bgp"


def test_az_outputs_give_the_example_deployment_back() -> None:
    result = import_path(HERE / "az", bgp_dir=BGP, name="hub")
    assert result.errors == ()
    assert result.loaded is not None
    imported, example = result.loaded.topology, load_topology(EXAMPLE).topology
    # the Azure side of examples/next-hop-ip.yaml, field for field
    assert imported.vnets[0].address_space == example.vnets[0].address_space
    assert [s.prefix for s in imported.vnets[0].subnets] == [
        s.prefix for s in example.vnets[0].subnets
    ]
    assert imported.route_servers[0].peerings == example.route_servers[0].peerings
    assert imported.load_balancers == example.load_balancers
    assert [(n.name, n.nic, n.probe_responder) for n in imported.nvas] == [
        (n.name, n.nic, n.probe_responder) for n in example.nvas
    ]
    assert imported.nvas[0].bgp_config == (BGP / "nva1.conf").read_text()
    assert [(v.name, v.nic) for v in imported.vms] == [(v.name, v.nic) for v in example.vms]
    # the UDR on the workload subnet, from the route table list
    assert imported.vnets[0].subnets[2].route_table == "workload-rt"
    assert imported.route_tables[0].routes[0].next_hop_ip is not None
    # the NSG is listed, not dropped silently, and so are the assumed probe responders
    assert any("networkSecurityGroups 'workload-nsg'" in u for u in result.unmapped)
    assert len(result.assumed) == 2


def test_the_written_yaml_is_the_topology_and_lists_what_was_not_mapped() -> None:
    result = import_path(HERE / "az", bgp_dir=BGP, name="hub")
    reloaded = load_topology_text(result.text, "again.yaml")
    assert result.loaded is not None
    assert reloaded.topology == result.loaded.topology
    assert "# Not mapped:\n#   nsg-show.json:" in result.text
    assert "bgp_config: |\n" in result.text  # a literal block, positions point at lines


def test_an_arm_template_export_reads_like_the_az_outputs() -> None:
    via_az = import_path(HERE / "az", bgp_dir=BGP, name="x")
    via_arm = import_path(HERE / "arm" / "template.json", bgp_dir=BGP, name="x")
    assert via_arm.errors == ()
    assert via_az.loaded is not None
    assert via_arm.loaded is not None
    assert via_arm.loaded.topology == via_az.loaded.topology


def test_without_bgp_configurations_peerings_are_external_and_say_why() -> None:
    result = import_path(HERE / "az", name="hub")
    assert result.loaded is not None
    assert all(p.external for p in result.loaded.topology.route_servers[0].peerings)
    notes = [u for u in result.unmapped if "peering kept external" in u]
    assert len(notes) == 2
    assert "give --bgp-config-dir" in notes[0]


def test_terraform_state_with_a_child_module() -> None:
    result = import_path(HERE / "terraform" / "state.json", bgp_dir=BGP)
    assert result.errors == ()
    assert result.loaded is not None
    t = result.loaded.topology
    assert [v.name for v in t.vnets] == ["hub", "spoke"]
    assert [s.name for s in t.vnets[0].subnets] == ["nva", "RouteServerSubnet"]  # azurerm_subnet
    (peering,) = t.peerings  # two azurerm_virtual_network_peering sides, one peering
    assert (peering.local_vnet, peering.remote_vnet) == ("spoke", "hub")
    assert peering.use_remote_gateways
    assert peering.allow_gateway_transit
    rs = t.route_servers[0]
    assert rs.branch_to_branch
    assert rs.hub_routing_preference.value == "as_path"
    assert [(p.name, str(p.peer_ip), p.peer_asn, p.external) for p in rs.peerings] == [
        ("fw-a", "10.1.0.4", 65010, False),
        ("fw-b", "10.1.0.5", 65010, False),
    ]
    lb = t.load_balancers[0]  # in the child module
    assert lb.backend_pool.members == ("fw-a", "fw-b")  # NIC pool associations
    assert (lb.probes[0].protocol.value, lb.probes[0].path) == ("https", "/healthz")
    assert lb.rules[0].distribution.value == "source_ip_protocol"
    assert t.vnets[1].subnets[0].route_table == "spoke-rt"  # route table association
    assert [n.name for n in t.nvas] == ["fw-a", "fw-b"]  # 4.x and 3.x forwarding flags
    assert [v.name for v in t.vms] == ["app1"]
    assert any("azurerm_public_ip" in u for u in result.unmapped)


def test_cli_writes_the_file_and_reports_on_stderr(tmp_path: Path) -> None:
    out = tmp_path / "hub.yaml"
    result = CliRunner().invoke(
        app, ["import", str(HERE / "az"), "--bgp-config-dir", str(BGP), "-f", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert load_topology(out).topology.route_servers[0].name == "rs"
    assert "not mapped: nsg-show.json" in result.stderr
    assert "imported 10 resources" in result.stderr


def test_an_import_that_does_not_validate_is_written_and_exits_2(tmp_path: Path) -> None:
    folder = tmp_path / "az"
    folder.mkdir()
    for f in (HERE / "az").glob("*.json"):
        (folder / f.name).write_text(f.read_text())
    peerings = json.loads((folder / "routeserver-peering-list.json").read_text())
    peerings[0]["peerAsn"] = 65515  # Azure refuses it too (reserved)
    (folder / "routeserver-peering-list.json").write_text(json.dumps(peerings))
    out = tmp_path / "bad.yaml"
    result = CliRunner().invoke(
        app, ["import", str(folder), "--bgp-config-dir", str(BGP), "-f", str(out)]
    )
    assert result.exit_code == 2
    assert "peer_asn" in result.stderr
    assert "INVALID" in result.stderr
    assert yaml.safe_load(out.read_text())["route_servers"][0]["peerings"][0]["peer_asn"] == 65515


def test_unreadable_input_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    result = CliRunner().invoke(app, ["import", str(bad)])
    assert result.exit_code == 2
    assert f"error: {bad}: not readable JSON" in result.stderr
    missing = CliRunner().invoke(app, ["import", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert "no such file or folder" in missing.stderr

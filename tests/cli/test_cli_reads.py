"""Read commands against the local store, in every output format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nexthop.cli.main import app

ROUTE_KEYS = {"localAddress", "network", "nextHop", "sourcePeer", "origin", "asPath", "weight"}
ROLES = {"RouteServiceRole_IN_0", "RouteServiceRole_IN_1"}

READ_COMMANDS = [
    pytest.param(["routeserver", "peering", "list", "--routeserver", "rs"], id="peering-list"),
    pytest.param(
        ["routeserver", "peering", "show", "--routeserver", "rs", "--name", "nva1"],
        id="peering-show",
    ),
    pytest.param(
        ["routeserver", "peering", "list-learned-routes", "--routeserver", "rs", "-n", "nva1"],
        id="learned",
    ),
    pytest.param(
        ["routeserver", "peering", "list-advertised-routes", "--routeserver", "rs", "-n", "nva1"],
        id="advertised",
    ),
    pytest.param(["nic", "show-effective-route-table", "--name", "vm1"], id="effective"),
    pytest.param(["lb", "show-backend-health", "--name", "ilb"], id="backend-health"),
    pytest.param(["trace", "--from", "vm1", "--to", "192.168.1.1"], id="trace"),
    pytest.param(["lab", "status"], id="lab-status"),
    pytest.param(["lab", "traffic", "--flows", "10", "--seed", "3"], id="lab-traffic"),
]


def invoke(runner: CliRunner, db: Path, *args: str) -> str:
    result = runner.invoke(app, [*args, "--db", str(db)])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("command", READ_COMMANDS)
def test_json_and_yaml_carry_the_same_data(runner: CliRunner, db: Path, command: list[str]) -> None:
    as_json = json.loads(invoke(runner, db, *command, "-o", "json"))
    as_yaml = yaml.safe_load(invoke(runner, db, *command, "-o", "yaml"))
    if command[0] == "trace":  # each trace is a new packet of the same flow
        as_json["forward"]["hops"] = as_yaml["forward"]["hops"] = None
        as_json.pop("at"), as_yaml.pop("at")
    if command[:2] == ["lab", "traffic"]:
        as_json.pop("at"), as_yaml.pop("at")
    if command[:2] == ["routeserver", "peering"] and command[2] == "show":
        # each local invocation starts the model now: its sessions are established now
        for data in (as_json, as_yaml):
            for status in data["instances"].values():
                assert isinstance(status["established_at"], str)
                status["established_at"] = None
    assert as_json == as_yaml
    assert as_json


@pytest.mark.parametrize("command", READ_COMMANDS)
def test_table_output_is_a_rich_table(runner: CliRunner, db: Path, command: list[str]) -> None:
    out = invoke(runner, db, *command)
    assert "┃" in out or "│" in out


def test_learned_routes_json_is_the_az_shape(runner: CliRunner, db: Path) -> None:
    out = invoke(
        runner,
        db,
        "routeserver",
        "peering",
        "list-learned-routes",
        "--routeserver",
        "rs",
        "--name",
        "nva2",
        "-o",
        "json",
    )
    data = json.loads(out)
    assert set(data) == ROLES
    assert [set(r) for r in data["RouteServiceRole_IN_1"]] == [ROUTE_KEYS]
    assert data["RouteServiceRole_IN_1"][0]["nextHop"] == "10.1.0.100"
    assert data["RouteServiceRole_IN_1"][0]["sourcePeer"] == "10.1.0.5"


def test_learned_routes_table_has_az_columns(runner: CliRunner, db: Path) -> None:
    out = invoke(
        runner,
        db,
        "routeserver",
        "peering",
        "list-learned-routes",
        "--routeserver",
        "rs",
        "--name",
        "nva1",
    )
    for column in ("LocalAddress", "Network", "NextHop", "SourcePeer", "AsPath"):
        assert column in out
    assert "192.168.0.0/16" in out
    assert "10.1.0.100" in out


def test_effective_route_table_json(runner: CliRunner, db: Path) -> None:
    data = json.loads(
        invoke(runner, db, "nic", "show-effective-route-table", "-n", "vm1", "-o", "json")
    )
    bgp = [r for r in data["value"] if r["source"] == "VirtualNetworkGateway"]
    assert [(r["addressPrefix"], r["nextHopIpAddress"], r["state"]) for r in bgp] == [
        (["192.168.0.0/16"], ["10.1.0.100"], "Active")
    ]


def test_unknown_names_exit_1_with_the_message(runner: CliRunner, db: Path) -> None:
    cases = [
        (["lb", "show-backend-health", "-n", "nope"], "error: load balancer 'nope' not found"),
        (
            ["routeserver", "peering", "list", "--routeserver", "x"],
            "error: route server 'x' not found",
        ),
        (["nic", "show-effective-route-table", "-n", "ghost"], "error: NIC 'ghost' not found"),
        (["lab", "fail", "nva9"], "error: NVA 'nva9' not found"),
    ]
    for args, message in cases:
        result = runner.invoke(app, [*args, "--db", str(db)])
        assert result.exit_code == 1
        assert message in result.stderr


def test_empty_store_says_what_to_do(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["lab", "status", "--db", str(tmp_path / "empty.db")])
    assert result.exit_code == 1
    assert "no topology applied yet; run `nexthop apply -f FILE`" in result.stderr

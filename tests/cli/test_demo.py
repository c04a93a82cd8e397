"""``nexthop demo`` run to completion as a real subprocess (the README's main command).

The JSON run checks the facts the demo measured on its live labs; the text run
checks that the narration shows them. No assertion is made on how long anything
took, only that the measured failover time is a positive number.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nexthop.demo import DEMO_EXAMPLES, ExamplesNotFoundError, find_examples
from nexthop.routeserver import IN_0, IN_1

EXAMPLES = Path(__file__).parents[2] / "examples"
RUN_TIMEOUT_S = 240


def _demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nexthop.cli.main", "demo", *args],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    result = _demo("-o", "json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_step_1_duplicates_with_the_frontend_as_next_hop(report: dict[str, Any]) -> None:
    act = report["next_hop_ip"]
    rows = act["learned_routes"]
    for instance in (IN_0, IN_1):
        on_instance = [r for r in rows if r["instance"] == instance]
        assert sorted((r["peering"], r["sourcePeer"]) for r in on_instance) == [
            ("nva1", "10.1.0.4"),
            ("nva2", "10.1.0.5"),
        ]
        assert {(r["network"], r["nextHop"], r["asPath"]) for r in on_instance} == {
            ("192.168.0.0/16", "10.1.0.100", "65001")
        }
    assert act["sessions_established"] == 4


def test_step_2_the_vms_effective_route(report: dict[str, Any]) -> None:
    route = report["next_hop_ip"]["effective_route"]
    assert route["source"] == "VirtualNetworkGateway"
    assert route["state"] == "Active"
    assert route["addressPrefix"] == ["192.168.0.0/16"]
    assert route["nextHopType"] == "VirtualNetworkGateway"
    assert route["nextHopIpAddress"] == ["10.1.0.100"]


def test_steps_3_and_4_through_a_healthy_nva_and_back(report: dict[str, Any]) -> None:
    act = report["next_hop_ip"]
    assert {(r["name"], r["state"]) for r in act["backend_health"]} == {
        ("nva1", "Up"),
        ("nva2", "Up"),
    }
    trace = act["trace"]
    assert trace["ok"]
    assert trace["symmetry"] == "symmetric"
    forward, reverse = trace["forward"], trace["reverse"]
    assert forward["nvas"] in (["nva1"], ["nva2"])
    assert reverse["nvas"] == forward["nvas"]
    kinds = [hop["kind"] for hop in forward["hops"]]
    assert kinds == ["source", "route", "load_balancer", "nva", "deliver"]
    assert forward["endpoint"] == "branch:onprem"
    assert reverse["endpoint"] == "vm:vm1"


def test_active_passive_failover_moves_new_flows_to_the_standby(report: dict[str, Any]) -> None:
    act = report["active_passive"]
    assert act["ha_before"] == {"fw-a": "Active", "fw-b": "Standby"}
    assert act["sessions_established"] == 4
    failover = act["failover"]
    assert failover["nva"] == "fw-a"
    assert failover["before"] == "fw-a"
    assert failover["after"] == "fw-b"
    assert act["moved_to_standby"] is True
    assert failover["failover_time"] > 0
    assert act["ha_after"]["fw-b"] == "Active"
    after = {r["name"]: r["state"] for r in act["backend_health_after"]}
    assert after == {"fw-a": "Down", "fw-b": "Up"}
    kinds = {kind for _, kind, _ in failover["timeline"]}
    assert {"nva_failed", "ha_active", "backend_up"} <= kinds


def test_active_active_uses_every_nva_and_shows_asymmetry(report: dict[str, Any]) -> None:
    act = report["active_active"]
    assert act["sessions_established"] == 6
    live = act["live"]
    assert live["delivered"] == live["total"] > 0
    assert sorted(live["per_nva"]) == act["nvas"] == ["nva1", "nva2", "nva3"]
    assert all(row["forward"] > 0 for row in live["per_nva"].values())
    assert live["symmetric"] == live["total"]
    for what_if in act["what_if"]:
        assert what_if["total"] == live["total"]
        assert what_if["asymmetric"] > 0
        example = what_if["example"]
        assert example["forward_nva"] != example["return_nva"]


def test_cross_region_warns_and_drops(report: dict[str, Any]) -> None:
    act = report["cross_region"]
    assert act["sessions_established"] == 4
    assert act["warnings"]
    assert all("route server's region" in w for w in act["warnings"])
    assert (act["route_server_region"], act["frontend_region"]) == ("westeurope", "northeurope")
    assert act["dropped"] == "cross_region_frontend"
    assert act["trace"]["forward"]["delivered"] is False
    assert act["trace"]["forward"]["hops"][-1]["kind"] == "drop"


def test_every_lab_is_down_and_nothing_listens(report: dict[str, Any]) -> None:
    cleanup = report["cleanup"]
    labs = {c["lab"] for c in cleanup["checked"]}
    assert labs == {"next-hop-ip", "active-passive", "active-active", "cross-region"}
    assert cleanup["listening"] == []
    assert cleanup["tasks_left"] == []
    assert report["wall_time_s"] > 0


def test_text_narration_shows_the_measured_facts() -> None:
    result = _demo()
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for line in (
        "Step 1",
        "Step 2",
        "Step 3",
        "Step 4",
        "10.1.0.100",
        "VirtualNetworkGateway",
        "RouteServiceRole_IN_0",
        "RouteServiceRole_IN_1",
        "measured failover",
        "through fw-b",
        "asymmetric",
        "cross_region_frontend",
        "none still listening",
    ):
        assert line in out, line


def test_the_examples_are_found_in_the_checkout() -> None:
    assert find_examples() == EXAMPLES.resolve()
    for name in DEMO_EXAMPLES:
        assert (EXAMPLES / name).is_file()


def test_a_directory_without_the_examples_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExamplesNotFoundError, match="--examples"):
        find_examples(tmp_path)
    result = _demo("--examples", str(tmp_path))
    assert result.returncode == 1
    assert "next-hop-ip.yaml" in result.stderr

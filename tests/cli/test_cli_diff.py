"""``nexthop diff A B``: two designs compared in the model (flows, effective routes,
route server routes), exit status as diff(1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from nexthop.cli.main import app

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"
ROUTE_MAP = "        neighbor 10.1.1.{} route-map SET-NEXTHOP out\n"


def _without_nva1_route_map(tmp_path: Path) -> Path:
    """The example with nva1 advertising its own address instead of the frontend's
    (its SET-NEXTHOP route-map dropped), as a user editing the design would."""
    text = EXAMPLE.read_text()
    start, end = text.index("\n  - name: nva1\n"), text.index("\n  - name: nva2\n")
    block = text[start:end]
    for last in ("4", "5"):
        assert ROUTE_MAP.format(last) in block
        block = block.replace(ROUTE_MAP.format(last), "")
    changed = tmp_path / "b.yaml"
    changed.write_text(text[:start] + block + text[end:])
    return changed


def _diff(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["diff", *args, "-o", "json"])
    return result.exit_code, json.loads(result.stdout)


def test_a_design_against_itself_is_the_same() -> None:
    code, data = _diff(str(EXAMPLE), str(EXAMPLE))
    assert code == 0
    assert data["same"] is True
    assert data["flowsCompared"] >= 1  # vm1 to the on-premises branch at least
    assert data["flows"] == data["effectiveRoutes"] == data["routeServerRoutes"] == []


def test_dropping_the_next_hop_route_map_shows_every_consequence(tmp_path: Path) -> None:
    code, data = _diff(str(EXAMPLE), str(_without_nva1_route_map(tmp_path)))
    assert code == 1
    assert data["same"] is False
    # the route server learns nva1's route with nva1's own next hop (not the ILB's)
    learned = [c for c in data["routeServerRoutes"] if c.get("kind") == "learned"]
    assert {(c["peering"], c["instance"]) for c in learned} == {
        ("nva1", "RouteServiceRole_IN_0"),
        ("nva1", "RouteServiceRole_IN_1"),
    }
    for change in learned:
        assert [r["nextHop"] for r in change["added"]] == ["10.1.0.4"]
        assert [r["nextHop"] for r in change["removed"]] == ["10.1.0.100"]
    # VMs get a next hop straight to nva1 for the on-premises prefix
    vm = next(c for c in data["effectiveRoutes"] if c["owner"] == "vm1")
    assert {(r["addressPrefix"], r["nextHopIpAddress"]) for r in vm["added"]} == {
        ("192.168.0.0/16", "10.1.0.4")
    }
    # and at least one flow to on-premises now takes another path
    flow = next(f for f in data["flows"] if f["flow"].startswith("vm1 -> 192.168."))
    assert "path" in flow["changed"] or "forwardNvas" in flow["changed"]
    assert flow["before"]["verdict"] == "delivered"


def test_given_flows_are_the_ones_compared(tmp_path: Path) -> None:
    changed = str(_without_nva1_route_map(tmp_path))
    code, data = _diff(str(EXAMPLE), changed, "--flow", "vm1 192.168.7.7 udp 53")
    assert data["flowsCompared"] == 1
    assert all(f["flow"] == "vm1 -> 192.168.7.7 udp/53" for f in data["flows"])
    assert code == 1  # the routes differ whatever the flows


def test_an_invalid_design_exits_2_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nvnets: 3\n")
    result = CliRunner().invoke(app, ["diff", str(EXAMPLE), str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:2:" in result.output


def test_a_malformed_flow_is_refused_naming_the_option() -> None:
    result = CliRunner().invoke(app, ["diff", str(EXAMPLE), str(EXAMPLE), "--flow", "vm1"])
    assert result.exit_code == 2
    assert "--flow" in result.output

"""``nexthop lint FILE``: exit codes, the JSON document, options, the examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lint_designs import design, frr, networks, text
from typer.testing import CliRunner

from nexthop.cli.main import app
from nexthop.lint import RULES

EXAMPLES = Path(__file__).parents[2] / "examples"
FIELDS = {"rule", "severity", "path", "location", "message", "azure", "fix", "source"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write(tmp_path: Path, data: dict[str, Any], name: str = "design.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text(data))
    return path


def lint_json(runner: CliRunner, *args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["lint", *args, "-o", "json"])
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize("example", ["next-hop-ip", "active-active", "active-passive"])
def test_the_examples_are_clean(runner: CliRunner, example: str) -> None:
    code, report = lint_json(runner, str(EXAMPLES / f"{example}.yaml"))
    assert (code, report["findings"]) == (0, [])
    assert report["summary"] == {"errors": 0, "warnings": 0}


def test_cross_region_warns_once_per_nva_at_the_next_hop_line(runner: CliRunner) -> None:
    path = EXAMPLES / "cross-region.yaml"
    code, report = lint_json(runner, str(path))
    assert code == 1
    message = (
        "next hop 10.3.0.100 is load balancer 'ilb' in region 'northeurope', but route server "
        "'rs' is in 'westeurope': the load balancer must be in the route server's region; "
        "traffic to these routes will fail"
    )
    found = [(f["rule"], f["path"], f["location"], f["message"]) for f in report["findings"]]
    assert found == [
        ("cross-region-next-hop", "nvas[nva1].bgp_config", f"{path}:64:8", message),
        ("cross-region-next-hop", "nvas[nva2].bgp_config", f"{path}:81:8", message),
    ]
    lines = path.read_text().splitlines()
    assert lines[63].strip() == lines[80].strip() == "set ip next-hop 10.3.0.100"


def test_json_document_has_the_stable_schema(runner: CliRunner, tmp_path: Path) -> None:
    data = design()
    data["nvas"][0]["bgp_config"] = frr(multihop=False)
    code, report = lint_json(runner, str(write(tmp_path, data)))
    assert code == 1
    assert set(report) == {"schema", "file", "target_failover_s", "summary", "findings"}
    assert report["schema"] == 1
    assert report["target_failover_s"] == 15.0
    assert report["summary"] == {"errors": 0, "warnings": 2}
    for finding in report["findings"]:
        assert set(finding) == FIELDS
        rule = RULES[finding["rule"]]
        assert (finding["azure"], finding["fix"], finding["source"]) == (
            rule.azure,
            rule.fix,
            rule.source,
        )
        assert finding["severity"] == "warning"
        assert finding["location"].startswith(str(tmp_path))


def test_an_error_exits_2_and_comes_first(runner: CliRunner, tmp_path: Path) -> None:
    data = design()
    data["route_servers"][0]["limits"] = {"max_routes_per_peer": 10}
    data["nvas"][0]["bgp_config"] = frr(multihop=False, networks=networks(10))
    code, report = lint_json(runner, str(write(tmp_path, data)))
    assert code == 2
    severities = [f["severity"] for f in report["findings"]]
    assert severities == sorted(severities)  # "error" < "warning"
    assert {f["rule"] for f in report["findings"]} == {"route-limit", "ebgp-multihop"}


def test_an_invalid_file_is_reported_as_invalid_errors(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text(design()).replace("peer_asn: 65001", "peer_asn: 65517", 1))
    code, report = lint_json(runner, str(bad))
    assert code == 2
    assert {f["rule"] for f in report["findings"]} == {"invalid"}
    finding = report["findings"][0]
    assert finding["path"] == "route_servers[0].peerings[0].peer_asn"
    assert finding["location"] == f"{bad}:19:15"
    assert "ASN 65517 is reserved by Azure or IANA" in finding["message"]
    missing = lint_json(runner, str(tmp_path / "missing.yaml"))
    assert missing[0] == 2
    assert "cannot read" in missing[1]["findings"][0]["message"]


def test_the_failover_target_option(runner: CliRunner, tmp_path: Path) -> None:
    data = design()
    data["load_balancers"][0]["probes"][0]["threshold"] = 3  # up to 20 s
    path = str(write(tmp_path, data))
    assert lint_json(runner, path)[0] == 1
    code, report = lint_json(runner, path, "--failover-target-s", "20")
    assert (code, report["target_failover_s"], report["findings"]) == (0, 20.0, [])


def test_ignore_skips_rules_and_refuses_unknown_ones(runner: CliRunner, tmp_path: Path) -> None:
    data = design()
    data["load_balancers"][0]["rules"][0]["floating_ip"] = True
    path = str(write(tmp_path, data))
    assert lint_json(runner, path)[0] == 1
    code, report = lint_json(runner, path, "--ignore", "floating-ip-loopback")
    assert (code, report["findings"]) == (0, [])
    result = runner.invoke(app, ["lint", path, "--ignore", "no-such-rule"])
    assert result.exit_code == 2
    assert "no-such-rule" in result.output


def test_table_output_names_rule_path_azure_behaviour_and_fix(
    runner: CliRunner, tmp_path: Path
) -> None:
    data = design()
    data["nvas"][0]["bgp_config"] = frr(instances=("10.1.1.4",))
    result = runner.invoke(app, ["lint", str(write(tmp_path, data))])
    assert result.exit_code == 1
    out = result.stdout
    assert "one-instance" in out
    assert "nvas[fw-a].bgp_config" in out  # brackets survive Rich markup
    assert "What Azure does, and the fix" in out
    clean = runner.invoke(app, ["lint", str(EXAMPLES / "next-hop-ip.yaml")])
    assert (clean.exit_code, "clean" in clean.stdout) == (0, True)

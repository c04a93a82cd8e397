"""apply (diff, dry run, bad input), lab faults, serve, and the CLI as a real process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from nexthop.cli.main import app

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"


def nexthop(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real ``nexthop`` command in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "nexthop.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_apply_prints_the_diff_then_is_idempotent(runner: CliRunner, tmp_path: Path) -> None:
    db = str(tmp_path / "n.db")
    dry = runner.invoke(app, ["apply", "-f", str(EXAMPLE), "--db", db, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Would apply 8 change(s)" in dry.stdout
    assert "load_balancers" in dry.stdout
    assert "Applied" not in dry.stdout
    listed = runner.invoke(app, ["lab", "status", "--db", db])
    assert listed.exit_code == 1  # the dry run stored nothing
    first = runner.invoke(app, ["apply", "-f", str(EXAMPLE), "--db", db])
    # the diff comes first, then the confirmation
    assert first.stdout.index("Applying 8 change(s)") < first.stdout.index("load_balancers")
    assert first.stdout.index("load_balancers") < first.stdout.index("Applied 8 change(s).")
    again = runner.invoke(app, ["apply", "-f", str(EXAMPLE), "--db", db])
    assert again.exit_code == 0
    assert "No changes" in again.stdout


def test_apply_json_output_lists_the_changes(runner: CliRunner, db: Path, tmp_path: Path) -> None:
    edited = tmp_path / "edited.yaml"
    edited.write_text(EXAMPLE.read_text().replace("threshold: 2", "threshold: 3"))
    result = runner.invoke(app, ["apply", "-f", str(edited), "--db", str(db), "-o", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (warning,) = data.pop("warnings")  # threshold 3 x 5 s: the lint's failover target
    assert warning.endswith("slower than the target of 15 s [failover-target]")
    assert data == {
        "applied": True,
        "changes": [
            {
                "action": "update",
                "kind": "load_balancers",
                "name": "ilb",
                "detail": "changed: probes",
            }
        ],
    }


BAD = [
    pytest.param(
        ("region: westeurope", "region: [westeurope"),
        ":10:6: malformed YAML: expected ',' or ']', but got ':'",
        id="malformed-yaml",
    ),
    pytest.param(
        ("region: westeurope", "region: westeurope\ncolour: blue"),
        ":9:1: colour: unknown field 'colour'",
        id="unknown-field",
    ),
    pytest.param(
        ("peer_asn: 65001\n      - name: nva2", "peer_asn: 8075\n      - name: nva2"),
        ":29:19: route_servers[0].peerings[0].peer_asn: ASN 8075 is reserved by Azure"
        " or IANA and cannot peer with a route server",
        id="reserved-asn",
    ),
    pytest.param(
        ("prefix: 10.1.2.0/24", "prefix: 10.1.0.128/25"),
        ":19:17: vnets[0].subnets[2].prefix: 10.1.0.128/25 overlaps subnet 'nva' (10.1.0.0/24)",
        id="overlapping-prefixes",
    ),
    pytest.param(
        ("members: [nva1, nva2]", "members: [nva1, nva3]"),
        ":43:23: load_balancers[0].backend_pool.members[1]: 'nva3' is not a declared NVA or VM",
        id="unknown-nva-in-pool",
    ),
    pytest.param(
        ("ip: 10.1.0.100", "ip: 10.1.2.100"),
        ":40:11: load_balancers[0].frontend.ip: 10.1.2.100 is not inside subnet 'nva'"
        " (10.1.0.0/24)",
        id="frontend-outside-subnet",
    ),
]


@pytest.mark.parametrize(("edit", "message"), BAD)
def test_bad_file_exits_1_with_file_line_field_message(
    runner: CliRunner, db: Path, tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace(*edit))
    result = runner.invoke(app, ["apply", "-f", str(bad), "--db", str(db)])
    assert result.exit_code == 1
    assert f"{bad}{message}" in result.stderr
    assert result.stdout == ""


def test_missing_file_is_reported(runner: CliRunner, db: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["apply", "-f", str(tmp_path / "nope.yaml"), "--db", str(db)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'nope.yaml'}:1:1: cannot read: No such file or directory" in result.stderr


def test_lab_fail_and_restore_persist_between_invocations(runner: CliRunner, db: Path) -> None:
    def run(*args: str) -> dict[str, object]:
        result = runner.invoke(app, [*args, "--db", str(db), "-o", "json"])
        assert result.exit_code == 0, result.output
        data: dict[str, object] = json.loads(result.stdout)
        return data

    assert run("lab", "fail", "nva1")["failed"] == ["nva1"]
    health = run("lb", "show-backend-health", "-n", "ilb")
    rows = health["loadBalancingRules"][0]["loadBalancerBackendAddresses"]  # type: ignore[index]
    assert [(r["name"], r["state"]) for r in rows] == [("nva1", "Down"), ("nva2", "Up")]
    traffic = run("lab", "traffic", "--flows", "20")
    assert traffic["per_nva"] == {"nva2": {"forward": 20, "return": 20}}
    assert run("lab", "restore", "nva1")["failed"] == []
    assert (
        run("routeserver", "peering", "show", "--routeserver", "rs", "-n", "nva1")[
            "connectionState"
        ]
        == "Connected"
    )


def test_real_process_json_matches_the_cli_runner(runner: CliRunner, db: Path) -> None:
    args = [
        "routeserver",
        "peering",
        "list-advertised-routes",
        "--routeserver",
        "rs",
        "--name",
        "nva2",
        "-o",
        "json",
        "--db",
        str(db),
    ]
    process = nexthop(*args)
    assert process.returncode == 0, process.stderr
    assert json.loads(process.stdout) == json.loads(runner.invoke(app, args).stdout)


def test_serve_refuses_to_listen_beyond_loopback_without_a_token(tmp_path: Path) -> None:
    process = nexthop(
        "serve",
        str(EXAMPLE),
        "--host",
        "0.0.0.0",
        "--db",
        str(tmp_path / "n.db"),
        env={"NEXTHOP_TOKEN": ""},
    )
    assert process.returncode == 1
    assert "refusing to serve on 0.0.0.0 without a token" in process.stderr


def test_serve_reports_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("region: [x")
    process = nexthop("serve", str(bad), "--db", str(tmp_path / "n.db"))
    assert process.returncode == 1
    assert f"{bad}:1:" in process.stderr
    assert "malformed YAML" in process.stderr


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "nexthop.cli.main",
        "serve",
        str(EXAMPLE),
        "--port",
        str(port),
        "--db",
        str(tmp_path / "served.db"),
        "--no-bgp",  # the model in both modes; the live network is tests/serve's
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                httpx.get(f"{url}/healthz", timeout=1.0).raise_for_status()
                break
            except httpx.TransportError:
                time.sleep(0.1)  # still starting
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=20)


def test_server_mode_answers_like_local_mode(runner: CliRunner, db: Path, served: str) -> None:
    for command in (
        ["routeserver", "peering", "list-learned-routes", "--routeserver", "rs", "-n", "nva1"],
        ["nic", "show-effective-route-table", "-n", "vm1"],
        ["routeserver", "peering", "list", "--routeserver", "rs"],
    ):
        local = runner.invoke(app, [*command, "-o", "json", "--db", str(db)])
        remote = runner.invoke(app, [*command, "-o", "json", "--server", served])
        assert remote.exit_code == 0, remote.output
        assert json.loads(remote.stdout) == json.loads(local.stdout)
    missing = runner.invoke(app, ["lb", "show-backend-health", "-n", "x", "--server", served])
    assert missing.exit_code == 1
    assert "error: load balancer 'x' not found" in missing.stderr
    applied = runner.invoke(app, ["apply", "-f", str(EXAMPLE), "--server", served])
    assert applied.exit_code == 0
    assert "No changes" in applied.stdout
    failed = runner.invoke(app, ["lab", "fail", "nva2", "--server", served, "-o", "json"])
    assert json.loads(failed.stdout)["failed"] == ["nva2"]


@pytest.mark.parametrize("output", ["table", "json", "yaml"])
def test_change_commands_in_every_format(runner: CliRunner, db: Path, output: str) -> None:
    fail = runner.invoke(app, ["lab", "fail", "nva2", "--db", str(db), "-o", output])
    restore = runner.invoke(app, ["lab", "restore", "nva2", "--db", str(db), "-o", output])
    again = runner.invoke(app, ["apply", "-f", str(EXAMPLE), "--db", str(db), "-o", output])
    assert (fail.exit_code, restore.exit_code, again.exit_code) == (0, 0, 0)
    if output == "table":
        assert "nva2" in fail.stdout
        assert "No changes" in again.stdout
    else:
        load = json.loads if output == "json" else yaml.safe_load
        assert load(fail.stdout)["failed"] == ["nva2"]
        assert load(restore.stdout)["failed"] == []
        assert load(again.stdout) == {"applied": False, "changes": [], "warnings": []}


def test_lab_traffic_reports_its_seed_and_the_same_seed_repeats_the_run(
    runner: CliRunner, db: Path
) -> None:
    def traffic(*seed: str) -> dict[str, object]:
        result = runner.invoke(
            app, ["lab", "traffic", "--flows", "20", *seed, "--db", str(db), "-o", "json"]
        )
        assert result.exit_code == 0, result.output
        data: dict[str, object] = json.loads(result.stdout)
        return data

    fresh = traffic()
    assert isinstance(fresh["seed"], int)
    again = traffic("--seed", str(fresh["seed"]))
    assert again == fresh  # the printed seed repeats the run: same flows, same report
    assert traffic("--seed", "7") == traffic("--seed", "7")

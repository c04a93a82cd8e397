"""``--top/--skip/--prefix`` of the route-list commands on a local state file:
one page with ``--top``, every row (pages followed) without it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nexthop.cli import paging
from nexthop.cli.main import app

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"
BRANCH = ["192.168.0.0/16", "192.168.1.0/24", "192.168.2.0/24", "192.168.2.128/25", "172.16.0.0/12"]
ROLES = {"RouteServiceRole_IN_0", "RouteServiceRole_IN_1"}
LEARNED = ["routeserver", "peering", "list-learned-routes", "--routeserver", "rs", "-n", "nva1"]
ADVERTISED = [
    "routeserver",
    "peering",
    "list-advertised-routes",
    "--routeserver",
    "rs",
    "-n",
    "nva1",
]
EFFECTIVE = ["nic", "show-effective-route-table", "-n", "vm1"]


@pytest.fixture
def db(tmp_path: Path, runner: CliRunner) -> Path:
    """The example with five branch prefixes applied to a state file."""
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("prefixes: [192.168.0.0/16]", f"prefixes: [{', '.join(BRANCH)}]")
    topology = tmp_path / "paging.yaml"
    topology.write_text(text, encoding="utf-8")
    path = tmp_path / "nexthop.db"
    result = runner.invoke(app, ["apply", "-f", str(topology), "--db", str(path)])
    assert result.exit_code == 0, result.output
    return path


def as_json(runner: CliRunner, db: Path, *args: str) -> Any:
    result = runner.invoke(app, [*args, "--db", str(db), "-o", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def networks(rows: list[dict[str, Any]]) -> list[str]:
    return [row["network"] for row in rows]


def test_top_and_skip_show_one_page(runner: CliRunner, db: Path) -> None:
    full = as_json(runner, db, *LEARNED, "--top", "10000")
    assert set(full) == ROLES
    assert sorted(networks(full["RouteServiceRole_IN_0"])) == sorted(BRANCH)
    page = as_json(runner, db, *LEARNED, "--top", "2", "--skip", "1")
    for role in ROLES:
        assert page[role] == full[role][1:3]
    assert page["nextLink"] == "?skip=3&top=2"
    last = as_json(runner, db, *LEARNED, "--top", "2", "--skip", "3")
    assert "nextLink" not in last


@pytest.mark.parametrize("command", [LEARNED, ADVERTISED, EFFECTIVE])
def test_without_top_every_page_is_followed(
    runner: CliRunner, db: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    whole = as_json(runner, db, *command, "--top", "10000")
    monkeypatch.setattr(paging, "PAGE", 1)  # one request per row
    followed = as_json(runner, db, *command)
    assert "nextLink" not in followed
    assert followed == whole
    assert all(followed.values())


def test_prefix_keeps_equal_and_more_specific(runner: CliRunner, db: Path) -> None:
    learned = as_json(runner, db, *LEARNED, "--prefix", "192.168.2.0/24")
    for role in ROLES:
        assert networks(learned[role]) == ["192.168.2.0/24", "192.168.2.128/25"]
    effective = as_json(runner, db, *EFFECTIVE, "--prefix", "192.168.2.0/24")
    assert sorted(p for row in effective["value"] for p in row["addressPrefix"]) == [
        "192.168.2.0/24",
        "192.168.2.128/25",
    ]


def test_table_output_of_a_page(runner: CliRunner, db: Path) -> None:
    result = runner.invoke(app, [*LEARNED, "--top", "1", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "Network" in result.stdout
    assert "nextLink" not in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prefix", "192.168.0.1/16"], "invalid prefix '192.168.0.1/16'"),
        (["--top", "0"], "--top"),
        (["--skip", "-1"], "--skip"),
    ],
)
def test_bad_options_fail_naming_them(
    runner: CliRunner, db: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, [*LEARNED, *args, "--db", str(db)])
    assert result.exit_code != 0
    assert message in result.output

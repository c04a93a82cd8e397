"""Fixtures: a state file with the next-hop-ip example applied, and a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nexthop.cli.main import app

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def db(tmp_path: Path, runner: CliRunner) -> Path:
    path = tmp_path / "nexthop.db"
    result = runner.invoke(app, ["apply", "-f", str(EXAMPLE), "--db", str(path)])
    assert result.exit_code == 0, result.output
    return path

"""The lint at every write: ``nexthop apply``, ``POST /api/v1/apply`` and resource PUT
against ``nexthop serve``, and ``nexthop lab up FILE``. An error refuses the write
(nothing stored), warnings come back with the result."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from lint_designs import design, frr, networks, text
from typer.testing import CliRunner

from nexthop.cli.main import app

BASE = "/api/v1"
WAIT_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def over_limit() -> dict[str, Any]:
    """fw-a sends 11 routes where the route server holds 10: ``route-limit``."""
    data = design()
    data["route_servers"][0]["limits"] = {"max_routes_per_peer": 10}
    data["nvas"][0]["bgp_config"] = frr(networks=networks(10))
    return data


def one_instance() -> dict[str, Any]:
    data = design()
    data["nvas"][0]["bgp_config"] = frr(instances=("10.1.1.4",))
    return data


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write(tmp_path: Path, data: dict[str, Any], name: str) -> Path:
    path = tmp_path / name
    path.write_text(text(data))
    return path


def test_cli_apply_refuses_a_lint_error_and_stores_nothing(
    runner: CliRunner, tmp_path: Path
) -> None:
    db = str(tmp_path / "n.db")
    bad = write(tmp_path, over_limit(), "bad.yaml")
    result = runner.invoke(app, ["apply", "-f", str(bad), "--db", db])
    assert result.exit_code == 1
    assert "nvas[fw-a].bgp_config: NVA 'fw-a' sends 11 routes to 10.1.1.4" in result.output
    assert "[route-limit]" in result.output
    listed = runner.invoke(app, ["lab", "status", "--db", db])
    assert listed.exit_code == 1
    assert "no topology applied yet" in listed.output


def test_cli_apply_shows_warnings_and_applies(runner: CliRunner, tmp_path: Path) -> None:
    db = str(tmp_path / "n.db")
    path = write(tmp_path, one_instance(), "warn.yaml")
    result = runner.invoke(app, ["apply", "-f", str(path), "--db", db])
    assert result.exit_code == 0, result.output
    assert "Applied" in result.stdout
    assert f"warning: {path}:" in result.stderr
    assert "peers route server 'rs' at 10.1.1.4 only" in result.stderr
    assert "[one-instance]" in result.stderr


@contextmanager
def serve(db: Path) -> Iterator[str]:
    """``nexthop serve --no-bgp`` on a free port; yields its URL."""
    port = free_port()
    command = [sys.executable, "-m", "nexthop.cli.main", "serve", "--no-bgp"]
    command += ["--port", str(port), "--db", str(db)]
    env = {k: v for k, v in os.environ.items() if k not in ("NEXTHOP_TOKEN", "NEXTHOP_DB")}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + WAIT_S
        while True:
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "nexthop serve did not start"
            try:
                if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)  # starting; poll again
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_api_apply_and_put_refuse_lint_errors_and_return_warnings(tmp_path: Path) -> None:
    with serve(tmp_path / "n.db") as url, httpx.Client(base_url=url, timeout=30.0) as api:
        refused = api.post(f"{BASE}/apply", json={"yaml": text(over_limit())})
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert error["code"] == "lint_error"
        assert error["field"] == "nvas[fw-a].bgp_config"
        assert error["message"].startswith("<request>:")
        assert "[route-limit]" in error["message"]
        assert api.get(f"{BASE}/resources/nvas").json() == []

        applied = api.post(f"{BASE}/apply", json={"yaml": text(one_instance())}).json()
        assert applied["applied"] is True
        (warning,) = applied["warnings"]
        assert warning.startswith("<request>:")
        assert warning.endswith("10.1.1.5 has no neighbor statement [one-instance]")

        # A resource PUT is gated too: the candidate topology as a whole.
        body = over_limit()["nvas"][0]
        limits = {**design()["route_servers"][0], "limits": {"max_routes_per_peer": 10}}
        assert api.put(f"{BASE}/resources/route_servers/rs", json=limits).status_code == 200
        put = api.put(f"{BASE}/resources/nvas/fw-a", json=body)
        assert put.status_code == 400
        assert put.json()["error"]["code"] == "lint_error"
        stored = api.get(f"{BASE}/resources/nvas/fw-a").json()
        assert stored["bgp_config"] == one_instance()["nvas"][0]["bgp_config"]


def test_lab_up_refuses_a_lint_error_before_starting(tmp_path: Path) -> None:
    bad = write(tmp_path, over_limit(), "bad.yaml")
    command = [sys.executable, "-m", "nexthop.cli.main", "lab", "up", str(bad)]
    command += ["--db", str(tmp_path / "n.db"), "--port", str(free_port())]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert "[route-limit]" in result.stderr
    assert "lab up:" not in result.stderr  # never announced

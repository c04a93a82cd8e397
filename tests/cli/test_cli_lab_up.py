"""``nexthop lab up``: the live loopback lab behind the API, driven by the CLI.

Waits poll the live state with a generous bound; assertions are on states and
routes, never on durations.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from nexthop.cli.main import app

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"
WAIT_S = 30.0
SSH_PORT = 22


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.1)  # poll the live lab
    raise AssertionError("the live lab did not reach the expected state in time")


@contextmanager
def running_lab(db: Path, *file: str) -> Iterator[str]:
    """``nexthop lab up [FILE] --db DB`` as a process; yields its API URL."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "nexthop.cli.main",
        "lab",
        "up",
        *file,
        "--db",
        str(db),
        "--port",
        str(port),
        "--bgp-port",
        str(_free_port()),
        "--port-offset",
        str(_free_port() - SSH_PORT),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(
            lambda: (
                process.poll() is not None
                or httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
            )
        )
        assert process.poll() is None, process.communicate()[1]
        yield url
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
        assert process.returncode in (0, -15), err


@pytest.fixture
def lab_up(tmp_path: Path) -> Iterator[str]:
    with running_lab(tmp_path / "lab.db", str(EXAMPLE)) as url:
        yield url


def _json(runner: CliRunner, *args: str) -> dict[str, object]:
    result = runner.invoke(app, [*args, "-o", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_lab_up_serves_live_state_and_takes_faults(lab_up: str) -> None:
    runner = CliRunner()
    server = ("--server", lab_up)

    def established(nva: str) -> list[str]:
        status = _json(runner, "lab", "status", *server)
        assert status["live"] is True
        rows = {n["name"]: n for n in status["nvas"]}  # type: ignore[attr-defined]
        return list(rows[nva]["established"])

    both = ["rs/RouteServiceRole_IN_0", "rs/RouteServiceRole_IN_1"]
    _wait(lambda: established("nva1") == both and established("nva2") == both)

    def learned() -> object:
        return _json(
            runner,
            "routeserver",
            "peering",
            "list-learned-routes",
            "--routeserver",
            "rs",
            "--name",
            "nva1",
            *server,
        )

    _wait(lambda: all(learned().values()))  # type: ignore[attr-defined]
    row = learned()["RouteServiceRole_IN_0"][0]  # type: ignore[index]
    assert (row["network"], row["nextHop"]) == ("192.168.0.0/16", "10.1.0.100")

    failed = _json(runner, "lab", "fail", "nva1", *server)
    assert failed["failed"] == ["nva1"]

    def nva1_state() -> str:
        health = _json(runner, "lb", "show-backend-health", "--name", "ilb", *server)
        rule = health["loadBalancingRules"][0]  # type: ignore[index]
        return str({b["name"]: b["state"] for b in rule["loadBalancerBackendAddresses"]}["nva1"])

    _wait(lambda: nva1_state() == "Down")
    _wait(lambda: established("nva1") == [])

    down = _json(runner, "lab", "down", *server)
    assert down["live"] is False
    assert down["failed"] == ["nva1"]  # the model keeps the fault


def test_a_restarted_lab_keeps_resources_and_faults(tmp_path: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "lab.db"
    both = ["rs/RouteServiceRole_IN_0", "rs/RouteServiceRole_IN_1"]

    def nvas(url: str) -> dict[str, dict[str, object]]:
        status = _json(runner, "lab", "status", "--server", url)
        return {n["name"]: n for n in status["nvas"]}  # type: ignore[attr-defined]

    with running_lab(db, str(EXAMPLE)) as url:
        _wait(lambda: nvas(url)["nva2"]["established"] == both)
        _json(runner, "lab", "fail", "nva2", "--server", url)
    with running_lab(db) as url:  # no file: everything from the state file
        _wait(lambda: nvas(url)["nva1"]["established"] == both)
        _wait(lambda: nvas(url)["nva2"]["established"] == [])
        assert nvas(url)["nva2"]["failed"] is True
        learned = _json(
            runner,
            "routeserver",
            "peering",
            "list-learned-routes",
            "--routeserver",
            "rs",
            "--name",
            "nva1",
            "--server",
            url,
        )
        assert set(learned) == {"RouteServiceRole_IN_0", "RouteServiceRole_IN_1"}

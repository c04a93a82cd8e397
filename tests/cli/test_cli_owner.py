"""Who owns a database (``nexthop.runfile``): a running ``serve``/``lab up`` holds its
lock, publishes its URL in the run file, and CLI commands on that database reach it.

Every server is a real process on a port chosen free, with a temporary ``--db``.
Waits are bounded polls of live state; nothing asserts on durations.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
import pytest

from nexthop.runfile import DbHeldError, DbLock, live_run, run_path, writer_lock

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"
WAIT_S = 30.0
SSH_PORT = 22
NVA2_PEERING = "      - name: nva2\n        peer_ip: 10.1.0.5\n        peer_asn: 65001\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    drop = ("NEXTHOP_DB", "NEXTHOP_SERVER", "NEXTHOP_TOKEN")
    return {k: v for k, v in os.environ.items() if k not in drop}


def _nexthop(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "nexthop.cli.main", *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=_env(), timeout=WAIT_S, check=False
    )


def _wait(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.1)  # poll the live server
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def _server(db: Path, port: int, *args: str) -> Iterator[str]:
    """``nexthop ARGS --db DB --port PORT`` as a process, once its run file is live."""
    command = [sys.executable, "-m", "nexthop.cli.main", *args, "--db", str(db)]
    command += ["--port", str(port)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(
            lambda: (
                process.poll() is not None
                or (
                    live_run(db) is not None
                    and httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
                )
            ),
            "the server to publish its run file and answer",
        )
        assert process.poll() is None, process.communicate()[1]
        yield url
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
        assert process.returncode in (0, -15), err


def _serve(db: Path, port: int) -> AbstractContextManager[str]:
    return _server(db, port, "serve", str(EXAMPLE), "--no-bgp")


def test_a_cli_write_without_server_goes_to_the_server_that_owns_the_db(tmp_path: Path) -> None:
    db = tmp_path / "owned.db"
    changed = tmp_path / "changed.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    assert NVA2_PEERING in text
    changed.write_text(text.replace(NVA2_PEERING, ""), "utf-8")
    with _serve(db, _free_port()) as url:
        run = live_run(db)
        assert run is not None
        assert (run.url, run.kind) == (url, "serve")
        assert run_path(db).stat().st_mode & 0o777 == 0o600

        applied = _nexthop("apply", "-f", str(changed), "--db", str(db))
        assert applied.returncode == 0, applied.stderr
        peerings = httpx.get(f"{url}/api/v1/routeservers/rs/peerings", timeout=10).json()
        assert [p["name"] for p in peerings] == ["nva1"]  # the server's own view changed
    assert not run_path(db).exists()  # removed on a clean (SIGTERM) exit
    assert live_run(db) is None


def test_a_second_server_on_a_held_db_is_refused_naming_the_first(tmp_path: Path) -> None:
    db = tmp_path / "owned.db"
    with _serve(db, _free_port()) as url:
        second = _nexthop("serve", "--db", str(db), "--port", str(_free_port()), "--no-bgp")
        assert second.returncode == 1
        assert "is held by nexthop serve (pid" in second.stderr
        assert url in second.stderr
        assert "serving" not in second.stderr + second.stdout


@pytest.mark.parametrize("command", [("serve", "--no-bgp"), ("lab", "up")])
def test_a_server_on_a_taken_port_fails_before_saying_it_serves(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    port = _free_port()
    with _serve(tmp_path / "first.db", port):
        other = tmp_path / "other.db"
        second = _nexthop(*command, str(EXAMPLE), "--db", str(other), "--port", str(port))
        assert second.returncode == 1
        assert f"cannot listen on 127.0.0.1:{port}: address in use" in second.stderr
        out = second.stderr + second.stdout
        assert "serving" not in out
        assert "lab up:" not in out
        assert live_run(other) is None


def test_lab_fail_from_another_process_reaches_the_live_lab(tmp_path: Path) -> None:
    db = tmp_path / "lab.db"
    both = ["rs/RouteServiceRole_IN_0", "rs/RouteServiceRole_IN_1"]
    lab = ["lab", "up", str(EXAMPLE), "--fast", "--bgp-port", str(_free_port())]
    lab += ["--port-offset", str(_free_port() - SSH_PORT)]
    with _server(db, _free_port(), *lab) as url:

        def nva1() -> dict[str, object]:
            status = httpx.get(f"{url}/api/v1/lab/status", timeout=10).json()
            return next(n for n in status["nvas"] if n["name"] == "nva1")

        _wait(lambda: nva1()["established"] == both, "nva1's sessions to come up")
        failed = _nexthop("lab", "fail", "nva1", "--db", str(db))
        assert failed.returncode == 0, failed.stderr
        _wait(lambda: nva1()["failed"] is True, "the live lab to see nva1 failed")
        _wait(lambda: nva1()["established"] == [], "nva1's sessions to go down")

        down = _nexthop("lab", "down", "--db", str(db))  # the owner, not a default URL
        assert down.returncode == 0, down.stderr
        status = httpx.get(f"{url}/api/v1/lab/status", timeout=10).json()
        assert status["live"] is False


def test_a_local_write_is_refused_while_a_server_holds_the_lock(tmp_path: Path) -> None:
    db = tmp_path / "held.db"
    owner = DbLock(db, wait_s=0)
    try:
        owner.write_run("http://127.0.0.1:1", "serve")
        with pytest.raises(DbHeldError) as refused, writer_lock(db, wait_s=0):
            pass
        assert refused.value.run is not None
        assert "nexthop serve (pid" in str(refused.value)
    finally:
        owner.release()
    with writer_lock(db, wait_s=0):  # released: local writes go ahead
        assert not run_path(db).exists()

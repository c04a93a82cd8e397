"""Bearer token enforcement beyond loopback (create_app + TestClient)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nexthop.api import create_app, is_loopback
from nexthop.clock import ManualClock
from nexthop.service import ControlPlane
from nexthop.store import Store

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"
TOKEN = "s3cret-token"


@pytest.fixture
def cp(tmp_path: Path) -> Iterator[ControlPlane]:
    plane = ControlPlane(Store(tmp_path / "n.db"), ManualClock(0.0))
    plane.apply_file(str(EXAMPLE))
    yield plane
    plane.close()


def test_beyond_loopback_without_a_token_is_refused(cp: ControlPlane) -> None:
    with pytest.raises(ValueError, match=r"refusing to serve on 0\.0\.0\.0 without a token"):
        create_app(cp, bind_host="0.0.0.0")
    with pytest.raises(ValueError, match="without a token"):
        create_app(cp, bind_host="10.0.0.1", token="  ")


def test_changes_need_the_token_reads_do_not(cp: ControlPlane) -> None:
    client = TestClient(create_app(cp, bind_host="0.0.0.0", token=TOKEN))
    assert client.get("/api/v1/routeservers/rs/peerings").status_code == 200

    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        r = client.post("/api/v1/lab/fail/nva1", headers=headers)
        assert r.status_code == 401
        assert r.json() == {
            "error": {
                "code": "unauthorized",
                "message": "a valid bearer token is required for changes",
                "field": None,
            }
        }
    assert cp.lab_status()["failed"] == []
    r = client.delete("/api/v1/resources/vms/vm1")
    assert r.status_code == 401
    assert client.put("/api/v1/resources/vms/vm1", json={}).status_code == 401
    assert client.post("/api/v1/apply", json={"yaml": "x"}).status_code == 401

    ok = client.post("/api/v1/lab/fail/nva1", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    assert cp.lab_status()["failed"] == ["nva1"]


def test_loopback_without_token_allows_changes(cp: ControlPlane) -> None:
    client = TestClient(create_app(cp))
    assert client.post("/api/v1/lab/fail/nva1").status_code == 200


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback

"""Every mutating call needs the token beyond loopback (create_app + TestClient).

The mutating operations are read from the app's own OpenAPI schema, so a route
added later is covered without editing this file: each one declares the bearer
scheme, and each one refuses a non-loopback client that has no valid token, both
when the server has a token (401) and when it has none (403).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from nexthop.api import create_app, is_loopback
from nexthop.clock import ManualClock
from nexthop.service import ControlPlane
from nexthop.store import Store

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"
TOKEN = "s3cret-token"
REMOTE = ("203.0.113.7", 40000)  # TEST-NET-3: not loopback
LOOPBACK = ("127.0.0.1", 40000)
MUTATING = {"post", "put", "patch", "delete"}
READ_ONLY_POSTS = {("post", "/api/v1/trace")}  # a query with a body; changes nothing
FILLERS = {"nva": "nva1", "kind": "vms", "name": "vm1"}


@pytest.fixture
def cp(tmp_path: Path) -> Iterator[ControlPlane]:
    plane = ControlPlane(Store(tmp_path / "n.db"), ManualClock(0.0))
    plane.apply_file(str(EXAMPLE))
    yield plane
    plane.close()


def operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in app.openapi()["paths"].items()
        for method, op in item.items()
    ]


def changes(app: FastAPI) -> list[tuple[str, str]]:
    found = [
        (method, path)
        for method, path, _op in operations(app)
        if method in MUTATING and (method, path) not in READ_ONLY_POSTS
    ]
    assert len(found) >= 7  # apply, PUT/DELETE resource, lab fail/restore/down/traffic
    return found


def url(path: str) -> str:
    for name, value in FILLERS.items():
        path = path.replace(f"{{{name}}}", value)
    return path


def state(cp: ControlPlane) -> tuple[Any, ...]:
    return (cp.events(1000), cp.list_resources("vms"), cp.lab_status()["failed"])


def test_every_mutating_operation_declares_the_bearer_scheme(cp: ControlPlane) -> None:
    app = create_app(cp, bind_host="0.0.0.0", token=TOKEN)
    schema = app.openapi()
    [scheme] = schema["components"]["securitySchemes"].values()
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    guarded = {(m, p) for m, p, op in operations(app) if op.get("security")}
    assert guarded == set(changes(app))
    for method, path in guarded:
        responses = schema["paths"][path][method]["responses"]
        assert {"401", "403"} <= responses.keys()


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["none", "wrong", "basic"],
)
def test_beyond_loopback_every_change_needs_the_token(
    cp: ControlPlane, headers: dict[str, str]
) -> None:
    app = create_app(cp, bind_host="0.0.0.0", token=TOKEN)
    client = TestClient(app, client=REMOTE)
    before = state(cp)
    for method, path in changes(app):
        r = client.request(method.upper(), url(path), headers=headers, json={})
        assert r.status_code == 401, (method, path, r.text)
        assert r.json() == {
            "error": {
                "code": "unauthorized",
                "message": "a valid bearer token is required for changes",
                "field": None,
            }
        }
    assert state(cp) == before
    assert client.get("/api/v1/routeservers/rs/peerings").status_code == 200  # reads need none


def test_with_the_token_a_remote_change_goes_through(cp: ControlPlane) -> None:
    client = TestClient(create_app(cp, bind_host="0.0.0.0", token=TOKEN), client=REMOTE)
    ok = client.post("/api/v1/lab/fail/nva1", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    assert cp.lab_status()["failed"] == ["nva1"]


def test_without_a_token_only_loopback_clients_change_state(cp: ControlPlane) -> None:
    app = create_app(cp)  # loopback bind, no token
    remote = TestClient(app, client=REMOTE)
    before = state(cp)
    for method, path in changes(app):
        r = remote.request(method.upper(), url(path), json={})
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["error"]["code"] == "forbidden"
        assert "203.0.113.7" in r.json()["error"]["message"]
    assert state(cp) == before
    local = TestClient(app, client=LOOPBACK)
    assert local.post("/api/v1/lab/fail/nva1").status_code == 200
    assert cp.lab_status()["failed"] == ["nva1"]


def test_beyond_loopback_without_a_token_is_refused(cp: ControlPlane) -> None:
    with pytest.raises(ValueError, match=r"refusing to serve on 0\.0\.0\.0 without a token"):
        create_app(cp, bind_host="0.0.0.0")
    with pytest.raises(ValueError, match="without a token"):
        create_app(cp, bind_host="10.0.0.1", token="  ")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("::ffff:10.0.0.1", False),
        ("192.168.1.10", False),
        ("example.org", False),
        ("testclient", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback

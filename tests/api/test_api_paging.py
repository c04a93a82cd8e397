"""Paged route views of a real ``nexthop serve`` (issue 10 "Views at scale"):
``top``/``skip``/``prefix`` query parameters, an absolute ``nextLink`` only while
more rows exist, and 4xx errors naming the parameter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from api_server import EXAMPLE, Server, start_server

BASE = "/api/v1"
ROLES = ("RouteServiceRole_IN_0", "RouteServiceRole_IN_1")
BRANCH = ["192.168.0.0/16", "192.168.1.0/24", "192.168.2.0/24", "192.168.2.128/25", "172.16.0.0/12"]
LEARNED = f"{BASE}/routeservers/rs/peerings/nva1/learned-routes"
ADVERTISED = f"{BASE}/routeservers/rs/peerings/nva1/advertised-routes"
EFFECTIVE = f"{BASE}/nics/vm1/effective-route-table"
MAX_PAGES = 100


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server whose branch sits behind five prefixes (more rows than a page),
    shared by these read-only tests."""
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("prefixes: [192.168.0.0/16]", f"prefixes: [{', '.join(BRANCH)}]")
    tmp = tmp_path_factory.mktemp("paging")
    topology = tmp / "paging.yaml"
    topology.write_text(text, encoding="utf-8")
    s = start_server(tmp / "nexthop.db", str(topology))
    yield s
    s.stop()


def follow(api: httpx.Client, url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page from ``url`` following ``nextLink`` (each one an absolute URL)."""
    pages = []
    next_url: str | None = url
    while next_url is not None:
        assert len(pages) < MAX_PAGES, "nextLink never ends"
        r = api.get(next_url, params=params if next_url == url else None)
        assert r.status_code == 200, r.text
        page = r.json()
        pages.append(page)
        next_url = page.get("nextLink")
        if next_url is not None:
            assert next_url.startswith(str(api.base_url).rstrip("/"))
    return pages


@pytest.mark.parametrize("url", [LEARNED, ADVERTISED])
def test_route_pages_join_to_the_full_list(api: httpx.Client, url: str) -> None:
    full = api.get(url).json()
    assert "nextLink" not in full
    pages = follow(api, url, {"top": 1})
    longest = max(len(full[role]) for role in ROLES)
    assert len(pages) == max(longest, 1)
    for role in ROLES:
        assert [row for page in pages for row in page[role]] == full[role]
    assert all("nextLink" in page for page in pages[:-1])
    assert "nextLink" not in pages[-1]


def test_learned_routes_page_and_prefix(api: httpx.Client) -> None:
    full = api.get(LEARNED).json()
    assert sorted(row["network"] for row in full[ROLES[0]]) == sorted(BRANCH)
    page = api.get(LEARNED, params={"top": 2, "skip": 1}).json()
    assert page[ROLES[0]] == full[ROLES[0]][1:3]
    assert httpx.URL(page["nextLink"]).params["skip"] == "3"
    inside = api.get(LEARNED, params={"prefix": "192.168.2.0/24"}).json()
    assert [row["network"] for row in inside[ROLES[0]]] == ["192.168.2.0/24", "192.168.2.128/25"]
    assert "nextLink" not in inside


def test_effective_routes_pages_and_prefix(api: httpx.Client) -> None:
    full = api.get(EFFECTIVE).json()
    assert len(full["value"]) >= 3
    assert "nextLink" not in full
    pages = follow(api, EFFECTIVE, {"top": 2})
    assert [row for page in pages for row in page["value"]] == full["value"]
    assert len(pages) > 1
    inside = api.get(EFFECTIVE, params={"prefix": "192.168.2.0/24"}).json()["value"]
    assert sorted(p for row in inside for p in row["addressPrefix"]) == [
        "192.168.2.0/24",
        "192.168.2.128/25",
    ]


@pytest.mark.parametrize("url", [LEARNED, ADVERTISED, EFFECTIVE])
@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"top": 0}, 422, "top"),
        ({"top": 10001}, 422, "top"),
        ({"top": "many"}, 422, "top"),
        ({"skip": -1}, 422, "skip"),
        ({"prefix": "192.168.0.1/16"}, 400, "prefix"),
        ({"prefix": "not-a-prefix"}, 400, "prefix"),
    ],
)
def test_a_bad_page_parameter_is_named(
    api: httpx.Client, url: str, params: dict[str, Any], status: int, field: str
) -> None:
    r = api.get(url, params=params)
    assert r.status_code == status
    assert r.json()["error"]["field"] == field

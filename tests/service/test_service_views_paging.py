"""Paged views through the control plane (issue 10 "Views at scale"): pages join
to the full list, ``nextLink`` marks more rows, ``prefix`` keeps equal-or-more-
specific rows, bad windows name the parameter; peering times are ISO 8601 UTC."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from nexthop.clock import SystemClock
from nexthop.net.prefix import parse_prefix
from nexthop.service import ControlPlane, ControlPlaneError
from nexthop.store import Store

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"
BRANCH = ["192.168.0.0/16", "192.168.1.0/24", "192.168.2.0/24", "192.168.2.128/25", "172.16.0.0/12"]
ROLES = ("RouteServiceRole_IN_0", "RouteServiceRole_IN_1")


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[ControlPlane]:
    """The example with five branch prefixes, on the system clock (as ``serve``)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("prefixes: [192.168.0.0/16]", f"prefixes: [{', '.join(BRANCH)}]")
    assert BRANCH[-1] in text
    cp = ControlPlane(Store(tmp_path / "nexthop.db"), SystemClock())
    cp.apply_text(text, "paging.yaml")
    yield cp
    cp.close()


def networks(body: dict[str, Any], role: str) -> list[str]:
    return [row["network"] for row in body[role]]


def test_learned_pages_join_to_the_full_list(plane: ControlPlane) -> None:
    full = plane.learned_routes("rs", "nva1")
    assert "nextLink" not in full
    assert sorted(networks(full, ROLES[0])) == sorted(BRANCH)
    joined: dict[str, list[str]] = {role: [] for role in ROLES}
    skip, pages = 0, 0
    while True:
        page = plane.learned_routes("rs", "nva1", skip=skip, top=2)
        pages += 1
        for role in ROLES:
            assert len(page[role]) <= 2
            joined[role] += networks(page, role)
        if "nextLink" not in page:
            break
        assert page["nextLink"] == f"?skip={skip + 2}&top=2"
        skip += 2
    assert pages == 3
    assert joined == {role: networks(full, role) for role in ROLES}


def test_a_page_that_ends_the_list_has_no_next_link(plane: ControlPlane) -> None:
    assert "nextLink" not in plane.learned_routes("rs", "nva1", skip=3, top=2)
    assert "nextLink" in plane.learned_routes("rs", "nva1", skip=2, top=2)
    beyond = plane.learned_routes("rs", "nva1", skip=50, top=2)
    assert beyond == {role: [] for role in ROLES}


def test_prefix_keeps_equal_and_more_specific_routes(plane: ControlPlane) -> None:
    body = plane.learned_routes("rs", "nva1", prefix="192.168.2.0/24")
    assert networks(body, ROLES[0]) == ["192.168.2.0/24", "192.168.2.128/25"]
    page = plane.learned_routes("rs", "nva1", prefix="192.168.0.0/16", top=1, skip=1)
    assert page["nextLink"] == "?skip=2&top=1&prefix=192.168.0.0%2F16"
    assert plane.learned_routes("rs", "nva1", prefix="10.0.0.0/8") == {role: [] for role in ROLES}


def test_advertised_routes_page_and_filter(plane: ControlPlane) -> None:
    full = plane.advertised_routes("rs", "nva1")
    rows = networks(full, ROLES[0])
    assert rows
    first = plane.advertised_routes("rs", "nva1", top=1)
    assert networks(first, ROLES[0]) == rows[:1]
    assert ("nextLink" in first) == (len(rows) > 1)
    inside = plane.advertised_routes("rs", "nva1", prefix="10.0.0.0/8")
    assert networks(inside, ROLES[0]) == [
        r for r in rows if parse_prefix("10.0.0.0/8").contains(parse_prefix(r))
    ]


def test_effective_routes_page_and_filter(plane: ControlPlane) -> None:
    full = plane.effective_route_table("vm1")["value"]
    assert len(full) >= 3
    joined, skip = [], 0
    while True:
        page = plane.effective_route_table("vm1", skip=skip, top=2)
        joined += page["value"]
        if "nextLink" not in page:
            break
        skip += 2
    assert joined == full
    inside = plane.effective_route_table("vm1", prefix="192.168.0.0/16")["value"]
    prefixes = [p for row in inside for p in row["addressPrefix"]]
    assert "192.168.2.128/25" in prefixes
    assert all(parse_prefix("192.168.0.0/16").contains(parse_prefix(p)) for p in prefixes)


@pytest.mark.parametrize(
    ("window", "field"),
    [
        ({"prefix": "192.168.0.1/16"}, "prefix"),
        ({"prefix": "banana"}, "prefix"),
        ({"skip": -1}, "skip"),
        ({"top": 0}, "top"),
    ],
)
def test_a_bad_window_names_its_parameter(
    plane: ControlPlane, window: dict[str, Any], field: str
) -> None:
    for view in (
        lambda: plane.learned_routes("rs", "nva1", **window),
        lambda: plane.advertised_routes("rs", "nva1", **window),
        lambda: plane.effective_route_table("vm1", **window),
    ):
        with pytest.raises(ControlPlaneError) as caught:
            view()
        assert caught.value.field == field
        assert caught.value.status == 400


def test_established_at_is_iso_8601_utc_near_now(plane: ControlPlane) -> None:
    before = datetime.now(UTC)
    status = plane.routeserver_peering("rs", "nva1")["instances"][ROLES[0]]
    after = datetime.now(UTC)
    assert status["state"] == "Established"
    text = status["established_at"]
    assert text.endswith("Z")
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None
    # the model established its sessions when the topology was applied, just now
    assert before - timedelta(minutes=5) <= moment <= after + timedelta(seconds=1)
    assert status["idle_hold_until"] is None

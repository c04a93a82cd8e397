"""Learned/advertised routes by page and by prefix (``routeserver.paging``): pages
concatenate to the full table, stay right across changes, and a page of a large
table is cut from the index without walking the table."""

from __future__ import annotations

import pytest
from rs_helpers import NVA1, NVA2, announce, connect, server, withdraw

from nexthop.bgp.rib.adj_rib_in import AdjRibIn
from nexthop.net.prefix import Afi, Prefix, parse_prefix
from nexthop.routeserver import IN_0, ConfigError, RouteServer
from nexthop.routeserver import instance as instance_module

N = 50_000


def _prefix(i: int) -> Prefix:
    return Prefix(Afi.IPV4, (20 << 24) | (i << 8), 24)


def _loaded(n: int) -> RouteServer:
    rs = server(max_routes_per_peer=2 * n)
    connect(rs, NVA1, NVA2, instances=(IN_0,))
    order = [_prefix(i) for i in range(n)]
    order = order[n // 2 :] + order[: n // 2]  # not in prefix order
    for start in range(0, n, 8):
        rs.receive_update(IN_0, "nva1", announce(*order[start : start + 8]), 0.0)
    return rs


def _networks(rs: RouteServer, **window: object) -> list[str]:
    page = rs.learned_routes_page("nva1", **window)[IN_0]  # type: ignore[arg-type]
    return [str(row["network"]) for row in page[0]]


def test_pages_concatenate_to_the_table_and_follow_changes() -> None:
    rs = _loaded(1000)
    full = [str(_prefix(i)) for i in range(1000)]
    pages = [_networks(rs, skip=skip, top=300) for skip in range(0, 1200, 300)]
    assert [n for page in pages for n in page] == full
    assert _networks(rs, skip=1000, top=10) == []
    # changes after the index exists: withdrawn and new rows show on the next page
    rs.receive_update(IN_0, "nva1", withdraw(_prefix(0), _prefix(500)), 1.0)
    rs.receive_update(IN_0, "nva1", announce("20.255.0.0/16"), 1.0)
    expected = [n for n in full if n not in (str(_prefix(0)), str(_prefix(500)))]
    expected.append("20.255.0.0/16")
    assert _networks(rs) == sorted(expected, key=parse_prefix)
    rows, total = rs.learned_routes_page("nva1", top=5)[IN_0]
    assert (len(rows), total) == (5, 999)


def test_prefix_filter_keeps_rows_equal_to_or_inside_it() -> None:
    rs = _loaded(512)  # 20.0.0.0/24 .. 20.1.255.0/24
    rs.receive_update(IN_0, "nva1", announce("20.0.0.0/15", "20.0.0.0/16", "19.0.0.0/8"), 0.0)
    within = parse_prefix("20.1.0.0/16")
    got = rs.learned_routes_page("nva1", within=within)[IN_0]
    assert got[1] == 256
    assert all(within.contains(parse_prefix(str(r["network"]))) for r in got[0])
    assert [
        str(r["network"])
        for r in rs.learned_routes_page("nva1", within=parse_prefix("20.0.0.0/16"), top=2)[IN_0][0]
    ] == ["20.0.0.0/16", "20.0.0.0/24"]


def test_advertised_pages_match_the_full_list() -> None:
    rs = _loaded(700)
    full = rs.advertised_routes("nva2")[IN_0]
    pages = [
        rs.advertised_routes_page("nva2", skip=s, top=100)[IN_0][0] for s in range(0, 800, 100)
    ]
    assert [r for page in pages for r in page] == full
    assert len(full) == 701  # + the VNet address space


def test_a_page_of_a_large_table_costs_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    rs = _loaded(N)
    rs.learned_routes_page("nva1", top=10)  # builds the index once
    built: list[int] = []
    real_row = instance_module.learned_row

    def counting_row(*args: object) -> object:
        built.append(1)
        return real_row(*args)  # type: ignore[arg-type]

    def no_walk(self: AdjRibIn) -> object:
        raise AssertionError("the page walked the whole Adj-RIB-In")

    monkeypatch.setattr(instance_module, "learned_row", counting_row)
    monkeypatch.setattr(AdjRibIn, "accepted", no_walk)
    rs.receive_update(IN_0, "nva1", withdraw(_prefix(N // 3)), 1.0)
    rows, total = rs.learned_routes_page("nva1", skip=N // 2, top=10)[IN_0]
    assert (len(rows), total, len(built)) == (10, N - 1, 10)
    assert rows[0]["network"] == str(_prefix(N // 2 + 1))
    status = rs.peering_status("nva1")[IN_0]  # counters: O(1), no walk either
    assert (status.received_routes, status.accepted_routes) == (N - 1, N - 1)


def test_bad_window_names_the_parameter() -> None:
    rs = _loaded(8)
    with pytest.raises(ConfigError, match="skip"):
        rs.learned_routes_page("nva1", skip=-1)
    with pytest.raises(ConfigError, match="top"):
        rs.advertised_routes_page("nva1", top=0)

"""Per-UPDATE work in the route server: loop prevention decided once for all the
NLRI of an UPDATE, a user policy still per prefix, a lone peer's own routes,
and identical changes packed once for several clients."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rs_helpers import (
    NVA1,
    NVA2,
    NVA3,
    SUBNET,
    announce,
    announced_to,
    connect,
    ip,
    send_both,
    server,
    withdrawn_to,
)

from nexthop.bgp.rib.path import Path
from nexthop.bgp.wire.messages import MpReach, PathAttributes, Update
from nexthop.net.prefix import Afi, Prefix, Safi, parse_prefix
from nexthop.routeserver import IN_0, IN_1, RouteServer, RouteServerConfig
from nexthop.routeserver.inbound import announced_runs

A, B, C = "10.100.0.0/16", "10.101.0.0/16", "10.102.0.0/16"


def _prefixes(*texts: str) -> list[Prefix]:
    return [parse_prefix(t) for t in texts]


def test_looped_update_rejects_every_nlri_and_displaces_accepted_paths() -> None:
    rs = server()
    connect(rs, NVA1, NVA3)
    out = send_both(rs, "nva1", announce(A, B))
    assert set(announced_to(out, IN_0, "nva3")) == set(_prefixes(A, B))
    out = send_both(rs, "nva1", announce(B, C, as_path=(65001, 65515)))
    # B was accepted: the looped re-announcement takes it away; C never arrives.
    assert withdrawn_to(out, IN_0, "nva3") == set(_prefixes(B))
    assert announced_to(out, IN_0, "nva3") == {}
    assert [p for p, _ in rs.vnet_routes()] == _prefixes(A)
    rejected = rs.rejected_routes("nva1")[IN_1]
    assert sorted(str(p.prefix) for p, _ in rejected) == [B, C]
    assert {reason for _, reason in rejected} == {"AS_PATH contains 65515 (loop prevention)"}
    status = rs.peering_status("nva1")[IN_0]
    assert (status.received_routes, status.accepted_routes, status.rejected_routes) == (3, 1, 2)
    # A clean re-announcement brings C back.
    out = send_both(rs, "nva1", announce(C))
    assert set(announced_to(out, IN_0, "nva3")) == set(_prefixes(C))
    assert rs.peering_status("nva1")[IN_0].accepted_routes == 2


def test_user_policy_still_judges_each_prefix_of_an_update() -> None:
    rs = server()
    connect(rs, NVA1, NVA3)
    seen: list[str] = []

    def no_b(path: Path) -> str | None:
        seen.append(str(path.prefix))
        return "no B" if str(path.prefix) == B else None

    rs.set_import_policy(no_b, 0.0)
    out = send_both(rs, "nva1", announce(A, B, C))
    assert sorted(seen) == sorted([A, B, C] * 2)  # both instances, every prefix
    assert set(announced_to(out, IN_0, "nva3")) == set(_prefixes(A, C))
    assert [(str(p.prefix), r) for p, r in rs.rejected_routes("nva1")[IN_0]] == [(B, "no B")]
    # Loop prevention still comes first and the user policy is not asked.
    seen.clear()
    send_both(rs, "nva1", announce(A, as_path=(65515,)))
    assert seen == []
    assert [p for p, _ in rs.vnet_routes()] == _prefixes(C)


def test_a_lone_peers_routes_reach_peers_that_come_up_later() -> None:
    # No VNet ranges: the lone peer's own routes are all there is to send.
    rs = RouteServer(RouteServerConfig(name="ars", subnet=SUBNET))
    connect(rs, NVA1)
    send_both(rs, "nva1", announce(A, B))
    assert [p for p, _ in rs.vnet_routes()] == _prefixes(A, B)
    out = connect(rs, NVA3)
    assert set(announced_to(out, IN_0, "nva3")) == set(_prefixes(A, B))
    out = send_both(rs, "nva1", announce(C))
    assert set(announced_to(out, IN_1, "nva3")) == set(_prefixes(C))
    assert announced_to(out, IN_1, "nva1") == {}


def test_clients_with_the_same_changes_get_the_same_updates() -> None:
    rs = server()
    connect(rs, NVA1, NVA2, NVA3)
    out = send_both(rs, "nva3", announce(A, B, C, as_path=(65003,)))
    for role in (IN_0, IN_1):
        one = announced_to(out, role, "nva1")
        assert set(one) == set(_prefixes(A, B, C))
        assert announced_to(out, role, "nva2") == one
        assert announced_to(out, role, "nva3") == {}
    out = send_both(rs, "nva1", announce(A, as_path=(65001, 65001)))
    # nva3 and nva2 hear nothing new for A (nva3's shorter path still wins).
    assert announced_to(out, IN_0, "nva2") == {}


prefix_st = st.sampled_from(_prefixes(A, B, C))


def announced_routes(update: Update) -> list[tuple[Prefix, int, tuple[int, ...]]]:
    """Every announced NLRI as (prefix, path id, next hops), one by one: the
    reference ``announced_runs`` must flatten to."""
    out: list[tuple[Prefix, int, tuple[int, ...]]] = []
    ids = update.nlri_path_ids or (0,) * len(update.nlri)
    next_hop = update.attributes.next_hop if update.attributes is not None else None
    hops = () if next_hop is None else (next_hop,)
    out.extend((prefix, pid, hops) for prefix, pid in zip(update.nlri, ids, strict=True))
    if update.mp_reach is not None:
        mp = update.mp_reach
        ids = mp.path_ids or (0,) * len(mp.nlri)
        out.extend((prefix, pid, mp.next_hops) for prefix, pid in zip(mp.nlri, ids, strict=True))
    return out


@given(
    st.lists(st.tuples(prefix_st, st.sampled_from([1, 2, 9])), max_size=8),
    st.booleans(),
    st.lists(prefix_st, max_size=3),
)
def test_announced_runs_flatten_to_announced_routes(
    nlri: list[tuple[Prefix, int]], with_ids: bool, mp_nlri: list[Prefix]
) -> None:
    update = Update(
        attributes=PathAttributes(next_hop=ip("10.1.0.9")),
        nlri=tuple(p for p, _ in nlri),
        nlri_path_ids=tuple(i for _, i in nlri) if with_ids and nlri else (),
        mp_reach=MpReach(afi=Afi.IPV4, safi=Safi.UNICAST, next_hops=(7,), nlri=tuple(mp_nlri))
        if mp_nlri
        else None,
    )
    runs = announced_runs(update)
    assert [(p, pid, hops) for prefixes, pid, hops in runs for p in prefixes] == (
        announced_routes(update)
    )
    assert all(prefixes for prefixes, _, _ in runs)


def test_add_path_ids_within_one_update_keep_paths_apart() -> None:
    rs = server()
    connect(rs, NVA1)
    base = announce(A, B, A, next_hop="10.1.0.100")
    update = Update(attributes=base.attributes, nlri=base.nlri, nlri_path_ids=(1, 1, 2))
    rs.receive_update(IN_0, "nva1", update, 0.0)
    rows = rs.learned_routes("nva1")[IN_0]
    assert [r["network"] for r in rows] == [A, A, B]
    assert rs.peering_status("nva1")[IN_0].accepted_routes == 3
    rs.receive_update(
        IN_0, "nva1", Update(withdrawn=(parse_prefix(A),), withdrawn_path_ids=(2,)), 0.0
    )
    assert [r["network"] for r in rs.learned_routes("nva1")[IN_0]] == [A, B]

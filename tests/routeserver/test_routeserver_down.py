"""A peer that goes down with a large table: its paths leave the Loc-RIB in
bulk, the other clients get exactly the withdrawals (or the next best path),
and the VNet programming follows, the same as if it had withdrawn every path."""

from __future__ import annotations

from rs_helpers import NVA1, NVA2, NVA3, announce, connect, ip, server, updates_to, withdrawn_to

from nexthop.bgp.wire.messages import Update
from nexthop.net.prefix import Afi, Prefix
from nexthop.routeserver import IN_0, Output, RoutesChanged, RouteServer

N = 400
PREFIXES = [Prefix(Afi.IPV4, (172 << 24) | (i << 8), 24) for i in range(N)]
SHARED = PREFIXES[::5]  # also announced by nva2
REJECTED = PREFIXES[N - 16 :]  # nva1 sends these with our AS in the path: never accepted
WITH_IDS = PREFIXES[100:140]  # nva1 sends these twice more, with ADD-PATH ids 1 and 2


def _nva1_updates() -> list[Update]:
    """nva1's table: 8 prefixes per attribute set, in arrival order (not sorted)."""
    updates: list[Update] = []
    plain = [p for p in PREFIXES if p not in REJECTED]
    order = plain[200:] + plain[:200]
    for start in range(0, len(order), 8):
        chunk = order[start : start + 8]
        updates.append(announce(*chunk, as_path=(65001, start + 1), next_hop="10.1.0.100"))
    for pid in (1, 2):
        base = announce(*WITH_IDS, as_path=(65001,), next_hop=f"10.1.0.{100 + pid}")
        ids = (pid,) * len(WITH_IDS)
        updates.append(Update(attributes=base.attributes, nlri=base.nlri, nlri_path_ids=ids))
    updates.append(announce(*REJECTED, as_path=(65001, 65515), next_hop="10.1.0.100"))
    return updates


def _loaded() -> RouteServer:
    rs = server()
    connect(rs, NVA1, NVA2, NVA3, instances=(IN_0,))
    for update in _nva1_updates():
        rs.receive_update(IN_0, "nva1", update, 0.0)
    # nva2's path for the shared prefixes loses to nva1's (longer AS_PATH).
    rs.receive_update(
        IN_0, "nva2", announce(*SHARED, as_path=(65001, 1, 2), next_hop="10.1.0.200"), 0.0
    )
    return rs


def _withdraw_everything() -> list[Update]:
    """nva1 withdrawing every path it sent, one UPDATE per path id."""
    plain = tuple(PREFIXES)
    by_id = tuple(WITH_IDS)
    return [
        Update(withdrawn=plain),
        Update(withdrawn=by_id, withdrawn_path_ids=(1,) * len(by_id)),
        Update(withdrawn=by_id, withdrawn_path_ids=(2,) * len(by_id)),
    ]


def _vnet_changes(outputs: list[Output]) -> list[tuple[Prefix, ...]]:
    return [o.prefixes for o in outputs if isinstance(o, RoutesChanged)]


def test_clients_get_withdrawals_for_its_prefixes_and_the_other_path_for_shared_ones() -> None:
    rs = _loaded()
    assert rs.peering_status("nva1")[IN_0].accepted_routes == N - 16 + 2 * len(WITH_IDS)
    only_nva2 = set(SHARED) & set(REJECTED)  # nva1 sent these, but they were refused
    assert len(rs.advertised_routes("nva3")[IN_0]) == N - 16 + len(only_nva2) + 1  # + VNet
    outputs = rs.peer_down(IN_0, "nva1", 1.0)

    only_nva1 = set(PREFIXES) - set(SHARED) - set(REJECTED)
    assert withdrawn_to(outputs, IN_0, "nva3") == only_nva1
    announced = {p for u in updates_to(outputs, IN_0, "nva3") for p in u.nlri}
    assert announced == set(SHARED) - set(REJECTED)
    for update in updates_to(outputs, IN_0, "nva3"):
        if update.nlri:
            assert update.attributes is not None
            assert update.attributes.as_path[0].asns == (65515, 65001, 1, 2)  # nva2's
    # nva2 never gets its own path back: only withdrawals of nva1's.
    assert withdrawn_to(outputs, IN_0, "nva2") == set(PREFIXES) - set(REJECTED)
    assert not [u for u in updates_to(outputs, IN_0, "nva2") if u.nlri]
    assert updates_to(outputs, IN_0, "nva1") == []

    assert rs.vnet_routes() == [(p, (ip("10.1.0.200"),)) for p in SHARED]
    changes = _vnet_changes(outputs)
    assert changes == [tuple(sorted(set(PREFIXES) - set(REJECTED)))]
    assert rs.peering_status("nva1")[IN_0].accepted_routes == 0
    assert len(rs.advertised_routes("nva3")[IN_0]) == len(SHARED) + 1
    assert len(rs.advertised_routes("nva2")[IN_0]) == 1


def test_going_down_sends_what_withdrawing_every_path_would() -> None:
    down, withdrawn = _loaded(), _loaded()
    by_down = down.peer_down(IN_0, "nva1", 1.0)
    by_withdrawal: list[Output] = []
    for update in _withdraw_everything():
        by_withdrawal += withdrawn.receive_update(IN_0, "nva1", update, 1.0)
    for client in ("nva2", "nva3"):
        sent = updates_to(by_down, IN_0, client)
        # The same UPDATEs; the withdrawal arrives in three, so compare contents.
        assert {p for u in sent for p in u.withdrawn} == withdrawn_to(by_withdrawal, IN_0, client)
        assert down.advertised_routes(client) == withdrawn.advertised_routes(client)
    assert down.vnet_routes() == withdrawn.vnet_routes()
    assert {p for c in _vnet_changes(by_down) for p in c} == {
        p for c in _vnet_changes(by_withdrawal) for p in c
    }
    for prefix in PREFIXES:
        assert down.best_path(IN_0, prefix) == withdrawn.best_path(IN_0, prefix)


def test_one_withdrawal_update_and_going_down_pack_the_same() -> None:
    """Without ADD-PATH ids: one withdrawal UPDATE and the session going down
    leave the same changes, so clients get identical UPDATEs."""
    plain = [p for p in PREFIXES if p not in REJECTED]
    outputs: list[list[Output]] = []
    for goes_down in (True, False):
        rs = server()
        connect(rs, NVA1, NVA2, NVA3, instances=(IN_0,))
        for start in range(0, len(plain), 8):
            chunk = plain[start : start + 8][::-1]
            rs.receive_update(IN_0, "nva1", announce(*chunk, as_path=(65001, start + 1)), 0.0)
        if goes_down:
            outputs.append(rs.peer_down(IN_0, "nva1", 1.0))
        else:
            outputs.append(rs.receive_update(IN_0, "nva1", Update(withdrawn=tuple(plain)), 1.0))
    down, withdrawal = outputs
    for client in ("nva2", "nva3"):
        assert updates_to(down, IN_0, client) == updates_to(withdrawal, IN_0, client)
        assert updates_to(down, IN_0, client)
    assert _vnet_changes(down) == _vnet_changes(withdrawal) == [tuple(plain)]


def test_removing_the_peering_and_max_prefix_withdraw_its_paths() -> None:
    rs = _loaded()
    outputs = rs.remove_peering("nva1", 1.0)
    assert withdrawn_to(outputs, IN_0, "nva3") == set(PREFIXES) - set(SHARED) - set(REJECTED)
    assert rs.vnet_routes() == [(p, (ip("10.1.0.200"),)) for p in SHARED]

    limited = server(max_routes_per_peer=N)
    connect(limited, NVA1, NVA3, instances=(IN_0,))
    first = PREFIXES[: N // 2]
    limited.receive_update(IN_0, "nva1", announce(*first), 0.0)
    assert len(limited.advertised_routes("nva3")[IN_0]) == N // 2 + 1
    outputs = limited.receive_update(IN_0, "nva1", announce(*PREFIXES), 0.0)
    assert withdrawn_to(outputs, IN_0, "nva3") == set(first)
    assert limited.vnet_routes() == []
    assert limited.peering_status("nva1")[IN_0].accepted_routes == 0

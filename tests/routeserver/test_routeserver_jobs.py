"""Stepped jobs (``routeserver.jobs``): with ``set_stepping(True)`` a new client's
table, a ROUTE-REFRESH answer and a downed peer's withdrawals come out of
``step_jobs`` a chunk at a time, and what each client ends up holding (replaying
the UPDATEs it was sent, in order) is what the unstepped server sends, with
End-of-RIB / EoRR last, whatever UPDATEs and session changes come in between."""

from __future__ import annotations

from rs_helpers import NVA1, NVA2, NVA3, announce, connect, negotiated, server, withdraw

from nexthop.bgp.constants import RouteRefreshSubtype
from nexthop.bgp.wire.messages import Update
from nexthop.bgp.wire.negotiated import Negotiated
from nexthop.net.prefix import Afi, Prefix, parse_prefix
from nexthop.routeserver import (
    IN_0,
    Output,
    RoutesChanged,
    RouteServer,
    SendRouteRefresh,
    SendUpdate,
)

N = 300
PREFIXES = [Prefix(Afi.IPV4, (172 << 24) | (i << 8), 24) for i in range(N)]
CHUNK = 16


def _loaded(*, stepped: bool) -> RouteServer:
    rs = server()
    rs.set_stepping(stepped)
    connect(rs, NVA1, NVA2, instances=(IN_0,))
    for start in range(0, N, 8):
        rs.receive_update(IN_0, "nva1", announce(*PREFIXES[start : start + 8]), 0.0)
    rs.add_peering(NVA3)
    return rs


def _steps(rs: RouteServer) -> list[Output]:
    """Run every queued job ``CHUNK`` prefixes at a time."""
    outputs: list[Output] = []
    while rs.has_jobs():
        outputs += rs.step_jobs(CHUNK)
    return outputs


def _replay(
    outputs: list[Output], peering: str, table: dict[Prefix, object] | None = None
) -> dict[Prefix, object]:
    """What ``peering`` on IN_0 holds after receiving ``outputs`` in order."""
    held: dict[Prefix, object] = {} if table is None else table
    for o in outputs:
        if isinstance(o, SendUpdate) and o.instance == IN_0 and o.peering == peering:
            for prefix in o.update.withdrawn:
                held.pop(prefix, None)
            for prefix in o.update.nlri:
                held[prefix] = o.update.attributes
    return held


def _to(outputs: list[Output], peering: str) -> list[Output]:
    return [
        o
        for o in outputs
        if isinstance(o, SendUpdate | SendRouteRefresh)
        and o.instance == IN_0
        and o.peering == peering
    ]


def _is_eor(output: Output) -> bool:
    return isinstance(output, SendUpdate) and output.update == Update()


def _enhanced(peering: object) -> Negotiated:
    base = negotiated(peering)  # type: ignore[arg-type]
    return Negotiated(
        asn4=True,
        route_refresh=True,
        enhanced_route_refresh=True,
        local_asn=base.local_asn,
        peer_asn=base.peer_asn,
        peer_bgp_id=base.peer_bgp_id,
    )


def test_a_new_clients_table_comes_in_chunks_and_ends_with_end_of_rib() -> None:
    whole = _loaded(stepped=False).peer_established(IN_0, "nva3", negotiated(NVA3), 1.0)
    rs = _loaded(stepped=True)
    assert rs.peer_established(IN_0, "nva3", negotiated(NVA3), 1.0) == []
    assert rs.has_jobs()
    outputs: list[Output] = []
    chunks = 0
    while rs.has_jobs():
        step = rs.step_jobs(CHUNK)
        prefixes = sum(len(o.update.nlri) for o in _to(step, "nva3") if isinstance(o, SendUpdate))
        assert prefixes <= CHUNK
        outputs += step
        chunks += 1
    assert chunks > N // CHUNK  # it was spread over many steps
    sent = _to(outputs, "nva3")
    assert _is_eor(sent[-1])
    assert sum(map(_is_eor, sent)) == 1
    assert _replay(outputs, "nva3") == _replay(whole, "nva3")
    assert len(_replay(outputs, "nva3")) == N + 1  # and the VNet's range


def test_updates_between_chunks_keep_the_client_exact_and_in_order() -> None:
    rs = _loaded(stepped=True)
    rs.peer_established(IN_0, "nva3", negotiated(NVA3), 1.0)
    outputs = rs.step_jobs(CHUNK)
    # Between two chunks: one prefix already sent is withdrawn, one not yet sent
    # is withdrawn, one new prefix arrives from nva2.
    early, late = PREFIXES[0], PREFIXES[-1]
    fresh = Prefix(Afi.IPV4, 192 << 24 | 168 << 16, 16)
    outputs += rs.receive_update(IN_0, "nva1", withdraw(early, late), 2.0)
    outputs += rs.receive_update(IN_0, "nva2", announce(fresh, as_path=(65001, 7)), 2.0)
    outputs += _steps(rs)
    held = _replay(outputs, "nva3")
    assert early not in held
    assert late not in held
    assert fresh in held
    assert len(held) == N - 2 + 1 + 1
    assert held.keys() == {
        parse_prefix(str(r["network"])) for r in rs.advertised_routes("nva3")[IN_0]
    }
    assert _is_eor(_to(outputs, "nva3")[-1])


def test_a_session_that_drops_mid_table_gets_no_stale_chunk_and_a_whole_new_table() -> None:
    rs = _loaded(stepped=True)
    rs.peer_established(IN_0, "nva3", negotiated(NVA3), 1.0)
    first = rs.step_jobs(CHUNK)
    assert _to(first, "nva3")
    rs.peer_down(IN_0, "nva3", 2.0)
    assert _to(_steps(rs), "nva3") == []  # its job ended with the session
    rs.peer_established(IN_0, "nva3", negotiated(NVA3), 3.0)
    again = _steps(rs)
    sent = _to(again, "nva3")
    assert sum(map(_is_eor, sent)) == 1
    assert _is_eor(sent[-1])
    assert len(_replay(again, "nva3")) == N + 1


def test_a_peer_down_with_its_table_is_withdrawn_in_chunks_like_at_once() -> None:
    whole = _loaded(stepped=False)
    whole.peer_established(IN_0, "nva3", negotiated(NVA3), 1.0)
    at_once = whole.peer_down(IN_0, "nva1", 2.0)

    rs = _loaded(stepped=True)
    rs.peer_established(IN_0, "nva3", negotiated(NVA3), 1.0)
    before = _replay(_steps(rs), "nva3")
    assert rs.peer_down(IN_0, "nva1", 2.0) == []
    outputs = _steps(rs)
    assert _replay(outputs, "nva3", dict(before)) == _replay(at_once, "nva3", dict(before))
    assert rs.vnet_routes() == whole.vnet_routes()
    changed = {p for o in outputs if isinstance(o, RoutesChanged) for p in o.prefixes}
    assert changed == set(PREFIXES)


def test_a_peer_back_before_its_withdrawals_finished_keeps_its_new_routes() -> None:
    rs = _loaded(stepped=True)
    rs.peer_established(IN_0, "nva3", negotiated(NVA3), 1.0)
    held = _replay(_steps(rs), "nva3")
    rs.peer_down(IN_0, "nva1", 2.0)
    outputs = rs.step_jobs(CHUNK)  # a few withdrawals out, most still to go
    outputs += rs.peer_established(IN_0, "nva1", negotiated(NVA1), 3.0)
    back = PREFIXES[-8:]  # not reached by the job yet
    outputs += rs.receive_update(IN_0, "nva1", announce(*back, as_path=(65001, 9)), 3.0)
    outputs += _steps(rs)
    held = _replay(outputs, "nva3", held)
    assert {p for p in held if p in set(PREFIXES)} == set(back)  # the rest withdrawn
    assert rs.vnet_route(back[0])  # programmed: the old session's removal did not take it


def test_a_route_refresh_answer_is_between_borr_and_eorr() -> None:
    rs = _loaded(stepped=True)
    rs.peer_established(IN_0, "nva3", _enhanced(NVA3), 1.0)
    _steps(rs)
    assert rs.receive_route_refresh(IN_0, "nva3", 2.0) == []
    assert rs.receive_route_refresh(IN_0, "nva3", 2.0) == []  # answered by the queued one
    sent = _to(_steps(rs), "nva3")
    first, last = sent[0], sent[-1]
    assert isinstance(first, SendRouteRefresh)
    assert first.subtype == RouteRefreshSubtype.BORR
    assert isinstance(last, SendRouteRefresh)
    assert last.subtype == RouteRefreshSubtype.EORR
    middle = [o for o in sent[1:-1] if isinstance(o, SendUpdate)]
    assert len(middle) == len(sent) - 2
    assert len({p for o in middle for p in o.update.nlri}) == N + 1


def test_turning_stepping_off_runs_what_is_queued() -> None:
    rs = _loaded(stepped=True)
    rs.peer_established(IN_0, "nva3", negotiated(NVA3), 1.0)
    outputs = rs.set_stepping(False)
    assert not rs.has_jobs()
    assert len(_replay(outputs, "nva3")) == N + 1
    assert _is_eor(_to(outputs, "nva3")[-1])
    answer = rs.receive_route_refresh(IN_0, "nva3", 2.0)  # answered within the call again
    assert len(_replay(answer, "nva3")) == N + 1

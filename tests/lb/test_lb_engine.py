"""LoadBalancerEngine: flow affinity, health, admin state, fail-open, NAT, status rows."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections import Counter

import pytest
from lb_builders import FRONTEND_IP, make_lb, random_flows

from nexthop.clock import ManualClock
from nexthop.lb.hashing import flow_hash
from nexthop.lb.health import FailureKind, HealthState, ProbeOutcome
from nexthop.lb.model import (
    AdminState,
    DistributionMode,
    Flow,
    IpProtocol,
    NoHealthyBackendsBehavior,
)
from nexthop.lb.selector import Dropped, DropReason, SelectReason, choose
from nexthop.lb.service_lb import Decision, FlowState, Forwarded, LoadBalancerEngine

DOWN = ProbeOutcome(success=False, kind=FailureKind.TIMEOUT)
UP = ProbeOutcome(success=True)


def fwd(engine: LoadBalancerEngine, flow: Flow, now: float) -> Forwarded:
    d = engine.forward(flow, now, via_frontend="fe")
    assert isinstance(d, Forwarded), d
    return d


def flows_by_backend(
    engine: LoadBalancerEngine, flows: list[Flow], now: float
) -> dict[str, list[Flow]]:
    out: dict[str, list[Flow]] = {}
    for f in flows:
        out.setdefault(fwd(engine, f, now).backend, []).append(f)
    return out


def healthy_engine(n: int = 3, **kw: object) -> LoadBalancerEngine:
    return LoadBalancerEngine(make_lb(n, **kw), 0.0, initial_state=HealthState.UP)  # type: ignore[arg-type]


def test_new_flows_need_a_probed_up_backend() -> None:
    e = LoadBalancerEngine(make_lb(2), 0.0)
    f = random_flows(1)[0]
    assert e.forward(f, 0.0, via_frontend="fe") == Dropped(reason=DropReason.NO_HEALTHY_BACKEND)
    e.probe_result("rule", "nva1", UP, 1.0)
    assert fwd(e, f, 1.0).backend == "nva1"


def test_tcp_flows_stay_pinned_after_probe_down_until_idle_timeout() -> None:
    clock = ManualClock()
    e = healthy_engine(3)
    groups = flows_by_backend(e, random_flows(300), clock.now())
    pinned = groups["nva1"]
    e.probe_result("rule", "nva1", DOWN, clock.advance(10))
    for f in pinned:  # established: same backend, both directions
        d = fwd(e, f, clock.now())
        assert (d.backend, d.flow_state) == ("nva1", FlowState.ESTABLISHED)
        assert fwd(e, f.reversed(), clock.now()).backend == "nva1"
    new = random_flows(300, seed=9)
    assert "nva1" not in {fwd(e, f, clock.now()).backend for f in new}
    clock.advance(3 * 60)  # traffic keeps an idle timer fresh
    assert fwd(e, pinned[0], clock.now()).backend == "nva1"
    clock.advance(4 * 60 - 1)
    assert fwd(e, pinned[0], clock.now()).backend == "nva1"
    clock.advance(4 * 60)  # idle for the full 4 minutes: the entry expired
    expired = e.expire_flows(clock.now())
    assert {x.backend for x in expired} >= {"nva1"}
    d = fwd(e, pinned[0], clock.now())
    assert d.flow_state is FlowState.NEW
    assert d.backend != "nva1"


def test_udp_flows_move_off_a_down_backend_and_do_not_return() -> None:
    e = healthy_engine(3)
    udp = random_flows(300, protocol=IpProtocol.UDP)
    groups = flows_by_backend(e, udp, 0.0)
    e.probe_result("rule", "nva2", DOWN, 5.0)
    moved = {f: fwd(e, f, 6.0) for f in groups["nva2"]}
    assert all(d.flow_state is FlowState.MOVED for d in moved.values())
    assert {d.backend for d in moved.values()} == {"nva0", "nva1"}  # spread, not piled
    for b in ("nva0", "nva1"):  # flows of healthy backends did not move
        assert {fwd(e, f, 6.0).backend for f in groups[b]} == {b}
    e.probe_result("rule", "nva2", UP, 10.0)
    for f, d in moved.items():  # recovered backend gets only new flows
        again = fwd(e, f, 11.0)
        assert (again.backend, again.flow_state) == (d.backend, FlowState.ESTABLISHED)
    fresh = flows_by_backend(e, random_flows(300, seed=5, protocol=IpProtocol.UDP), 11.0)
    assert len(fresh["nva2"]) > 50


def test_recovered_backend_only_gets_new_tcp_flows() -> None:
    e = healthy_engine(2)
    e.probe_result("rule", "nva0", DOWN, 1.0)
    during = random_flows(200)
    assert {fwd(e, f, 2.0).backend for f in during} == {"nva1"}
    e.probe_result("rule", "nva0", UP, 3.0)
    assert {fwd(e, f, 4.0).backend for f in during} == {"nva1"}
    after = flows_by_backend(e, random_flows(200, seed=3), 4.0)
    assert set(after) == {"nva0", "nva1"}


def test_admin_down_acts_like_probe_down_and_admin_up_overrides_the_probe() -> None:
    e = healthy_engine(3)
    tcp = flows_by_backend(e, random_flows(300), 0.0)
    udp = flows_by_backend(e, random_flows(300, seed=2, protocol=IpProtocol.UDP), 0.0)
    e.set_admin_state("pool", "nva0", AdminState.DOWN, 1.0)
    assert {fwd(e, f, 2.0).backend for f in tcp["nva0"]} == {"nva0"}  # TCP persists
    moved = {fwd(e, f, 2.0).backend for f in udp["nva0"]}
    assert moved == {"nva1", "nva2"}  # UDP moves to healthy instances
    assert "nva0" not in {fwd(e, f, 2.0).backend for f in random_flows(300, seed=7)}
    row = next(r for r in e.backend_health() if r["name"] == "nva0")
    assert (row["state"], row["reason"], row["probeState"]) == ("Down", "Down_Admin", "Up")
    # Admin Up wins over a failing probe.
    e.set_admin_state("pool", "nva1", AdminState.UP, 3.0)
    e.probe_result("rule", "nva1", DOWN, 3.0)
    assert "nva1" in {fwd(e, f, 4.0).backend for f in random_flows(300, seed=8)}
    row = next(r for r in e.backend_health() if r["name"] == "nva1")
    assert (row["state"], row["reason"]) == ("Up", "Up_Admin")
    udp1 = udp["nva1"]
    assert {fwd(e, f, 4.0).backend for f in udp1} == {"nva1"}  # admin Up keeps UDP too


def test_all_probed_down_drops_new_flows_keeps_tcp_and_ends_udp() -> None:
    e = healthy_engine(2)
    tcp = random_flows(50)
    udp = random_flows(50, seed=4, protocol=IpProtocol.UDP)
    before = {f: fwd(e, f, 0.0).backend for f in tcp}
    for f in udp:
        fwd(e, f, 0.0)
    for b in ("nva0", "nva1"):
        e.probe_result("rule", b, DOWN, 1.0)
    assert all(fwd(e, f, 2.0).backend == before[f] for f in tcp)
    for f in udp:
        assert e.forward(f, 2.0, via_frontend="fe") == Dropped(reason=DropReason.NO_HEALTHY_BACKEND)
    new = random_flows(50, seed=11)
    assert all(isinstance(e.forward(f, 2.0, via_frontend="fe"), Dropped) for f in new)
    health = e.rule_health("rule")
    assert (health["up"], health["down"]) == (0, 2)


def test_all_probed_up_fails_open_across_every_instance() -> None:
    e = healthy_engine(3, behavior=NoHealthyBackendsBehavior.ALL_PROBED_UP)
    for b in ("nva0", "nva1", "nva2"):
        e.probe_result("rule", b, DOWN, 1.0)
    decisions = [fwd(e, f, 2.0) for f in random_flows(300, protocol=IpProtocol.UDP)]
    assert {d.selection for d in decisions} == {SelectReason.FAIL_OPEN}
    assert set(Counter(d.backend for d in decisions)) == {"nva0", "nva1", "nva2"}
    health = e.rule_health("rule")
    assert health["up"] == 3
    reasons = {r["reason"] for r in health["loadBalancerBackendAddresses"]}
    assert reasons == {"Up_Probe_AllDownIsUp"}
    # One backend back: fail-open ends, new flows go only to it.
    e.probe_result("rule", "nva1", UP, 3.0)
    assert {fwd(e, f, 4.0).backend for f in random_flows(100, seed=6)} == {"nva1"}


def test_admin_down_everywhere_drops_even_when_failing_open() -> None:
    admin = {f"nva{i}": AdminState.DOWN for i in range(2)}
    lb = make_lb(2, behavior=NoHealthyBackendsBehavior.ALL_PROBED_UP, admin=admin)
    f = random_flows(1)[0]
    assert choose(lb, lb.rule("rule"), f, frozenset({"nva0", "nva1"})) == Dropped(
        reason=DropReason.ALL_ADMIN_DOWN
    )


def test_source_ip_mode_keeps_a_client_server_pair_on_one_backend() -> None:
    e = healthy_engine(4, mode=DistributionMode.SOURCE_IP)
    pair = [Flow.of(IpProtocol.TCP, "10.1.0.5", 1024 + i, "10.2.0.9", 443) for i in range(100)]
    assert len({fwd(e, f, 0.0).backend for f in pair}) == 1
    five = healthy_engine(4)
    assert len({fwd(five, f, 0.0).backend for f in pair}) == 4


def test_destination_rewrite_follows_floating_ip() -> None:
    to_fe = Flow.of(IpProtocol.TCP, "10.1.0.1", 40000, FRONTEND_IP, 80)
    nat = healthy_engine(2, ha_ports=False)
    d: Decision = nat.forward(to_fe, 0.0)
    assert isinstance(d, Forwarded)
    assert (d.dst_ip, d.dst_port) == (d.backend_ip, 8000)
    dsr = healthy_engine(2, ha_ports=False, floating_ip=True)
    d = dsr.forward(to_fe, 0.0)
    assert isinstance(d, Forwarded)
    assert (d.dst_ip, d.dst_port) == (ipaddress.ip_address(FRONTEND_IP), 80)
    routed = Flow.of(IpProtocol.TCP, "10.1.0.1", 40000, "172.16.0.1", 80)
    d = healthy_engine(2).forward(routed, 0.0, via_frontend="fe")
    assert isinstance(d, Forwarded)
    assert d.dst_ip == routed.dst_ip  # next hop IP case: the packet is not rewritten
    assert nat.forward(routed, 0.0) == Dropped(reason=DropReason.NO_RULE)


def test_probe_schedule_and_health_rows() -> None:
    e = LoadBalancerEngine(make_lb(2, threshold=2), 0.0)
    tasks = e.due_probes(0.0)
    assert [(t.backend, t.port, str(t.ip)) for t in tasks] == [
        ("nva0", 8080, "10.0.2.10"),
        ("nva1", 8080, "10.0.2.11"),
    ]
    assert e.next_deadline() is None
    for t in tasks:
        assert e.record_probe(t, UP, 0.1) == []  # threshold 2: not yet
    assert e.next_deadline() == 5.0
    for t in e.due_probes(5.0):
        events = e.record_probe(t, UP, 5.1)
        assert [ev.backend for ev in events] == [t.backend]
    rows = e.backend_health()
    assert [(r["name"], r["ipAddress"], r["state"], r["reason"], r["since"]) for r in rows] == [
        ("nva0", "10.0.2.10", "Up", "Up_Probe_Success", 5.1),
        ("nva1", "10.0.2.11", "Up", "Up_Probe_Success", 5.1),
    ]
    assert {r["probe"] for r in rows} == {"probe"}


def test_removing_a_backend_from_the_pool_moves_its_tcp_flows() -> None:
    e = healthy_engine(3)
    groups = flows_by_backend(e, random_flows(200), 0.0)
    smaller = make_lb(3)
    pool = smaller.pool("pool")
    shrunk = dataclasses.replace(
        smaller,
        pools=(dataclasses.replace(pool, backends=pool.backends[:2]),),
    )
    e.reconfigure(shrunk, 1.0)
    for b in ("nva0", "nva1"):
        assert {fwd(e, f, 2.0).backend for f in groups[b]} == {b}
    assert {fwd(e, f, 2.0).flow_state for f in groups["nva2"]} == {FlowState.MOVED}


def test_adding_a_backend_keeps_known_health_and_ignores_stale_probe_results() -> None:
    e = healthy_engine(2)
    e.probe_result("rule", "nva1", DOWN, 1.0)
    stale = e.due_probes(2.0)
    grown = make_lb(3)
    e.reconfigure(grown, 3.0)
    assert e.tracker("rule").up() == {"nva0"}
    assert e.tracker("rule").status("nva2").state is HealthState.UNKNOWN
    assert [t.backend for t in e.due_probes(3.0)] == ["nva2"]
    shrunk = make_lb(1)
    e.reconfigure(shrunk, 4.0)
    gone = next(t for t in stale if t.backend == "nva1")
    assert e.record_probe(gone, UP, 5.0) == []  # backend left while the probe ran
    with pytest.raises(KeyError):
        e.set_admin_state("pool", "nva9", AdminState.DOWN, 6.0)


def test_unknown_ip_protocols_are_named_by_number_in_hash_inputs() -> None:
    gre = Flow.of(47, "10.0.0.1", 0, "10.0.0.2", 0)
    assert flow_hash(gre).inputs[0] == "47"

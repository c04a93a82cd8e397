"""Traffic runs: flow generation, per-NVA distribution, symmetry counts, failures."""

from __future__ import annotations

import ipaddress
import json

from hypothesis import given, settings
from hypothesis import strategies as st
from world_builders import world

from nexthop.clock import ManualClock
from nexthop.world import (
    DropCause,
    ReturnPath,
    Symmetry,
    WorldOptions,
    generate_flows,
    run_traffic,
)


def test_flow_generation_is_deterministic_and_inside_the_branch_prefixes() -> None:
    w = world("active-passive")
    a = generate_flows(w, 50, seed=7)
    b = generate_flows(w, 50, seed=7)
    c = generate_flows(w, 50, seed=8)
    assert a == b
    assert a != c
    branch = [ipaddress.IPv4Network(n) for n in ("192.168.10.0/24", "192.168.20.0/24")]
    for flow in a:
        address = ipaddress.IPv4Address(flow.destination_ip)
        assert any(address in net for net in branch)
        assert flow.source == "vm1"
        assert flow.protocol in {"tcp", "udp"}
    assert len({(f.source, f.src_port) for f in a}) == 50


def test_generation_honours_a_destination_prefix() -> None:
    flows = generate_flows(world("next-hop-ip"), 20, seed=1, destination="192.168.5.0/24")
    assert all(f.destination_ip.startswith("192.168.5.") for f in flows)


def test_active_active_spreads_flows_and_symmetric_hashing_keeps_both_ways_on_one_nva() -> None:
    w = world("active-active")
    report = run_traffic(w, generate_flows(w, 90, seed=3), now=1.0)
    assert report.total == report.delivered == 90
    shares = report.per_nva
    assert set(shares) == {"nva1", "nva2", "nva3"}
    assert all(row["forward"] > 0 for row in shares.values())
    assert report.symmetric == 90
    assert report.asymmetric == 0
    assert all(r.forward_nva == r.return_nva for r in report.results)


def test_active_active_without_symmetric_hashing_counts_and_flags_asymmetry() -> None:
    w = world("active-active", options=WorldOptions(symmetric_hash=False))
    report = run_traffic(w, generate_flows(w, 90, seed=3), now=1.0)
    assert report.delivered == 90
    assert report.asymmetric > 0
    assert report.symmetric + report.asymmetric == 90
    for r in report.asymmetric_flows:
        assert r.forward_nva != r.return_nva
        assert r.to_dict()["asymmetric"] is True
    assert report.to_dict()["asymmetric"] == report.asymmetric


def test_return_path_not_via_the_lb_is_asymmetric_for_some_flows() -> None:
    w = world("active-active", options=WorldOptions(return_path=ReturnPath.BRANCH_ECMP))
    report = run_traffic(w, generate_flows(w, 90, seed=3), now=1.0)
    assert report.delivered == 90
    assert report.asymmetric > 0
    returns = {r.return_nva for r in report.results}
    assert returns == {"nva1", "nva2", "nva3"}


def test_active_passive_every_flow_is_symmetric_through_the_active() -> None:
    for path in ReturnPath:
        w = world("active-passive", options=WorldOptions(return_path=path))
        report = run_traffic(w, generate_flows(w, 40, seed=11), now=0.5)
        assert report.delivered == 40
        assert report.per_nva == {"fw-a": {"forward": 40, "return": 40}}
        assert report.symmetric == 40


def test_failures_are_counted_with_their_reasons() -> None:
    clock = ManualClock()
    w = world("next-hop-ip")
    w.fail_nva("nva1", clock.now())
    w.fail_nva("nva2", clock.now())
    clock.advance(30.0)
    report = run_traffic(w, generate_flows(w, 25, seed=2), now=clock.now())
    assert report.delivered == 0
    assert report.failure_causes == {DropCause.NO_HEALTHY_BACKEND.value: 25}
    assert all(r.direction == "forward" for r in report.failures)
    assert all(r.symmetry is Symmetry.INCOMPLETE for r in report.failures)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["failed"] == 25
    assert data["per_nva"] == {}


def test_world_run_traffic_generates_flows() -> None:
    report = world("next-hop-ip").run_traffic(12, seed=4, now=1.0)
    assert report.total == 12
    assert report.delivered == 12
    assert sum(row["forward"] for row in report.per_nva.values()) == 12


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    failed=st.sets(st.sampled_from(["nva1", "nva2", "nva3"]), max_size=2),
)
def test_live_nvas_carry_every_new_flow_symmetrically(seed: int, failed: set[str]) -> None:
    """Property: once probes have marked failed NVAs down, every new flow is delivered
    both ways through one live NVA (symmetric hash, return via the ILB)."""
    w = world("active-active")
    for name in sorted(failed):
        w.fail_nva(name, 1.0)
    report = run_traffic(w, generate_flows(w, 20, seed=seed), now=30.0)
    assert report.delivered == 20
    assert report.symmetric == 20
    assert not {r.forward_nva for r in report.results} & failed

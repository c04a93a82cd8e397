"""Active/passive failover on the model clock: heartbeat promotion, probes, new flows.

Times here are ManualClock (model) seconds, not wall-clock measurements; the
expected window comes from the configured timers (``failover_window``).
"""

from __future__ import annotations

import pytest
from world_builders import world

from nexthop.clock import ManualClock
from nexthop.lb import HaState
from nexthop.world import (
    AZURE_LIKE,
    FAST,
    TimerProfile,
    World,
    WorldError,
    WorldOptions,
    failover_window,
    generate_flows,
    measure_failover,
    run_traffic,
)

EPS = 1e-6


def fail_active(timers: TimerProfile | None) -> tuple[World, ManualClock, float, float, float]:
    clock = ManualClock()
    w = world("active-passive", options=WorldOptions(timers=timers))
    clock.advance(10.0)
    w.advance(clock.now())
    low, high = failover_window(w, "fw-a")
    result = measure_failover(w, clock, "fw-a", source="vm1", destination_ip="192.168.10.20")
    assert result.standby == "fw-b"
    assert result.failover_time is not None
    assert result.promoted_at is not None
    assert result.standby_up_at is not None
    assert result.killed_at <= result.promoted_at <= result.standby_up_at
    assert result.first_success_at == pytest.approx(result.standby_up_at)
    return w, clock, result.failover_time, low, high


@pytest.mark.parametrize("timers", [None, AZURE_LIKE, FAST], ids=["example", "azure", "fast"])
def test_failover_time_is_inside_the_window_of_the_configured_timers(
    timers: TimerProfile | None,
) -> None:
    _, _, elapsed, low, high = fail_active(timers)
    assert low - EPS <= elapsed <= high + EPS


def test_azure_like_timers_take_ten_seconds_or_more() -> None:
    _, _, elapsed, low, high = fail_active(AZURE_LIKE)
    # heartbeat 5 s x 3, probe 5 s x 2: promoted after 10-15 s, up 5-10 s later
    assert (low, high) == (15.0, 30.0)
    assert elapsed >= 10.0


def test_fast_timers_fail_over_in_under_a_second() -> None:
    _, _, elapsed, _, high = fail_active(FAST)
    assert high < 1.0
    assert elapsed < 1.0


def test_the_example_timers_window() -> None:
    # heartbeat 200 ms x 3, TCP probe every 1 s x 2 (examples/active-passive.yaml)
    w = world("active-passive")
    low, high = failover_window(w, "fw-a")
    assert low == pytest.approx(0.4 + 1.0)
    assert high == pytest.approx(0.6 + 3.0)


def test_after_failover_flows_go_through_the_standby_and_stay_symmetric() -> None:
    w, clock, _, _, _ = fail_active(FAST)
    standby = w.nvas["fw-b"].ha
    assert standby is not None
    assert standby.state is HaState.ACTIVE
    clock.advance(5.0)
    report = run_traffic(w, generate_flows(w, 30, seed=9), now=clock.now())
    assert report.delivered == 30
    assert report.per_nva == {"fw-b": {"forward": 30, "return": 30}}
    assert report.symmetric == 30


def test_the_old_active_comes_back_as_standby_without_taking_over() -> None:
    w, clock, _, _, _ = fail_active(FAST)
    clock.advance(1.0)
    w.restore_nva("fw-a", clock.now())
    clock.advance(5.0)
    fw_a = w.nvas["fw-a"].ha
    assert fw_a is not None
    assert fw_a.state is HaState.STANDBY
    report = run_traffic(w, generate_flows(w, 10, seed=10), now=clock.now())
    assert report.per_nva == {"fw-b": {"forward": 10, "return": 10}}


def test_failover_events_are_recorded_in_order() -> None:
    w, _, _, _, _ = fail_active(FAST)
    order = [
        (e.kind, e.subject)
        for e in w.events
        if e.at >= 10.0 and e.kind in {"nva_failed", "became_active", "backend_up"}
    ]
    assert order[:3] == [("nva_failed", "fw-a"), ("became_active", "fw-b"), ("backend_up", "fw-b")]


def test_no_window_without_an_ha_pair() -> None:
    with pytest.raises(WorldError, match="no HA standby"):
        failover_window(world("next-hop-ip"), "nva1")

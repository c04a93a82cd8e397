"""ProbeTracker: thresholds, HTTP answers, hysteresis, schedule."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from lb_builders import backends

from nexthop.clock import ManualClock
from nexthop.lb.health import (
    MAX_FLAP_PENALTY,
    BackendMarkedDown,
    BackendMarkedUp,
    FailureKind,
    HealthState,
    ProbeTracker,
    ReasonCode,
)
from nexthop.lb.model import Probe, ProbeProtocol

TCP3 = Probe(name="p", protocol=ProbeProtocol.TCP, port=22, interval=5, probe_threshold=3)
HTTP3 = Probe(
    name="h", protocol=ProbeProtocol.HTTP, port=80, path="/healthz", interval=5, probe_threshold=3
)


def test_backends_start_unknown_and_are_not_eligible() -> None:
    t = ProbeTracker(TCP3, backends(2), now=0.0)
    assert t.up() == frozenset()
    st_ = t.status("nva0")
    assert st_.state is HealthState.UNKNOWN
    assert st_.reason is ReasonCode.DOWN_PROBE_NOT_PROBED


def test_threshold_of_consecutive_successes_and_failures() -> None:
    t = ProbeTracker(TCP3, backends(1), now=0.0)
    assert t.record("nva0", True, 0) == []
    assert t.record("nva0", True, 5) == []
    assert t.status("nva0").reason is ReasonCode.DOWN_PROBE_APPROACHING_HEALTHY
    assert t.record("nva0", True, 10) == [
        BackendMarkedUp(probe="p", backend="nva0", at=10, reason=ReasonCode.UP_PROBE_SUCCESS)
    ]
    # Two failures, a success (resets the count), then three failures.
    assert t.record("nva0", False, 15, kind=FailureKind.TIMEOUT) == []
    assert t.record("nva0", False, 20, kind=FailureKind.TIMEOUT) == []
    assert t.status("nva0").reason is ReasonCode.UP_PROBE_APPROACHING_UNHEALTHY
    assert t.record("nva0", True, 25) == []
    assert t.record("nva0", False, 30, kind=FailureKind.REFUSED) == []
    assert t.record("nva0", False, 35, kind=FailureKind.REFUSED) == []
    events = t.record("nva0", False, 40, kind=FailureKind.REFUSED, detail="ECONNREFUSED")
    assert events == [
        BackendMarkedDown(
            probe="p",
            backend="nva0",
            at=40,
            reason=ReasonCode.DOWN_PROBE_REFUSED,
            kind=FailureKind.REFUSED,
            detail="ECONNREFUSED",
        )
    ]
    assert t.status("nva0").since == 40
    assert t.up() == frozenset()


def test_http_non_200_marks_down_at_once_and_200_marks_up_at_once() -> None:
    t = ProbeTracker(HTTP3, backends(1), now=0.0)
    assert [type(e) for e in t.record("nva0", True, 0)] == [BackendMarkedUp]
    events = t.record("nva0", False, 5, kind=FailureKind.HTTP_STATUS, detail="503")
    assert len(events) == 1
    down = events[0]
    assert isinstance(down, BackendMarkedDown)
    assert down.kind is FailureKind.HTTP_STATUS
    assert down.reason is ReasonCode.DOWN_PROBE_HTTP_STATUS
    assert t.status("nva0").detail == "503"
    # Timeouts on an HTTP probe still need the threshold.
    t2 = ProbeTracker(HTTP3, backends(1), now=0.0)
    t2.record("nva0", True, 0)
    assert t2.record("nva0", False, 5, kind=FailureKind.TIMEOUT) == []
    assert t2.is_up("nva0")


def test_flapping_backend_needs_more_successes_and_penalty_decays() -> None:
    probe = Probe(name="p", protocol=ProbeProtocol.TCP, port=22, interval=5, probe_threshold=1)
    t = ProbeTracker(probe, backends(1), now=0.0)
    clock = ManualClock()

    def step(ok: bool) -> list[object]:
        clock.advance(probe.interval)
        return list(t.record("nva0", ok, clock.now()))

    assert step(True)  # up after 1
    assert step(False)  # down within the flap window: penalty 1
    assert t.successes_needed("nva0") == 2
    assert not step(True)
    assert step(True)  # up after 2
    assert step(False)  # flapped again: penalty 2
    assert t.successes_needed("nva0") == 4
    assert [bool(step(True)) for _ in range(4)] == [False, False, False, True]
    for _ in range(12):  # stay up longer than the window (10 intervals)
        assert not step(True)
    assert step(False)
    assert t.status("nva0").flap_penalty == 0
    assert step(True)


def test_penalty_is_capped() -> None:
    probe = Probe(name="p", protocol=ProbeProtocol.TCP, port=22, interval=5)
    t = ProbeTracker(probe, backends(1), now=0.0)
    now = 0.0
    for _ in range(10):
        while not t.is_up("nva0"):
            now += 5
            t.record("nva0", True, now)
        now += 5
        t.record("nva0", False, now)
    assert t.status("nva0").flap_penalty == MAX_FLAP_PENALTY
    assert t.successes_needed("nva0") == 2**MAX_FLAP_PENALTY


def test_schedule_hands_out_due_backends_once_and_rearms() -> None:
    probe = Probe(name="p", protocol=ProbeProtocol.TCP, port=22, interval=5)
    t = ProbeTracker(probe, backends(3), now=100.0)
    assert t.next_deadline() == 100.0
    assert t.due(99.0) == []
    tasks = t.due_probes(100.0)
    assert [x.backend for x in tasks] == ["nva0", "nva1", "nva2"]
    assert {x.timeout for x in tasks} == {5}
    assert t.due(100.0) == []  # in flight
    assert t.next_deadline() is None
    t.record("nva1", True, 101.0)
    assert t.next_deadline() == 105.0
    assert t.due(104.9) == []
    assert t.due(105.0) == ["nva1"]


def test_membership_changes() -> None:
    t = ProbeTracker(TCP3, backends(2), now=0.0)
    t.remove_backend("nva1")
    assert t.backends == ("nva0",)
    t.add_backend(backends(2)[1], 7.0)
    assert t.status("nva1").since == 7.0


@settings(max_examples=200, deadline=None)
@given(
    threshold=st.integers(min_value=1, max_value=4),
    results=st.lists(st.booleans(), min_size=1, max_size=60),
)
def test_trailing_results_decide_the_state(threshold: int, results: list[bool]) -> None:
    probe = Probe(
        name="p", protocol=ProbeProtocol.TCP, port=22, interval=5, probe_threshold=threshold
    )
    t = ProbeTracker(probe, backends(1), now=0.0)
    ups = downs = 0
    for i, ok in enumerate(results):
        for e in t.record("nva0", ok, 5.0 * i, kind=None if ok else FailureKind.TIMEOUT):
            ups += isinstance(e, BackendMarkedUp)
            downs += isinstance(e, BackendMarkedDown)
    assert abs(ups - downs) <= 1  # transitions alternate, starting with either
    tail = results[-threshold:]
    if len(tail) == threshold and not any(tail):
        assert t.status("nva0").state is HealthState.DOWN
    run = len(results) - max((i + 1 for i, ok in enumerate(results) if not ok), default=0)
    if run >= t.successes_needed("nva0"):
        assert t.is_up("nva0")
    if not t.is_up("nva0"):
        assert run < t.successes_needed("nva0")

"""The two next-hop-IP patterns (route-server-spec §1.8) reproduced in the model.

* Active-passive: both NVAs behind the ILB, only the HA-elected active one answers the
  probe, so every flow (both directions) lands on it; when it dies the standby promotes
  itself, the probe follows, new flows fail over and established TCP stays pinned.
* Active-active: every NVA answers; flows spread; the symmetric hash keeps both
  directions through the LB on one NVA, an order-sensitive hash does not.
"""

from __future__ import annotations

from collections import Counter

import pytest
from lb_builders import make_lb, random_flows

from nexthop.clock import ManualClock
from nexthop.lb.ha import (
    BecameActive,
    HaConfig,
    HaNode,
    HaOutput,
    HeartbeatReceived,
    SendHeartbeat,
    Start,
    Stop,
)
from nexthop.lb.health import BackendMarkedDown, BackendMarkedUp, FailureKind, ProbeOutcome
from nexthop.lb.model import Flow, IpProtocol
from nexthop.lb.selector import Dropped
from nexthop.lb.service_lb import Forwarded, LoadBalancerEngine

TICK = 0.5


class ActivePassiveLab:
    """ILB + HA pair driven on one ManualClock (a tiny sans-IO lab loop)."""

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.lb = LoadBalancerEngine(make_lb(2, threshold=3, interval=5.0), 0.0)
        self.nodes = {
            "nva0": HaNode(HaConfig(node_id="nva0", priority=200)),
            "nva1": HaNode(HaConfig(node_id="nva1", priority=100)),
        }
        self.health_events: list[BackendMarkedUp | BackendMarkedDown] = []
        self.ha_events: list[HaOutput] = []
        for name in self.nodes:
            self._deliver(name, self.nodes[name].handle(Start(now=0.0)))

    def _deliver(self, sender: str, outputs: list[HaOutput]) -> None:
        for out in outputs:
            self.ha_events.append(out)
            if isinstance(out, SendHeartbeat):
                peer = next(n for n in self.nodes if n != sender)
                reply = self.nodes[peer].handle(HeartbeatReceived.of(out, self.clock.now()))
                self._deliver(peer, reply)

    def run_until(self, until: float) -> None:
        while self.clock.now() < until:
            now = self.clock.advance(TICK)
            for name, node in self.nodes.items():
                self._deliver(name, node.handle_timer(now))
            for task in self.lb.due_probes(now):
                ok = self.nodes[task.backend].answers_probe
                outcome = ProbeOutcome(success=ok, kind=None if ok else FailureKind.REFUSED)
                self.health_events.extend(self.lb.record_probe(task, outcome, now))

    def forward(self, flow: Flow) -> Forwarded | Dropped:
        return self.lb.forward(flow, self.clock.now(), via_frontend="fe")

    def backend(self, flow: Flow) -> str:
        return backend_of(self.forward(flow))


def backend_of(d: Forwarded | Dropped) -> str:
    assert isinstance(d, Forwarded), d
    return d.backend


def test_active_passive_keeps_flows_symmetric_and_fails_over() -> None:
    lab = ActivePassiveLab()
    lab.run_until(60)
    assert [n for n, node in lab.nodes.items() if node.answers_probe] == ["nva0"]
    assert lab.lb.tracker("rule").up() == {"nva0"}
    tcp = random_flows(500)
    udp = random_flows(200, seed=2, protocol=IpProtocol.UDP)
    for f in tcp + udp:
        assert lab.backend(f) == lab.backend(f.reversed()) == "nva0"

    crash = lab.clock.now()
    lab._deliver("nva0", lab.nodes["nva0"].handle(Stop(now=crash)))
    lab.run_until(crash + 60)
    promoted = next(e for e in lab.ha_events if isinstance(e, BecameActive) and e.node == "nva1")
    up = next(
        e for e in lab.health_events if isinstance(e, BackendMarkedUp) and e.backend == "nva1"
    )
    down = next(
        e for e in lab.health_events if isinstance(e, BackendMarkedDown) and e.backend == "nva0"
    )
    ha_cfg, probe = lab.nodes["nva1"].config, lab.lb.lb.probe("probe")
    # HA detection is bounded by the dead interval; the probe then needs `threshold`
    # consecutive answers, each at most one interval (plus one tick) apart.
    assert promoted.at - crash <= ha_cfg.dead_interval
    assert down.at - crash <= probe.probe_threshold * probe.interval + TICK
    failover = up.at - crash
    assert failover <= ha_cfg.dead_interval + (probe.probe_threshold + 1) * probe.interval
    assert up.at >= promoted.at

    for f in random_flows(300, seed=77):  # new flows, both directions, on the new active
        assert lab.backend(f) == lab.backend(f.reversed()) == "nva1"
    for f in tcp:  # Azure: established TCP stays on the old instance until idle timeout
        assert lab.backend(f.reversed()) == "nva0"
    for f in udp:  # UDP moves to the healthy instance
        assert lab.backend(f) == "nva1"
    # The old active restarts and rejoins as standby: it never gets the probe back.
    lab._deliver("nva0", lab.nodes["nva0"].handle(Start(now=lab.clock.now())))
    lab.run_until(lab.clock.now() + 120)
    assert lab.lb.tracker("rule").up() == {"nva1"}


def test_active_passive_drops_new_flows_between_the_two_probes() -> None:
    """While neither NVA answers, AllProbedDown leaves new SYNs unanswered."""
    lab = ActivePassiveLab()
    lab.run_until(60)
    crash = lab.clock.now()
    lab._deliver("nva0", lab.nodes["nva0"].handle(Stop(now=crash)))
    dropped = forwarded = 0
    sample = iter(random_flows(2000, seed=5))
    while lab.lb.tracker("rule").up() != {"nva1"}:
        lab.run_until(lab.clock.now() + TICK)
        d = lab.forward(next(sample))
        dropped += isinstance(d, Dropped)
        forwarded += isinstance(d, Forwarded)
    assert dropped > 0
    assert forwarded > 0  # before nva0 was probed down, new flows still went to it


@pytest.mark.parametrize("n", [2, 3, 4])
def test_active_active_spreads_and_symmetric_hash_keeps_directions_together(n: int) -> None:
    flows = random_flows(3000, seed=n)
    sym = LoadBalancerEngine(make_lb(n), 0.0)
    plain = LoadBalancerEngine(make_lb(n, symmetric=False), 0.0)
    for engine in (sym, plain):
        for t in engine.due_probes(0.0):
            engine.record_probe(t, ProbeOutcome(success=True), 0.1)
    counts: Counter[str] = Counter()
    asymmetric = 0
    for f in flows:
        there = backend_of(sym.forward(f, 1.0, via_frontend="fe"))
        back = backend_of(sym.forward(f.reversed(), 1.0, via_frontend="fe"))
        assert there == back
        counts[there] += 1
        there = backend_of(plain.forward(f, 1.0, via_frontend="fe"))
        back = backend_of(plain.forward(f.reversed(), 1.0, via_frontend="fe"))
        asymmetric += there != back
    assert len(counts) == n
    for c_ in counts.values():
        assert abs(c_ - 3000 / n) < 0.15 * 3000 / n
    # Two independent picks agree with probability 1/n.
    expected = (1 - 1 / n) * len(flows)
    assert abs(asymmetric - expected) < 0.1 * expected

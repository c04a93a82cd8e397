"""Stateful property test: the engine's flow-affinity invariants under random events."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from lb_builders import make_lb, random_flows

from nexthop.lb.health import FailureKind, HealthState, ProbeOutcome
from nexthop.lb.model import AdminState, Flow, IpProtocol
from nexthop.lb.selector import Dropped
from nexthop.lb.service_lb import FlowState, Forwarded, LoadBalancerEngine

NAMES = ("nva0", "nva1", "nva2")
FLOWS = random_flows(12, seed=21) + random_flows(12, seed=22, protocol=IpProtocol.UDP)
IDLE = 4 * 60.0


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = LoadBalancerEngine(
            make_lb(3, table_size=251), 0.0, initial_state=HealthState.UP
        )
        self.now = 0.0
        self.admin = dict.fromkeys(NAMES, AdminState.NONE)
        self.last: dict[Flow, tuple[str, float]] = {}  # flow -> (backend, last seen)

    def probed_up(self) -> frozenset[str]:
        return self.engine.tracker("rule").up()

    def can_take_new(self, name: str) -> bool:
        admin = self.admin[name]
        return admin is AdminState.UP or (admin is AdminState.NONE and name in self.probed_up())

    @rule(dt=st.sampled_from([1.0, 30.0, 200.0, 400.0]))
    def advance(self, dt: float) -> None:
        self.now += dt

    @rule(name=st.sampled_from(NAMES), ok=st.booleans())
    def probe(self, name: str, ok: bool) -> None:
        outcome = ProbeOutcome(success=ok, kind=None if ok else FailureKind.TIMEOUT)
        self.engine.probe_result("rule", name, outcome, self.now)

    @rule(name=st.sampled_from(NAMES), state=st.sampled_from(list(AdminState)))
    def set_admin(self, name: str, state: AdminState) -> None:
        self.engine.set_admin_state("pool", name, state, self.now)
        self.admin[name] = state

    @rule(flow=st.sampled_from(FLOWS), reverse=st.booleans())
    def packet(self, flow: Flow, reverse: bool) -> None:
        d = self.engine.forward(flow.reversed() if reverse else flow, self.now, via_frontend="fe")
        prev = self.last.get(flow)
        live = prev is not None and self.now < prev[1] + IDLE
        if isinstance(d, Dropped):
            assert not any(self.can_take_new(n) for n in NAMES)
            self.last.pop(flow, None)
            return
        assert isinstance(d, Forwarded)
        if live and prev is not None:
            stayed = d.backend == prev[0]
            if flow.protocol == IpProtocol.TCP:
                assert stayed  # TCP never moves while its entry is live
            serviceable = self.admin[prev[0]] is AdminState.UP or (
                self.admin[prev[0]] is AdminState.NONE and prev[0] in self.probed_up()
            )
            if serviceable:
                assert stayed  # no flow leaves a serviceable backend
            assert d.flow_state is (FlowState.ESTABLISHED if stayed else FlowState.MOVED)
        else:
            assert d.flow_state is FlowState.NEW
        if d.flow_state is not FlowState.ESTABLISHED:
            if any(self.can_take_new(n) for n in NAMES):
                assert self.can_take_new(d.backend)
            else:
                assert self.admin[d.backend] is not AdminState.DOWN  # fail-open only
        self.last[flow] = (d.backend, self.now)

    @invariant()
    def flow_table_matches_the_model(self) -> None:
        live = {f for f, (_, seen) in self.last.items() if self.now < seen + IDLE}
        table = {e.key for e in self.engine.flows if self.now < e.expires_at}
        assert len(table) == len(live)


EngineMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestEngine = EngineMachine.TestCase

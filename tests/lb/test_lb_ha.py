"""Active-passive heartbeat pair on a ManualClock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexthop.clock import ManualClock
from nexthop.lb.ha import (
    TRANSITIONS,
    BecameActive,
    BecameStandby,
    HaConfig,
    HaEvent,
    HaInput,
    HaNode,
    HaState,
    HaTimer,
    HaUsageError,
    HeartbeatReceived,
    PeerFailed,
    PeerLost,
    SendHeartbeat,
    Start,
    Stop,
    TimerExpired,
)

T = TypeVar("T")


@dataclass
class Pair:
    """Two nodes joined by a zero-latency link that can be cut per direction."""

    a: HaNode
    b: HaNode
    clock: ManualClock = field(default_factory=ManualClock)
    link: dict[str, bool] = field(default_factory=dict)  # sender -> delivered?
    log: list[object] = field(default_factory=list)
    last_heard: dict[str, float] = field(default_factory=dict)  # receiver -> time

    def peer(self, node: HaNode) -> HaNode:
        return self.b if node is self.a else self.a

    def feed(self, node: HaNode, outputs: Sequence[object]) -> None:
        queue = [(node, o) for o in outputs]
        while queue:
            src, out = queue.pop(0)
            self.log.append(out)
            if isinstance(out, SendHeartbeat) and self.link.get(src.config.node_id, True):
                dst = self.peer(src)
                if dst.state is not HaState.STOPPED:
                    self.last_heard[dst.config.node_id] = self.clock.now()
                got = dst.handle(HeartbeatReceived.of(out, self.clock.now()))
                queue.extend((dst, o) for o in got)

    def start(self, node: HaNode) -> None:
        self.feed(node, node.handle(Start(now=self.clock.now())))

    def run_until(self, until: float) -> None:
        while True:
            deadlines = [
                d for d in (self.a.next_deadline(), self.b.next_deadline()) if d is not None
            ]
            nxt = min(deadlines, default=None)
            if nxt is None or nxt > until:
                self.clock.advance(until - self.clock.now())
                return
            self.clock.advance(max(0.0, nxt - self.clock.now()))
            for n in (self.a, self.b):
                self.feed(n, n.handle_timer(self.clock.now()))

    def active(self) -> list[str]:
        return [n.config.node_id for n in (self.a, self.b) if n.answers_probe]

    def events(self, kind: type[T]) -> list[T]:
        return [e for e in self.log if isinstance(e, kind)]


def make_pair(*, fast: bool = False, preempt: bool = False) -> Pair:
    if fast:
        a = HaConfig.fast("nva-a", priority=200, preempt=preempt)
        b = HaConfig.fast("nva-b", priority=100, preempt=preempt)
    else:
        a = HaConfig(node_id="nva-a", priority=200, preempt=preempt)
        b = HaConfig(node_id="nva-b", priority=100, preempt=preempt)
    pair = Pair(HaNode(a), HaNode(b))
    pair.start(pair.a)
    pair.start(pair.b)
    return pair


def test_start_up_elects_exactly_the_higher_priority_node() -> None:
    pair = make_pair()
    pair.run_until(60)
    assert pair.active() == ["nva-a"]
    assert pair.b.state is HaState.STANDBY
    became = pair.events(BecameActive)
    assert len(became) == 1
    assert became[0].reason is HaInput.PEER_STANDBY_LOWER


@pytest.mark.parametrize("fast", [False, True])
def test_standby_promotes_after_the_dead_interval(fast: bool) -> None:
    pair = make_pair(fast=fast)
    cfg = pair.b.config
    pair.run_until(10 * cfg.interval + cfg.interval / 3)
    crash = pair.clock.now()
    pair.feed(pair.a, pair.a.handle(Stop(now=crash)))
    assert pair.active() == []  # nobody answers the probe until the standby promotes
    pair.run_until(crash + 5 * cfg.dead_interval)
    promoted = [e for e in pair.events(BecameActive) if e.node == "nva-b"]
    assert len(promoted) == 1
    expected = pair.last_heard["nva-b"] + cfg.dead_interval
    assert promoted[0].at == pytest.approx(expected)
    assert promoted[0].reason is HaInput.DEAD_TIMER
    failover = promoted[0].at - crash
    assert (cfg.dead_count - 1) * cfg.interval < failover <= cfg.dead_interval
    assert pair.active() == ["nva-b"]
    if fast:
        assert failover < 1.0
    else:
        assert 10.0 <= failover <= 15.0  # the Azure-like 5 s x 3 anchor


def test_old_active_rejoins_as_standby_without_flap_back() -> None:
    pair = make_pair()
    pair.run_until(20)
    pair.feed(pair.a, pair.a.handle(Stop(now=pair.clock.now())))
    pair.run_until(60)
    assert pair.active() == ["nva-b"]
    pair.start(pair.a)
    pair.run_until(600)
    assert pair.active() == ["nva-b"]
    assert pair.a.state is HaState.STANDBY


def test_preempting_node_takes_back_the_active_role() -> None:
    pair = make_pair(preempt=True)
    pair.run_until(20)
    pair.feed(pair.a, pair.a.handle(Stop(now=pair.clock.now())))
    pair.run_until(60)
    assert pair.active() == ["nva-b"]
    pair.start(pair.a)
    pair.run_until(70)
    assert pair.active() == ["nva-a"]
    stepped_down = [e for e in pair.events(BecameStandby) if e.node == "nva-b"]
    assert stepped_down[-1].reason is HaInput.PEER_ACTIVE_HIGHER


def test_peer_failed_promotes_at_once() -> None:
    pair = make_pair()
    pair.run_until(20)
    pair.a.handle(Stop(now=20))
    out = pair.b.handle(PeerFailed(now=20))
    assert [type(o) for o in out] == [BecameActive, SendHeartbeat]
    assert pair.active() == ["nva-b"]


def test_partition_makes_two_actives_and_healing_keeps_the_higher_rank() -> None:
    pair = make_pair()
    pair.run_until(20)
    pair.link = {"nva-a": False, "nva-b": False}
    pair.run_until(60)
    assert sorted(pair.active()) == ["nva-a", "nva-b"]
    assert any(e.node == "nva-a" for e in pair.events(PeerLost))
    pair.link = {}
    pair.run_until(70)
    assert pair.active() == ["nva-a"]


def test_equal_priority_breaks_ties_on_node_id() -> None:
    x = HaConfig(node_id="x", priority=100)
    assert x.outranks(100, "y")
    assert not x.outranks(100, "w")
    assert not x.outranks(101, "a")


def test_config_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"^HaConfig\.interval:"):
        HaConfig(node_id="a", interval=0)
    with pytest.raises(ValueError, match=r"^HaConfig\.dead_count:"):
        HaConfig(node_id="a", dead_count=0)
    assert HaConfig(node_id="a").dead_interval == 15.0
    assert HaConfig.fast("a").dead_interval == pytest.approx(0.3)


INPUTS: dict[HaInput, HaEvent] = {
    HaInput.START: Start(now=1.0),
    HaInput.STOP: Stop(now=1.0),
    HaInput.HEARTBEAT_TIMER: TimerExpired(timer=HaTimer.HEARTBEAT, now=1.0),
    HaInput.DEAD_TIMER: TimerExpired(timer=HaTimer.DEAD, now=1.0),
    HaInput.PEER_FAILED: PeerFailed(now=1.0),
    HaInput.PEER_ACTIVE_HIGHER: HeartbeatReceived(
        sender="z", state=HaState.ACTIVE, priority=255, now=1.0
    ),
    HaInput.PEER_ACTIVE_LOWER: HeartbeatReceived(
        sender="z", state=HaState.ACTIVE, priority=1, now=1.0
    ),
    HaInput.PEER_STANDBY_HIGHER: HeartbeatReceived(
        sender="z", state=HaState.STANDBY, priority=255, now=1.0
    ),
    HaInput.PEER_STANDBY_LOWER: HeartbeatReceived(
        sender="z", state=HaState.STANDBY, priority=1, now=1.0
    ),
}


@given(
    state=st.sampled_from(list(HaState)), kind=st.sampled_from(list(HaInput)), preempt=st.booleans()
)
def test_every_state_input_pair_follows_the_table(
    state: HaState, kind: HaInput, preempt: bool
) -> None:
    node = HaNode(HaConfig(node_id="m", priority=100, preempt=preempt))
    node.state = state
    if kind is HaInput.PEER_ACTIVE_LOWER_PREEMPT:
        event = INPUTS[HaInput.PEER_ACTIVE_LOWER]
    else:
        event = INPUTS[kind]
    classified = node.classify(event)
    if kind in (HaInput.PEER_ACTIVE_LOWER, HaInput.PEER_ACTIVE_LOWER_PREEMPT):
        assert classified is (
            HaInput.PEER_ACTIVE_LOWER_PREEMPT if preempt else HaInput.PEER_ACTIVE_LOWER
        )
    else:
        assert classified is kind
    if (state, classified) not in TRANSITIONS:
        with pytest.raises(HaUsageError):
            node.handle(event)
        assert node.state is state
        return
    node.handle(event)
    assert node.state is TRANSITIONS[(state, classified)][1]
    assert node.answers_probe == (node.state is HaState.ACTIVE)


def test_only_misuse_pairs_are_missing_from_the_table() -> None:
    missing = {(s, i) for s in HaState for i in HaInput} - set(TRANSITIONS)
    assert missing == {
        (HaState.STOPPED, HaInput.STOP),
        (HaState.STANDBY, HaInput.START),
        (HaState.ACTIVE, HaInput.START),
    }


actions = st.lists(
    st.one_of(
        st.tuples(st.just("toggle"), st.sampled_from(["a", "b"])),
        st.tuples(st.just("cut"), st.sampled_from(["nva-a", "nva-b"])),
        st.tuples(st.just("heal"), st.just("")),
        st.tuples(st.just("advance"), st.sampled_from(["1", "4", "12", "40"])),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(script=actions, preempt=st.booleans(), fast=st.booleans())
def test_pair_always_converges_to_exactly_one_active(
    script: list[tuple[str, str]], preempt: bool, fast: bool
) -> None:
    pair = make_pair(fast=fast, preempt=preempt)
    unit = pair.a.config.interval
    for verb, arg in script:
        if verb == "toggle":
            node = pair.a if arg == "a" else pair.b
            if node.state is HaState.STOPPED:
                pair.start(node)
            else:
                pair.feed(node, node.handle(Stop(now=pair.clock.now())))
        elif verb == "cut":
            pair.link[arg] = False
        elif verb == "heal":
            pair.link = {}
        else:
            pair.run_until(pair.clock.now() + float(arg) * unit)
    pair.link = {}
    for node in (pair.a, pair.b):
        if node.state is HaState.STOPPED:
            pair.start(node)
    pair.run_until(pair.clock.now() + 3 * pair.a.config.dead_interval)
    assert len(pair.active()) == 1
    if preempt:
        assert pair.active() == ["nva-a"]  # the higher priority always ends up active

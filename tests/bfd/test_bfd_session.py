"""The BFD session sans-IO (RFC 5880 §6): the state machine table, timer
negotiation, slow start, the Poll Sequence, jitter and detection, driven on model
time (no clock): two sessions joined by a ``Link`` that can drop packets."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexthop.bfd import (
    BfdConfig,
    BfdSession,
    ControlPacket,
    Diagnostic,
    State,
    StateChanged,
    decode,
    encode,
)
from nexthop.bfd.transitions import TRANSITIONS, Input, next_state

FAST = BfdConfig(desired_min_tx_us=100_000, required_min_rx_us=100_000, detect_mult=3)


class Link:
    """Two sessions, A and B, on model time; ``cut`` drops B's packets to A."""

    def __init__(self, a: BfdConfig = FAST, b: BfdConfig = FAST, seed: int = 1) -> None:
        rng = random.Random(seed)
        self.now = 0.0
        self.a = BfdSession(a, local_discriminator=11, rng=rng, now=0.0)
        self.b = BfdSession(b, local_discriminator=22, rng=rng, now=0.0)
        self.cut = False
        self.events: dict[str, list[StateChanged]] = {"a": [], "b": []}
        self.sent: dict[str, list[tuple[float, ControlPacket]]] = {"a": [], "b": []}

    def _drain(self) -> None:
        moved = True
        while moved:
            moved = False
            for name, src, dst in (("a", self.a, self.b), ("b", self.b, self.a)):
                for data in src.datagrams_to_send():
                    self.sent[name].append((self.now, decode(data)))
                    moved = True
                    if not (self.cut and name == "b"):
                        dst.receive(data, self.now)
                while (event := src.next_event()) is not None:
                    self.events[name].append(event)

    def run(self, until: float) -> None:
        self._drain()
        while True:
            deadlines = [t for t in (self.a.get_timer(), self.b.get_timer()) if t is not None]
            step = min(deadlines)
            if step > until:
                self.now = until
                return
            self.now = max(self.now, step)  # a deadline already past is due now
            for session in (self.a, self.b):
                timer = session.get_timer()
                if timer is not None and timer <= self.now:
                    session.handle_timer(self.now)
            self._drain()


# --- the table -----------------------------------------------------------------------

# RFC 5880 §6.8.6 written out independently of the table, one row per rule.
RFC_ROWS = [
    (State.DOWN, Input.RECV_DOWN, State.INIT),
    (State.DOWN, Input.RECV_INIT, State.UP),
    (State.DOWN, Input.RECV_UP, State.DOWN),
    (State.DOWN, Input.RECV_ADMIN_DOWN, State.DOWN),
    (State.DOWN, Input.DETECTION_TIMER, State.DOWN),
    (State.INIT, Input.RECV_DOWN, State.INIT),
    (State.INIT, Input.RECV_INIT, State.UP),
    (State.INIT, Input.RECV_UP, State.UP),
    (State.INIT, Input.RECV_ADMIN_DOWN, State.DOWN),
    (State.INIT, Input.DETECTION_TIMER, State.DOWN),
    (State.UP, Input.RECV_DOWN, State.DOWN),
    (State.UP, Input.RECV_INIT, State.UP),
    (State.UP, Input.RECV_UP, State.UP),
    (State.UP, Input.RECV_ADMIN_DOWN, State.DOWN),
    (State.UP, Input.DETECTION_TIMER, State.DOWN),
    *((s, Input.ADMIN_DISABLE, State.ADMIN_DOWN) for s in (State.DOWN, State.INIT, State.UP)),
    *((State.ADMIN_DOWN, i, State.ADMIN_DOWN) for i in Input if i is not Input.ADMIN_ENABLE),
    (State.ADMIN_DOWN, Input.ADMIN_ENABLE, State.DOWN),
    *((s, Input.ADMIN_ENABLE, s) for s in (State.DOWN, State.INIT, State.UP)),
]


@pytest.mark.parametrize(("state", "event", "expected"), RFC_ROWS)
def test_the_table_follows_section_6_8_6(state: State, event: Input, expected: State) -> None:
    assert next_state(state, event)[0] is expected


def test_every_row_of_the_rfc_is_covered_and_the_table_has_no_other() -> None:
    rows = {(s, i) for s, i, _ in RFC_ROWS}
    assert rows == {(s, i) for s in State for i in Input}
    # The table lists exactly the changes; every self-loop is a missing pair.
    assert set(TRANSITIONS) == {(s, i) for s, i, e in RFC_ROWS if e is not s}


def test_going_down_sets_the_diagnostic_the_rfc_names() -> None:
    assert (
        next_state(State.UP, Input.DETECTION_TIMER)[1] is Diagnostic.CONTROL_DETECTION_TIME_EXPIRED
    )
    assert next_state(State.UP, Input.RECV_DOWN)[1] is Diagnostic.NEIGHBOR_SIGNALED_SESSION_DOWN
    assert next_state(State.UP, Input.ADMIN_DISABLE)[1] is Diagnostic.ADMINISTRATIVELY_DOWN


# --- two sessions ----------------------------------------------------------------------


def test_two_sessions_come_up_through_init() -> None:
    link = Link()
    link.run(5.0)
    assert (link.a.state, link.b.state) == (State.UP, State.UP)
    path = [e.new for e in link.events["a"]]
    assert path[-1] is State.UP
    assert set(path) <= {State.INIT, State.UP}


def test_while_not_up_the_desired_tx_is_at_least_one_second() -> None:
    link = Link()
    link.run(0.5)
    first = link.sent["a"][0][1]
    assert first.state is State.DOWN
    assert first.desired_min_tx_us == 1_000_000  # §6.8.3, though 100 ms is configured
    link.run(5.0)
    assert link.sent["a"][-1][1].desired_min_tx_us == 100_000


def test_going_up_polls_and_the_final_ends_the_poll() -> None:
    link = Link()
    link.run(5.0)
    polls = [p for _, p in link.sent["a"] if p.poll]
    finals = [p for _, p in link.sent["b"] if p.final]
    assert polls
    assert finals
    assert polls[0].state is State.UP
    assert not link.a.polling
    assert not link.b.polling
    assert not any(p.poll and p.final for _, p in link.sent["a"] + link.sent["b"])


def test_the_negotiated_interval_is_the_slower_side_s() -> None:
    slow_rx = BfdConfig(desired_min_tx_us=100_000, required_min_rx_us=400_000, detect_mult=3)
    link = Link(a=FAST, b=slow_rx)
    link.run(10.0)
    assert link.a.transmit_interval_us == 400_000  # B asks for no faster than 400 ms
    assert link.b.transmit_interval_us == 100_000
    assert link.b.detection_time_us == 3 * 400_000  # A's mult x max(B's rx, A's tx)
    assert link.a.detection_time_us == 3 * 100_000


@pytest.mark.parametrize("mult", [1, 3])
@given(seed=st.integers(min_value=0, max_value=2**32))
@settings(max_examples=25, deadline=None)
def test_periodic_packets_are_jittered_within_the_rfc_bounds(mult: int, seed: int) -> None:
    config = BfdConfig(desired_min_tx_us=100_000, required_min_rx_us=100_000, detect_mult=mult)
    link = Link(a=config, b=config, seed=seed)
    link.run(3.0)
    start = link.now
    link.run(start + 3.0)
    times = [t for t, p in link.sent["a"] if t > start and not p.final]
    high = 0.9 if mult == 1 else 1.0
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps
    for gap in gaps:
        assert 0.075 - 1e-9 <= gap <= 0.1 * high + 1e-9


def test_silence_for_the_detection_time_takes_the_session_down() -> None:
    link = Link()
    link.run(5.0)
    assert link.a.state is State.UP
    link.cut = True
    cut_at = link.now
    link.run(cut_at + 1.0)
    down = [e for e in link.events["a"] if e.new is State.DOWN]
    assert len(down) == 1
    assert down[0].diagnostic is Diagnostic.CONTROL_DETECTION_TIME_EXPIRED
    assert down[0].path_failed
    assert cut_at < down[0].at <= cut_at + 3 * 0.1 + 1e-9  # model time: Detect Mult x 100 ms
    assert link.a.remote_discriminator == 0


def test_the_remote_s_admin_down_is_not_a_path_failure() -> None:
    link = Link()
    link.run(5.0)
    link.b.disable(link.now)
    link.run(link.now + 1.0)
    down = [e for e in link.events["a"] if e.new is State.DOWN]
    assert len(down) == 1
    assert down[0].diagnostic is Diagnostic.NEIGHBOR_SIGNALED_SESSION_DOWN
    assert not down[0].path_failed  # RFC 5882 §3.2
    assert link.b.state is State.ADMIN_DOWN


def test_a_poll_is_answered_at_once_with_a_final() -> None:
    session = BfdSession(FAST, local_discriminator=5, rng=random.Random(0), now=0.0)
    session.handle_timer(0.0)
    session.datagrams_to_send()
    poll = ControlPacket(
        state=State.DOWN,
        poll=True,
        detect_mult=3,
        my_discriminator=9,
        desired_min_tx_us=1_000_000,
        required_min_rx_us=1_000_000,
    )
    session.receive(encode(poll), 0.01)
    (reply,) = (decode(d) for d in session.datagrams_to_send())
    assert reply.final
    assert not reply.poll
    assert reply.your_discriminator == 9
    assert reply.state is State.INIT  # the Final carries the new state


def test_an_interval_change_while_up_polls_and_waits_for_the_final() -> None:
    link = Link()
    link.run(5.0)
    link.a.set_intervals(500_000, 100_000)  # slower TX: only after the Final (§6.8.3)
    assert link.a.polling
    assert link.a.transmit_interval_us == 100_000
    link.run(link.now + 2.0)
    assert not link.a.polling
    assert link.a.transmit_interval_us == 500_000
    assert link.b.detection_time_us == 3 * 500_000
    assert (link.a.state, link.b.state) == (State.UP, State.UP)


def test_a_remote_asking_for_no_packets_gets_none() -> None:
    session = BfdSession(FAST, local_discriminator=5, rng=random.Random(0), now=0.0)
    quiet = ControlPacket(
        state=State.DOWN,
        detect_mult=3,
        my_discriminator=9,
        desired_min_tx_us=1_000_000,
        required_min_rx_us=0,
    )
    session.receive(encode(quiet), 0.0)
    session.datagrams_to_send()
    assert session.transmit_interval_us is None  # §6.8.7
    session.handle_timer(10.0)
    assert session.datagrams_to_send() == []


def test_a_packet_for_another_discriminator_is_discarded() -> None:
    session = BfdSession(FAST, local_discriminator=5, rng=random.Random(0), now=0.0)
    stray = ControlPacket(
        state=State.UP,
        detect_mult=3,
        my_discriminator=9,
        your_discriminator=6,
        desired_min_tx_us=1,
        required_min_rx_us=1,
    )
    session.receive(encode(stray), 0.0)
    assert session.packets_discarded == 1
    assert session.remote_discriminator == 0
    session.receive(b"\x20" * 10, 0.0)
    assert session.packets_discarded == 2
    assert "length" in session.last_discard


inputs = st.one_of(
    st.tuples(st.just("packet"), st.sampled_from(State), st.booleans(), st.booleans()),
    st.tuples(st.just("timer"), st.floats(min_value=0, max_value=5)),
    st.tuples(st.just("bytes"), st.binary(max_size=40)),
    st.tuples(st.just("admin"), st.booleans()),
)


@given(st.lists(inputs, max_size=40))
@settings(deadline=None)
def test_any_sequence_of_inputs_keeps_the_session_consistent(steps: list[tuple]) -> None:
    session = BfdSession(FAST, local_discriminator=5, rng=random.Random(0), now=0.0)
    now = 0.0
    state = session.state
    for step in steps:
        now += 0.01
        match step:
            case ("packet", remote, poll, final):
                packet = ControlPacket(
                    state=remote,
                    poll=poll,
                    final=final,
                    detect_mult=3,
                    my_discriminator=9,
                    your_discriminator=5,
                    desired_min_tx_us=100_000,
                    required_min_rx_us=100_000,
                )
                session.receive(encode(packet), now)
            case ("timer", delay):
                now += delay
                session.handle_timer(now)
            case ("bytes", data):
                session.receive(data, now)
            case ("admin", disable):
                if disable:
                    session.disable(now)
                else:
                    session.enable(now)
        while (event := session.next_event()) is not None:
            assert event.old is state
            state = event.new
        assert session.state is state
        for data in session.datagrams_to_send():
            sent = decode(data)
            assert not (sent.poll and sent.final)
            if sent.state is not State.UP:
                assert sent.desired_min_tx_us >= 1_000_000
        timer = session.get_timer()
        assert timer is None or timer >= now - 5.1

"""Every (state, input) pair has a documented outcome (style rule 4, h2's
``test_state_machines.py``): the table's transition, or RFC 4271 §8.2.2's
ignore / FSM-error behaviour (RFC 6608 subcodes) — never an exception."""

from __future__ import annotations

import pytest
from fsm_pair import (
    NOW,
    config_a,
    established_session,
    opensent_session,
    peer_open,
    wire,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from nexthop.bgp.constants import CeaseSubcode, ErrorCode, FsmErrorSubcode, OpenErrorSubcode
from nexthop.bgp.fsm import DownReason, Session, SessionDown, SessionState
from nexthop.bgp.fsm.inputs import (
    ALL_INPUTS,
    MESSAGE_INPUTS,
    START_INPUTS,
    AutomaticStop,
    BGPHeaderErr,
    BGPOpen,
    BGPOpenMsgErr,
    ConnectRetryTimerExpires,
    HoldTimerExpires,
    IdleHoldTimerExpires,
    IdleHoldTimerExpiresPassive,
    Input,
    KeepAliveMsg,
    KeepaliveTimerExpires,
    ManualStart,
    ManualStartPassive,
    ManualStop,
    NotifMsg,
    NotifMsgVerErr,
    OpenCollisionDump,
    RouteRefreshMsg,
    RouteRefreshMsgErr,
    TcpConnectionConfirmed,
    TcpConnectionFails,
    UpdateMsg,
    UpdateMsgErr,
)
from nexthop.bgp.fsm.outputs import CancelAllTimers, Output, SendMessage
from nexthop.bgp.fsm.transitions import TRANSITIONS, Context, on_missing, step
from nexthop.bgp.wire import (
    Keepalive,
    LocalProtocolError,
    Negotiated,
    Notification,
    RouteRefresh,
    Update,
    cease_notification,
)

S = SessionState
CEASE = cease_notification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN)
NEGOTIATED = Negotiated(asn4=True, route_refresh=True, hold_time=90, keepalive_time=30)
SAMPLES: dict[type[Input], Input] = {
    ManualStart: ManualStart(),
    ManualStop: ManualStop(notification=CEASE),
    ManualStartPassive: ManualStartPassive(),
    AutomaticStop: AutomaticStop(notification=CEASE, reason=DownReason.MAX_PREFIX),
    ConnectRetryTimerExpires: ConnectRetryTimerExpires(),
    HoldTimerExpires: HoldTimerExpires(),
    KeepaliveTimerExpires: KeepaliveTimerExpires(),
    IdleHoldTimerExpires: IdleHoldTimerExpires(),
    IdleHoldTimerExpiresPassive: IdleHoldTimerExpiresPassive(),
    TcpConnectionConfirmed: TcpConnectionConfirmed(),
    TcpConnectionFails: TcpConnectionFails(),
    OpenCollisionDump: OpenCollisionDump(),
    BGPOpen: BGPOpen(open=peer_open(), negotiated=NEGOTIATED),
    BGPHeaderErr: BGPHeaderErr(notification=Notification(code=1, subcode=2), reason="x"),
    BGPOpenMsgErr: BGPOpenMsgErr(notification=Notification(code=2, subcode=2), reason="x"),
    NotifMsgVerErr: NotifMsgVerErr(notification=Notification(code=2, subcode=1)),
    NotifMsg: NotifMsg(notification=CEASE),
    KeepAliveMsg: KeepAliveMsg(),
    UpdateMsg: UpdateMsg(update=Update()),
    UpdateMsgErr: UpdateMsgErr(notification=Notification(code=3, subcode=1), reason="x"),
    RouteRefreshMsg: RouteRefreshMsg(refresh=RouteRefresh(afi=1, safi=1)),
    RouteRefreshMsgErr: RouteRefreshMsgErr(
        notification=Notification(code=7, subcode=1), reason="x"
    ),
}
FSM_SUBCODE = {
    S.OPENSENT: FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPENSENT,
    S.OPENCONFIRM: FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPENCONFIRM,
    S.ESTABLISHED: FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_ESTABLISHED,
}


def context(state: SessionState) -> Context:
    config = config_a()
    negotiated = NEGOTIATED if state in (S.OPENCONFIRM, S.ESTABLISHED) else None
    return Context(config=config, local_open=Session(config).local_open, negotiated=negotiated)


def test_samples_cover_every_input() -> None:
    assert set(SAMPLES) == set(ALL_INPUTS)
    assert len(set(ALL_INPUTS)) == len(ALL_INPUTS)
    assert set(MESSAGE_INPUTS) | set(START_INPUTS) <= set(ALL_INPUTS)


def test_table_only_uses_known_states_and_inputs() -> None:
    for (state, kind), (_, next_state) in TRANSITIONS.items():
        assert isinstance(state, SessionState)
        assert isinstance(next_state, SessionState)
        assert kind in ALL_INPUTS


@settings(max_examples=400)
@given(state=st.sampled_from(SessionState), kind=st.sampled_from(ALL_INPUTS))
def test_every_pair_has_a_documented_outcome(state: SessionState, kind: type[Input]) -> None:
    outputs, next_state = step(state, context(state), SAMPLES[kind])
    sent = [o.message for o in outputs if isinstance(o, SendMessage)]
    downs = [o for o in outputs if isinstance(o, SessionDown)]
    entry = TRANSITIONS.get((state, kind))
    if entry is not None:
        assert next_state is entry[1]
    elif state is S.IDLE or kind in START_INPUTS:
        assert (outputs, next_state) == ([], state)
    elif state in (S.CONNECT, S.ACTIVE):
        assert next_state is S.IDLE
        assert sent == []  # no OPEN was exchanged, so no NOTIFICATION
        assert downs == [SessionDown(reason=DownReason.FSM_ERROR)]
    else:
        assert next_state is S.IDLE
        fsm_error = Notification(code=ErrorCode.FSM, subcode=FSM_SUBCODE[state])
        assert sent == [fsm_error]
        assert downs == [
            SessionDown(reason=DownReason.FSM_ERROR, notification=fsm_error, sent=True)
        ]
    # Leaving for Idle always stops every timer and reports exactly one SessionDown.
    if state is not S.IDLE and next_state is S.IDLE:
        assert len(downs) == 1
        assert any(isinstance(o, CancelAllTimers) for o in outputs)
    if next_state is S.ESTABLISHED or state is S.ESTABLISHED:
        assert next_state is S.IDLE or downs == []


def test_start_events_are_ignored_once_started() -> None:
    for state in SessionState:
        for kind in START_INPUTS:
            if state is not S.IDLE:
                assert on_missing(state, kind)[1] is state
                assert (state, kind) not in TRANSITIONS


# --- the same property through the public Session API --------------------------------


def _session_in(state: SessionState) -> Session:
    if state is S.IDLE:
        return Session(config_a())
    if state is S.ACTIVE:
        session = Session(config_a(passive=True))
        session.start(NOW)
        return session
    if state is S.CONNECT:
        session = Session(config_a())
        session.start(NOW)
        return session
    if state is S.OPENSENT:
        return opensent_session()
    if state is S.OPENCONFIRM:
        session = opensent_session()
        session.receive_data(wire(peer_open()), NOW)
        session.data_to_send()
        return session
    return established_session()


ACTIONS = {
    "start": lambda s, t: s.start(t),
    "stop": lambda s, t: s.stop(t),
    "teardown": lambda s, t: s.teardown(t, CEASE, DownReason.MAX_PREFIX),
    "connection_made": lambda s, t: s.connection_made(t),
    "connection_failed": lambda s, t: s.connection_failed(t),
    "connection_lost": lambda s, t: s.connection_lost(t),
    "open": lambda s, t: s.receive_data(wire(peer_open()), t),
    "bad_open": lambda s, t: s.receive_data(wire(peer_open(asn=1, capabilities=())), t),
    "keepalive": lambda s, t: s.receive_data(wire(Keepalive()), t),
    "update": lambda s, t: s.receive_data(wire(Update()), t),
    "notification": lambda s, t: s.receive_data(wire(CEASE), t),
    "version_error": lambda s, t: s.receive_data(
        wire(Notification(code=2, subcode=OpenErrorSubcode.UNSUPPORTED_VERSION_NUMBER)), t
    ),
    "route_refresh": lambda s, t: s.receive_data(wire(RouteRefresh(afi=1, safi=1)), t),
    "garbage": lambda s, t: s.receive_data(b"\x00" * 19, t),
    "partial": lambda s, t: s.receive_data(wire(Keepalive())[:7], t),
    "timers": lambda s, t: s.handle_timer(t),
}


@settings(max_examples=300, deadline=None)
@given(
    state=st.sampled_from(SessionState),
    actions=st.lists(st.sampled_from(sorted(ACTIONS)), min_size=1, max_size=6),
    gaps=st.lists(st.sampled_from([0.0, 1.0, 30.0, 100.0, 300.0]), min_size=6, max_size=6),
)
def test_public_api_never_raises_unexpectedly(
    state: SessionState, actions: list[str], gaps: list[float]
) -> None:
    session = _session_in(state)
    assert session.state is state
    now = NOW
    for name, gap in zip(actions, gaps, strict=False):
        now += gap
        before = session.state
        try:
            events = ACTIONS[name](session, now)
        except LocalProtocolError:
            # Only a second connection on a connected session is API misuse.
            assert name == "connection_made"
            assert before in (S.OPENSENT, S.OPENCONFIRM, S.ESTABLISHED)
            continue
        assert isinstance(session.state, SessionState)
        downs = [e for e in events if isinstance(e, SessionDown)]
        assert len(downs) <= 1
        if session.state is S.IDLE and before not in (S.IDLE,) and name != "timers":
            assert len(downs) == 1
        assert (session.negotiated is not None) == (session.state in (S.OPENCONFIRM, S.ESTABLISHED))
        deadline = session.get_timer()
        if name == "timers":  # everything due has fired; what is left lies ahead
            assert deadline is None or deadline > now
        session.data_to_send()


def _outputs_are_outputs(outputs: list[Output]) -> bool:
    return all(type(o).__module__ == "nexthop.bgp.fsm.outputs" for o in outputs)


@pytest.mark.parametrize(
    ("state", "kind"), sorted(TRANSITIONS, key=lambda k: (k[0].value, k[1].__name__))
)
def test_table_handlers_return_outputs(state: SessionState, kind: type[Input]) -> None:
    outputs, _ = step(state, context(state), SAMPLES[kind])
    assert _outputs_are_outputs(outputs)

"""The BGP finite state machine as one literal table, RFC 4271 §8.2.2.

Rule 1 (after h11 ``_state.py``): everything that decides a transition lives in
this file. ``TRANSITIONS[(state, type(input))]`` gives ``(handler, next_state)``;
handlers are pure functions of a read-only ``Context`` and the input, returning
outputs (events for the caller, effects for ``Session``), and never touch state.

A pair missing from the table is resolved by ``on_missing`` (the h2 rule
"anything not in this map is invalid"), following RFC 4271 §8.2.2:

* any start event outside Idle is ignored;
* in Idle every other event is ignored ("does not cause change in the state");
* in Connect/Active the connection attempt is dropped and the session goes to
  Idle (FSM error, no NOTIFICATION because no OPEN was exchanged);
* in OpenSent/OpenConfirm/Established a NOTIFICATION Finite State Machine Error
  is sent with the RFC 6608 subcode for the state, then Idle.

Deviations, on purpose:

* a failed TCP connect in Connect (or Active) goes to Active and retries on the
  ConnectRetry timer (the RFC's DelayOpen branch) instead of Idle, as FRR and
  GoBGP do, so a peer that is merely unreachable is not damped;
* ``SessionDown`` also reports failed connection attempts (CONNECTION_FAILED)
  and connections lost in OpenSent, so every ended attempt has a reason;
* restarting after a session went down is automatic (events 3/5 in RFC terms)
  after the damped IdleHold time, except after ManualStop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from nexthop.bgp.constants import CeaseSubcode, ErrorCode, FsmErrorSubcode, OpenErrorSubcode
from nexthop.bgp.fsm.config import SessionConfig
from nexthop.bgp.fsm.inputs import (
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
from nexthop.bgp.fsm.outputs import (
    AdoptNegotiated,
    ArmTimer,
    CancelAllTimers,
    CancelTimer,
    CloseRequested,
    ConnectRequested,
    DownReason,
    NotificationReceived,
    OpenReceived,
    Output,
    RouteRefreshReceived,
    ScheduleRestart,
    SendMessage,
    SessionDown,
    SessionEstablished,
    UpdateReceived,
)
from nexthop.bgp.fsm.states import SessionState
from nexthop.bgp.fsm.timers import TimerName
from nexthop.bgp.wire.messages import Keepalive, Notification, Open
from nexthop.bgp.wire.negotiated import Negotiated
from nexthop.fastinit import slot_setters

__all__ = ["TRANSITIONS", "Context", "Handler", "on_missing", "step"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """What handlers may read: configuration, our OPEN, the negotiated result."""

    config: SessionConfig
    local_open: Open
    negotiated: Negotiated | None = None


Handler = Callable[[Context, Input], list[Output]]

S = SessionState
# Built per received UPDATE: the slot setter instead of the frozen __init__.
_new_object = object.__new__
(_SET_UPDATE_RECEIVED,) = slot_setters(UpdateReceived, ("update",))
_FSM_SUBCODE = {
    S.OPENSENT: FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPENSENT,
    S.OPENCONFIRM: FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPENCONFIRM,
    S.ESTABLISHED: FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_ESTABLISHED,
}


# --- building blocks -------------------------------------------------------------


@cache
def _hold(seconds: int) -> ArmTimer:
    """One (immutable) ArmTimer per hold time: it is output for every UPDATE."""
    return ArmTimer(timer=TimerName.HOLD, seconds=seconds)


def _arm_hold(n: Negotiated | None) -> list[Output]:
    """Restart the HoldTimer with the negotiated value; 0 disables it (§4.2)."""
    if n is None or n.hold_time == 0:
        return [CancelTimer(timer=TimerName.HOLD)]
    return [_hold(n.hold_time)]


def _arm_keepalive(n: Negotiated | None) -> list[Output]:
    if n is None or n.hold_time == 0 or n.keepalive_time == 0:
        return [CancelTimer(timer=TimerName.KEEPALIVE)]
    return [ArmTimer(timer=TimerName.KEEPALIVE, seconds=n.keepalive_time)]


def _arm_connect_retry(ctx: Context) -> list[Output]:
    if ctx.config.passive:
        return []
    return [ArmTimer(timer=TimerName.CONNECT_RETRY, seconds=ctx.config.connect_retry_time)]


def _down(
    reason: DownReason,
    notification: Notification | None = None,
    *,
    sent: bool = False,
    close: bool = True,
    restart: bool = True,
) -> list[Output]:
    """Leave for Idle: optionally send ``notification`` first, stop the timers,
    report the reason, ask to close the connection, schedule the restart."""
    out: list[Output] = []
    if sent and notification is not None:
        out.append(SendMessage(message=notification))
    out.append(CancelAllTimers())
    out.append(SessionDown(reason=reason, notification=notification, sent=sent))
    if close:
        out.append(CloseRequested())
    if restart:
        out.append(ScheduleRestart())
    return out


# --- handlers --------------------------------------------------------------------


def ignore(ctx: Context, inp: Input) -> list[Output]:
    return []


def refuse_connection(ctx: Context, inp: Input) -> list[Output]:
    """Idle refuses incoming connections (§8.2.2 Idle state)."""
    return [CloseRequested()]


def cancel_restart(ctx: Context, inp: Input) -> list[Output]:
    """ManualStop in Idle: nothing to tear down, but no automatic restart either."""
    return [CancelAllTimers()]


def connect(ctx: Context, inp: Input) -> list[Output]:
    """Start (or restart) actively: arm ConnectRetry and ask for a TCP connection."""
    return [CancelAllTimers(), *_arm_connect_retry(ctx), ConnectRequested()]


def listen(ctx: Context, inp: Input) -> list[Output]:
    """Start passively: wait in Active for the peer to connect."""
    return [CancelAllTimers()]


def retry_connect(ctx: Context, inp: Input) -> list[Output]:
    """ConnectRetryTimer expiry: drop any pending attempt and try again."""
    return [CloseRequested(), *_arm_connect_retry(ctx), ConnectRequested()]


def connect_again(ctx: Context, inp: Input) -> list[Output]:
    """ConnectRetryTimer expiry in Active: try connecting again (§8.2.2 Active)."""
    return [*_arm_connect_retry(ctx), ConnectRequested()]


def connect_failed(ctx: Context, inp: Input) -> list[Output]:
    """The TCP connect failed: wait for ConnectRetry (or the peer) in Active."""
    return [SessionDown(reason=DownReason.CONNECTION_FAILED), *_arm_connect_retry(ctx)]


def send_open(ctx: Context, inp: Input) -> list[Output]:
    """TCP is up: send our OPEN, hold for the peer's with the 'large value' (§8.2.2)."""
    return [
        CancelTimer(timer=TimerName.CONNECT_RETRY),
        SendMessage(message=ctx.local_open),
        ArmTimer(timer=TimerName.HOLD, seconds=ctx.config.open_hold_time),
    ]


def accept_open(ctx: Context, inp: Input) -> list[Output]:
    """A valid OPEN in OpenSent: answer with KEEPALIVE, start the negotiated timers,
    report it (the owner checks for collisions, RFC 4271 §6.8)."""
    assert isinstance(inp, BGPOpen)
    n = inp.negotiated
    return [
        AdoptNegotiated(negotiated=n),
        SendMessage(message=Keepalive()),
        *_arm_hold(n),
        *_arm_keepalive(n),
        OpenReceived(open=inp.open, negotiated=n),
    ]


def lost_before_open(ctx: Context, inp: Input) -> list[Output]:
    """TCP failed in OpenSent: back to Active, restart ConnectRetry (§8.2.2)."""
    return [
        CancelAllTimers(),
        SessionDown(reason=DownReason.CONNECTION_LOST),
        *_arm_connect_retry(ctx),
    ]


def lost(ctx: Context, inp: Input) -> list[Output]:
    """TCP failed in OpenConfirm/Established: to Idle, restart later."""
    return _down(DownReason.CONNECTION_LOST, close=False)


def establish(ctx: Context, inp: Input) -> list[Output]:
    """The peer's KEEPALIVE in OpenConfirm: the session is Established."""
    assert ctx.negotiated is not None
    return [*_arm_hold(ctx.negotiated), SessionEstablished(negotiated=ctx.negotiated)]


def peer_alive(ctx: Context, inp: Input) -> list[Output]:
    """KEEPALIVE in Established restarts the HoldTimer (event 26)."""
    return _arm_hold(ctx.negotiated)


def deliver_update(ctx: Context, inp: Input) -> list[Output]:
    """UPDATE in Established: restart the HoldTimer and hand it over (event 27)."""
    assert isinstance(inp, UpdateMsg)
    received: UpdateReceived = _new_object(UpdateReceived)  # UpdateReceived(update=...)
    _SET_UPDATE_RECEIVED(received, inp.update)
    return [*_arm_hold(ctx.negotiated), received]


def deliver_refresh(ctx: Context, inp: Input) -> list[Output]:
    """ROUTE-REFRESH: delivered for a negotiated family, else ignored (RFC 2918 §4)."""
    assert isinstance(inp, RouteRefreshMsg)
    out = _arm_hold(ctx.negotiated)
    n = ctx.negotiated
    family = (inp.refresh.afi, inp.refresh.safi)
    if n is not None and n.route_refresh and family in n.families:
        out.append(RouteRefreshReceived(refresh=inp.refresh))
    return out


def send_keepalive(ctx: Context, inp: Input) -> list[Output]:
    return [SendMessage(message=Keepalive()), *_arm_keepalive(ctx.negotiated)]


def hold_expired(ctx: Context, inp: Input) -> list[Output]:
    """HoldTimer expiry: NOTIFICATION Hold Timer Expired, then Idle (§6.5)."""
    notification = Notification(code=ErrorCode.HOLD_TIMER_EXPIRED, subcode=0)
    return _down(DownReason.HOLD_TIMER_EXPIRED, notification, sent=True)


def message_error(ctx: Context, inp: Input) -> list[Output]:
    """A malformed message: send the NOTIFICATION the error names, then Idle (§6)."""
    assert isinstance(inp, BGPHeaderErr | BGPOpenMsgErr | UpdateMsgErr | RouteRefreshMsgErr)
    n = inp.notification
    if isinstance(inp, BGPOpenMsgErr):
        bad_as = n.subcode == OpenErrorSubcode.BAD_PEER_AS
        reason = DownReason.BAD_PEER_AS if bad_as else DownReason.OPEN_ERROR
    else:
        reason = DownReason.MALFORMED_MESSAGE
    return _down(reason, n, sent=True)


_COLLISION_CEASE = Notification(
    code=ErrorCode.CEASE, subcode=CeaseSubcode.CONNECTION_COLLISION_RESOLUTION
)


def collision_dump(ctx: Context, inp: Input) -> list[Output]:
    """OpenCollisionDump (event 23): this connection lost the collision (RFC 4271
    §6.8): NOTIFICATION Cease / Connection Collision Resolution (RFC 4486 §3), Idle."""
    return _down(DownReason.COLLISION, _COLLISION_CEASE, sent=True)


def notification_received(ctx: Context, inp: Input) -> list[Output]:
    """A NOTIFICATION from the peer ends the session (events 24, 25)."""
    assert isinstance(inp, NotifMsg | NotifMsgVerErr)
    n = inp.notification
    return [NotificationReceived(notification=n), *_down(DownReason.NOTIFICATION_RECEIVED, n)]


def manual_stop(ctx: Context, inp: Input) -> list[Output]:
    """ManualStop with a connection: send the Cease, no restart (§8.2.2)."""
    assert isinstance(inp, ManualStop)
    return _down(DownReason.ADMIN_STOP, inp.notification, sent=True, restart=False)


def manual_stop_unconnected(ctx: Context, inp: Input) -> list[Output]:
    """ManualStop in Connect/Active: drop the attempt, no NOTIFICATION, no restart."""
    return _down(DownReason.ADMIN_STOP, restart=False)


def automatic_stop(ctx: Context, inp: Input) -> list[Output]:
    """AutomaticStop with a connection: send the caller's NOTIFICATION, restart later."""
    assert isinstance(inp, AutomaticStop)
    return _down(inp.reason, inp.notification, sent=True)


def automatic_stop_unconnected(ctx: Context, inp: Input) -> list[Output]:
    assert isinstance(inp, AutomaticStop)
    return _down(inp.reason)


def fsm_error_unconnected(ctx: Context, inp: Input) -> list[Output]:
    """Unexpected event in Connect/Active (§8.2.2 'any other event'): to Idle."""
    return _down(DownReason.FSM_ERROR)


def _fsm_error(subcode: FsmErrorSubcode) -> Handler:
    notification = Notification(code=ErrorCode.FSM, subcode=subcode)

    def fsm_error(ctx: Context, inp: Input) -> list[Output]:
        """Unexpected event after OPEN: NOTIFICATION FSM Error (RFC 6608), Idle."""
        return _down(DownReason.FSM_ERROR, notification, sent=True)

    return fsm_error


_FSM_ERROR = {state: _fsm_error(subcode) for state, subcode in _FSM_SUBCODE.items()}


# --- the table ---------------------------------------------------------------------

TRANSITIONS: dict[tuple[SessionState, type[Input]], tuple[Handler, SessionState]] = {
    # Idle
    (S.IDLE, ManualStart): (connect, S.CONNECT),
    (S.IDLE, ManualStartPassive): (listen, S.ACTIVE),
    (S.IDLE, IdleHoldTimerExpires): (connect, S.CONNECT),
    (S.IDLE, IdleHoldTimerExpiresPassive): (listen, S.ACTIVE),
    (S.IDLE, ManualStop): (cancel_restart, S.IDLE),
    (S.IDLE, TcpConnectionConfirmed): (refuse_connection, S.IDLE),
    # Connect
    (S.CONNECT, ManualStop): (manual_stop_unconnected, S.IDLE),
    (S.CONNECT, AutomaticStop): (automatic_stop_unconnected, S.IDLE),
    (S.CONNECT, ConnectRetryTimerExpires): (retry_connect, S.CONNECT),
    (S.CONNECT, TcpConnectionConfirmed): (send_open, S.OPENSENT),
    (S.CONNECT, TcpConnectionFails): (connect_failed, S.ACTIVE),
    # Active
    (S.ACTIVE, ManualStop): (manual_stop_unconnected, S.IDLE),
    (S.ACTIVE, AutomaticStop): (automatic_stop_unconnected, S.IDLE),
    (S.ACTIVE, ConnectRetryTimerExpires): (connect_again, S.CONNECT),
    (S.ACTIVE, TcpConnectionConfirmed): (send_open, S.OPENSENT),
    (S.ACTIVE, TcpConnectionFails): (connect_failed, S.ACTIVE),
    # OpenSent
    (S.OPENSENT, ManualStop): (manual_stop, S.IDLE),
    (S.OPENSENT, AutomaticStop): (automatic_stop, S.IDLE),
    (S.OPENSENT, HoldTimerExpires): (hold_expired, S.IDLE),
    (S.OPENSENT, TcpConnectionFails): (lost_before_open, S.ACTIVE),
    (S.OPENSENT, BGPOpen): (accept_open, S.OPENCONFIRM),
    (S.OPENSENT, BGPHeaderErr): (message_error, S.IDLE),
    (S.OPENSENT, BGPOpenMsgErr): (message_error, S.IDLE),
    (S.OPENSENT, NotifMsgVerErr): (notification_received, S.IDLE),
    (S.OPENSENT, NotifMsg): (notification_received, S.IDLE),
    (S.OPENSENT, OpenCollisionDump): (collision_dump, S.IDLE),
    # OpenConfirm
    (S.OPENCONFIRM, ManualStop): (manual_stop, S.IDLE),
    (S.OPENCONFIRM, AutomaticStop): (automatic_stop, S.IDLE),
    (S.OPENCONFIRM, HoldTimerExpires): (hold_expired, S.IDLE),
    (S.OPENCONFIRM, KeepaliveTimerExpires): (send_keepalive, S.OPENCONFIRM),
    (S.OPENCONFIRM, TcpConnectionFails): (lost, S.IDLE),
    (S.OPENCONFIRM, BGPHeaderErr): (message_error, S.IDLE),
    (S.OPENCONFIRM, BGPOpenMsgErr): (message_error, S.IDLE),
    (S.OPENCONFIRM, NotifMsgVerErr): (notification_received, S.IDLE),
    (S.OPENCONFIRM, NotifMsg): (notification_received, S.IDLE),
    (S.OPENCONFIRM, KeepAliveMsg): (establish, S.ESTABLISHED),
    (S.OPENCONFIRM, OpenCollisionDump): (collision_dump, S.IDLE),
    # Established
    (S.ESTABLISHED, ManualStop): (manual_stop, S.IDLE),
    (S.ESTABLISHED, AutomaticStop): (automatic_stop, S.IDLE),
    (S.ESTABLISHED, HoldTimerExpires): (hold_expired, S.IDLE),
    (S.ESTABLISHED, KeepaliveTimerExpires): (send_keepalive, S.ESTABLISHED),
    (S.ESTABLISHED, TcpConnectionFails): (lost, S.IDLE),
    (S.ESTABLISHED, BGPHeaderErr): (message_error, S.IDLE),
    (S.ESTABLISHED, NotifMsgVerErr): (notification_received, S.IDLE),
    (S.ESTABLISHED, NotifMsg): (notification_received, S.IDLE),
    (S.ESTABLISHED, KeepAliveMsg): (peer_alive, S.ESTABLISHED),
    (S.ESTABLISHED, UpdateMsg): (deliver_update, S.ESTABLISHED),
    (S.ESTABLISHED, UpdateMsgErr): (message_error, S.IDLE),
    (S.ESTABLISHED, RouteRefreshMsg): (deliver_refresh, S.ESTABLISHED),
    (S.ESTABLISHED, RouteRefreshMsgErr): (message_error, S.IDLE),
    (S.ESTABLISHED, OpenCollisionDump): (collision_dump, S.IDLE),
}


def on_missing(state: SessionState, kind: type[Input]) -> tuple[Handler, SessionState]:
    """The documented outcome of a (state, input) pair absent from the table."""
    if state is S.IDLE or kind in START_INPUTS:
        return ignore, state
    if state in (S.CONNECT, S.ACTIVE):
        return fsm_error_unconnected, S.IDLE
    return _FSM_ERROR[state], S.IDLE


def step(state: SessionState, ctx: Context, inp: Input) -> tuple[list[Output], SessionState]:
    """Run one input through the table: the outputs and the next state."""
    handler, next_state = TRANSITIONS.get((state, type(inp))) or on_missing(state, type(inp))
    return handler(ctx, inp), next_state

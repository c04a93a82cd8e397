"""One BGP session, sans-IO: bytes and ``now`` in, events, bytes and deadlines out.

The shape is h2's (``receive_data`` returns events, ``data_to_send`` drains an
outbound buffer, because receiving an OPEN must produce a KEEPALIVE) plus
aioquic's for time (``get_timer`` / ``handle_timer(now)``). ``Session`` turns API
calls, expired timers and decoded messages into RFC 4271 §8.1 inputs, runs them
through ``transitions.step`` and applies the resulting effects; it decides
nothing about transitions itself.

Runtime contract: after ``ConnectRequested`` open a TCP connection and call
``connection_made`` or ``connection_failed``; after every call write out
``data_to_send()``; on ``CloseRequested`` write it out, then close (do not report
that closure back as ``connection_lost``); re-arm one timer at ``get_timer()``.

The outbound buffer is bounded (``SessionConfig.outbound_limit``): an edge whose
peer does not read calls ``check_outbound`` with what its transport still holds;
past the limit the queued messages are dropped and the session is reset with
Cease/Out of Resources (RFC 4486 §4, subcode 8). ``data_to_send(amount)`` may cut
a message; the session remembers how much of it is still queued, so the reset
keeps that tail and the NOTIFICATION follows whole messages on the wire.
Collisions (RFC 4271 §6.8) are the owner's to detect, since only it sees every
connection of a peer: with ``SessionConfig.pause_after_open`` a session stops
reading after the ``OpenReceived`` event (bytes still arriving are buffered),
the owner compares BGP Identifiers (``collision.resolve_open_collision``) and
calls ``collision_dump`` (event 23) on the loser and ``resume`` on the survivor.
"""

from __future__ import annotations

import struct

from nexthop.bgp.constants import CeaseSubcode, ErrorCode, OpenErrorSubcode
from nexthop.bgp.fsm.config import SessionConfig
from nexthop.bgp.fsm.counters import CounterTally, SessionCounters
from nexthop.bgp.fsm.inputs import (
    AutomaticStop,
    BGPHeaderErr,
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
from nexthop.bgp.fsm.open_check import check_open, local_open
from nexthop.bgp.fsm.outputs import (
    AdoptNegotiated,
    ArmTimer,
    CancelAllTimers,
    CancelTimer,
    DownReason,
    Event,
    OpenReceived,
    Output,
    ScheduleRestart,
    SendMessage,
    SessionDown,
    UpdateReceived,
)
from nexthop.bgp.fsm.states import SessionState
from nexthop.bgp.fsm.timers import TimerName, TimerSet, idle_hold_backoff
from nexthop.bgp.fsm.transitions import Context, step
from nexthop.bgp.wire import MessageReader, cease_notification, encode_message
from nexthop.bgp.wire.errors import LocalProtocolError, MessageError
from nexthop.bgp.wire.messages import (
    Keepalive,
    Message,
    Notification,
    Open,
    RouteRefresh,
    Update,
)
from nexthop.bgp.wire.negotiated import Negotiated
from nexthop.bgp.wire.shared_encoding import SharedEncoder
from nexthop.fastinit import slot_setters

__all__ = ["Session"]

S = SessionState
_UNCONNECTED = (S.IDLE, S.CONNECT, S.ACTIVE)
_PRE_OPEN = Negotiated()  # how to decode before the OPEN exchange (RFC 4271 §4)
# UpdateMsg(update=...) once per received UPDATE, without the frozen __init__.
_new_object = object.__new__
_LENGTH_AT = struct.Struct("!H").unpack_from  # a message's length field
(_SET_UPDATE_MSG,) = slot_setters(UpdateMsg, ("update",))


def _error_input(err: MessageError) -> Input:
    """RFC 4271 §8.1.5: which event a codec error is (21, 22, 28, or RFC 7313 §5)."""
    n = Notification(code=err.code, subcode=err.subcode, data=err.data)
    if err.code == ErrorCode.OPEN_MESSAGE:
        return BGPOpenMsgErr(notification=n, reason=err.reason)
    if err.code == ErrorCode.UPDATE_MESSAGE:
        return UpdateMsgErr(notification=n, reason=err.reason)
    if err.code == ErrorCode.ROUTE_REFRESH_MESSAGE:
        return RouteRefreshMsgErr(notification=n, reason=err.reason)
    return BGPHeaderErr(notification=n, reason=err.reason)


class Session:
    """The FSM of one peer plus its framing, timers and counters."""

    def __init__(self, config: SessionConfig, *, encoder: SharedEncoder | None = None) -> None:
        """``encoder``: shared with the other sessions of the same speaker, so an
        ``Update`` sent to several peers is encoded once per encoding parameters."""
        self._config = config
        self._encoder = encoder
        self._local_open = local_open(config)
        self._state = S.IDLE
        self._negotiated: Negotiated | None = None
        self._timers = TimerSet()
        self._reader = MessageReader(intern_attributes=True)
        self._outbound = bytearray()
        # Octets at the head of ``_outbound`` that finish a message already
        # partly taken by ``data_to_send(amount)`` (0: the head is a message start).
        self._cut = 0
        self._tally = CounterTally()
        # What handlers read; rebuilt only when the negotiated parameters change.
        self._context = Context(config=config, local_open=self._local_open)
        self._idle_hold: float | None = None
        self._last_down: float | None = None
        self._detail: str | None = None  # the text of the error being handled
        self._paused = False  # after an OPEN, until resume() (pause_after_open)

    # --- read-only state ----------------------------------------------------------

    @property
    def config(self) -> SessionConfig:
        return self._config

    @property
    def local_open(self) -> Open:
        return self._local_open

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def negotiated(self) -> Negotiated | None:
        """What the OPEN exchange agreed on; None before OpenConfirm."""
        return self._negotiated

    @property
    def counters(self) -> SessionCounters:
        return self._tally.snapshot(self._idle_hold)

    # --- administrative events --------------------------------------------------------

    def start(self, now: float) -> list[Event]:
        """ManualStart (event 1) or, for a passive peer, event 4."""
        passive = self._config.passive
        return self._process(ManualStartPassive() if passive else ManualStart(), now)

    def stop(self, now: float, notification: Notification | None = None) -> list[Event]:
        """ManualStop (event 2): Cease/Administrative Shutdown unless told otherwise;
        no automatic restart until ``start`` is called again."""
        if notification is None:
            notification = cease_notification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN)
        return self._process(ManualStop(notification=notification), now)

    def teardown(
        self,
        now: float,
        notification: Notification,
        reason: DownReason = DownReason.NOTIFICATION_SENT,
    ) -> list[Event]:
        """AutomaticStop (event 8), e.g. Cease/Maximum Number of Prefixes Reached
        with ``DownReason.MAX_PREFIX``; the session restarts after the IdleHold time."""
        return self._process(AutomaticStop(notification=notification, reason=reason), now)

    # --- TCP events ---------------------------------------------------------------------

    def connection_made(self, now: float) -> list[Event]:
        """The TCP connection is up (events 16/17): we send our OPEN.

        Raises ``LocalProtocolError`` once a connection is already in use: the
        runtime resolves collisions (``resolve_collision``) before handing over.
        """
        if self._state not in _UNCONNECTED:
            msg = f"connection_made in {self._state.value}: resolve the collision first"
            raise LocalProtocolError(msg)
        if self._state is not S.IDLE:
            self._outbound.clear()
            self._cut = 0
            self._reader = MessageReader(intern_attributes=True)
        return self._process(TcpConnectionConfirmed(), now)

    def collision_dump(self, now: float) -> list[Event]:
        """This connection lost a collision (event 23, RFC 4271 §6.8): Cease /
        Connection Collision Resolution, then Idle (restarting like after any
        teardown; an owner that keeps one session per connection closes it)."""
        self._paused = False
        return self._process(OpenCollisionDump(), now)

    def resume(self, now: float) -> list[Event]:
        """Read on after ``pause_after_open`` stopped at an OPEN: the messages
        buffered meanwhile are processed now."""
        if not self._paused:
            return []
        self._paused = False
        return self.receive_data(b"", now)

    @property
    def paused(self) -> bool:
        """True between an OPEN and ``resume`` when ``pause_after_open`` is set."""
        return self._paused

    def connection_failed(self, now: float) -> list[Event]:
        """Our TCP connection attempt failed (event 18)."""
        return self._process(TcpConnectionFails(), now)

    def connection_lost(self, now: float) -> list[Event]:
        """The TCP connection went away (event 18); unsent bytes are dropped."""
        if self._state is not S.IDLE:
            self._outbound.clear()
            self._cut = 0
        return self._process(TcpConnectionFails(), now)

    # --- bytes ----------------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Feed bytes from the peer; returns the events they cause, in order.
        Bytes arriving in Idle (e.g. after we sent a NOTIFICATION) are ignored."""
        if self._state is S.IDLE:
            return []
        # Every complete message of this read in one loop. The reader is only
        # replaced on entering Idle, which ends the loop.
        reader = self._reader
        reader.feed(data)
        if self._paused:
            return []
        received = self._tally.received
        events: list[Event] = []
        while self._is_running():
            try:
                message = reader.next_message(self._negotiated or _PRE_OPEN)
            except MessageError as err:
                self._detail = err.reason
                events += self._process(_error_input(err), now)
                break
            if message is None:
                break
            received(message)
            events += self._process(self._classify(message), now)
            if self._paused:  # an OPEN with pause_after_open (set in _apply)
                break
        return events

    def data_to_send(self, amount: int | None = None) -> bytes:
        """Drain the outbound buffer, or at most ``amount`` bytes of it (h2
        ``data_to_send``; performs no I/O). The rest stays queued, so an edge
        under TCP back-pressure can pace its writes."""
        outbound = self._outbound
        if amount is None or amount >= len(outbound):
            data = bytes(outbound)
            outbound.clear()
            self._cut = 0
            return data
        data = bytes(outbound[:amount])
        del outbound[:amount]
        if self._config.outbound_limit is None:
            return data  # no reset can drop the rest: message ends need not be known
        # Walk the headers taken to find where the first whole message left starts.
        start = self._cut
        last = amount - 18  # a length field (octets 16-17, RFC 4271 §4.1) wholly in data
        while start <= last:
            start += _LENGTH_AT(data, start + 16)[0]
        while start < amount:
            at = start + 16
            if at >= amount:  # the rest of the header is still queued
                field = bytes(outbound[at - amount : at - amount + 2])
            else:  # the length field itself was cut
                field = data[at:] + outbound[:1]
            start += int.from_bytes(field)
        self._cut = start - amount
        return data

    @property
    def bytes_pending(self) -> int:
        """Octets queued for the peer and not yet taken by ``data_to_send``."""
        return len(self._outbound)

    def check_outbound(self, now: float, in_flight: int = 0) -> list[Event]:
        """RFC 4486 §4 Cease/Out of Resources when the octets waiting for the peer,
        ``bytes_pending`` plus ``in_flight`` (taken by the edge, not yet on the
        wire), exceed ``SessionConfig.outbound_limit``: the queued messages are
        dropped (the tail of one already partly taken is kept), the NOTIFICATION
        is queued and the session goes down (AutomaticStop, event 8). Otherwise
        nothing happens and no events are returned."""
        limit = self._config.outbound_limit
        if limit is None or len(self._outbound) + in_flight <= limit:
            return []
        self._detail = (
            f"{len(self._outbound) + in_flight} octets queued for the peer,"
            f" over the {limit}-octet outbound limit"
        )
        del self._outbound[self._cut :]
        notification = cease_notification(CeaseSubcode.OUT_OF_RESOURCES)
        stop = AutomaticStop(notification=notification, reason=DownReason.NOTIFICATION_SENT)
        return self._process(stop, now)

    # --- time -------------------------------------------------------------------------------

    def get_timer(self) -> float | None:
        """The earliest timer deadline, or None when no timer runs."""
        return self._timers.next_deadline()

    def handle_timer(self, now: float) -> list[Event]:
        """Fire every timer due at ``now``, earliest first."""
        events: list[Event] = []
        while due := self._timers.expired(now):
            name = due[0]
            self._timers.cancel(name)
            events += self._process(self._timer_input(name), now)
        return events

    # --- sending ----------------------------------------------------------------------------

    def send_update(self, update: Update) -> None:
        """Queue an UPDATE. Raises ``LocalProtocolError`` unless Established, or when
        the encoded message exceeds the negotiated maximum (RFC 8654): split it."""
        negotiated = self._require_established("send_update")
        encoder = self._encoder
        if encoder is None:
            self._outbound += encode_message(update, negotiated)  # raises when too long
        else:
            self._outbound += encoder.message(update, negotiated)
        self._tally.sent(update)

    def send_route_refresh(self, afi: int, safi: int, subtype: int = 0) -> None:
        """Ask the peer to resend a family (RFC 2918); BoRR/EoRR subtypes need
        enhanced route refresh (RFC 7313). ``LocalProtocolError`` if not negotiated."""
        negotiated = self._require_established("send_route_refresh")
        if not negotiated.route_refresh or (afi, safi) not in negotiated.families:
            msg = f"route refresh for {afi}/{safi} was not negotiated"
            raise LocalProtocolError(msg)
        if subtype and not negotiated.enhanced_route_refresh:
            msg = "enhanced route refresh was not negotiated"
            raise LocalProtocolError(msg)
        self._send(RouteRefresh(afi=afi, safi=safi, subtype=subtype))

    # --- internals ------------------------------------------------------------------------

    def _is_running(self) -> bool:
        return self._state is not S.IDLE

    def _require_established(self, what: str) -> Negotiated:
        if self._state is not S.ESTABLISHED or self._negotiated is None:
            msg = f"{what} needs an Established session, not {self._state.value}"
            raise LocalProtocolError(msg)
        return self._negotiated

    def _classify(self, message: Message) -> Input:
        """A decoded message as an RFC 4271 §8.1.5 event."""
        match message:  # the most frequent first
            case Update():
                inp: UpdateMsg = _new_object(UpdateMsg)
                _SET_UPDATE_MSG(inp, message)
                return inp
            case Keepalive():
                return KeepAliveMsg()
            case Open():
                checked = check_open(self._config, self._local_open, message)
                if isinstance(checked, BGPOpenMsgErr):
                    self._detail = checked.reason
                return checked
            case RouteRefresh():
                return RouteRefreshMsg(refresh=message)
            case Notification():
                version_error = (
                    message.code == ErrorCode.OPEN_MESSAGE
                    and message.subcode == OpenErrorSubcode.UNSUPPORTED_VERSION_NUMBER
                )
                if version_error:
                    return NotifMsgVerErr(notification=message)
                return NotifMsg(notification=message)

    def _timer_input(self, name: TimerName) -> Input:
        if name is TimerName.CONNECT_RETRY:
            return ConnectRetryTimerExpires()
        if name is TimerName.HOLD:
            return HoldTimerExpires()
        if name is TimerName.KEEPALIVE:
            return KeepaliveTimerExpires()
        if self._config.passive:
            return IdleHoldTimerExpiresPassive()
        return IdleHoldTimerExpires()

    def _process(self, inp: Input, now: float) -> list[Event]:
        ctx = self._context
        if ctx.negotiated is not self._negotiated:
            ctx = self._context = Context(
                config=self._config, local_open=self._local_open, negotiated=self._negotiated
            )
        outputs, next_state = step(self._state, ctx, inp)
        events = self._apply(outputs, now)
        self._detail = None
        self._enter(next_state, now)
        return events

    def _apply(self, outputs: list[Output], now: float) -> list[Event]:
        events: list[Event] = []
        for out in outputs:
            match out:  # the classes are disjoint; the per-UPDATE ones first
                case UpdateReceived(update=update):
                    self._tally.update_delivered(update)
                    events.append(out)
                case ArmTimer(timer=timer, seconds=seconds):
                    self._timers.arm(timer, now + seconds)
                case SendMessage(message=message):
                    self._send(message)
                case CancelTimer(timer=timer):
                    self._timers.cancel(timer)
                case CancelAllTimers():
                    self._timers.cancel_all()
                case AdoptNegotiated(negotiated=negotiated):
                    self._negotiated = negotiated
                case ScheduleRestart():
                    self._schedule_restart(now)
                case SessionDown():
                    self._tally.went_down(out, self._detail)
                    events.append(out)
                case OpenReceived():  # for owners that resolve collisions only
                    if self._config.pause_after_open:
                        self._paused = True  # receive_data stops after this message
                        events.append(out)
                case _:
                    events.append(out)
        return events

    def _send(self, message: Message) -> None:
        self._outbound += encode_message(message, self._negotiated or _PRE_OPEN)
        self._tally.sent(message)

    def _schedule_restart(self, now: float) -> None:
        cfg = self._config
        self._idle_hold = idle_hold_backoff(
            previous=self._idle_hold,
            last_down=self._last_down,
            now=now,
            base=cfg.idle_hold_time,
            cap=cfg.idle_hold_max,
            forget=cfg.idle_hold_forget,
        )
        self._last_down = now
        self._timers.arm(TimerName.IDLE_HOLD, now + self._idle_hold)

    def _enter(self, state: SessionState, now: float) -> None:
        old, self._state = self._state, state
        if state is old and state is S.ESTABLISHED:
            return  # an UPDATE or KEEPALIVE: nothing changes
        if state in _UNCONNECTED:
            self._negotiated = None
        if state is S.IDLE and old is not S.IDLE:
            self._reader = MessageReader(intern_attributes=True)
            self._paused = False
        if state is not old:
            self._tally.state_changed(
                now=now,
                left_established=old is S.ESTABLISHED,
                entered_established=state is S.ESTABLISHED,
            )

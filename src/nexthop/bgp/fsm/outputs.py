"""What the session FSM produces: public events and internal effects.

Events (RFC 4271 §8 outcomes, past tense, style rule 3) go back to the caller of
``Session``; effects are the FSM's instructions to its own ``Session`` (queue a
message, arm or cancel a timer, adopt the negotiated parameters, schedule an
automatic restart, RFC 4271 §8.1.1 DampPeerOscillations). Handlers in
``transitions.py`` return a list mixing both; ``Session`` applies the effects and
hands the events out in order.

``DownReason`` names why a session ended, GoBGP-style (``fsmHoldTimerExpired`` …).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from nexthop.bgp.fsm.timers import TimerName
from nexthop.bgp.wire.messages import Message, Notification, Open, RouteRefresh, Update
from nexthop.bgp.wire.negotiated import Negotiated

__all__ = [
    "AdoptNegotiated",
    "ArmTimer",
    "CancelAllTimers",
    "CancelTimer",
    "CloseRequested",
    "ConnectRequested",
    "DownReason",
    "Effect",
    "Event",
    "NotificationReceived",
    "OpenReceived",
    "Output",
    "RouteRefreshReceived",
    "ScheduleRestart",
    "SendMessage",
    "SessionDown",
    "SessionEstablished",
    "UpdateReceived",
]


class DownReason(Enum):
    """Why a session (or a connection attempt) ended."""

    HOLD_TIMER_EXPIRED = "hold-timer-expired"
    NOTIFICATION_RECEIVED = "notification-received"
    NOTIFICATION_SENT = "notification-sent"  # a caller's teardown with no better name
    CONNECTION_LOST = "connection-lost"
    CONNECTION_FAILED = "connection-failed"
    ADMIN_STOP = "admin-stop"
    BAD_PEER_AS = "bad-peer-as"
    OPEN_ERROR = "open-error"
    FSM_ERROR = "fsm-error"
    MALFORMED_MESSAGE = "malformed-message"
    MAX_PREFIX = "max-prefix"
    COLLISION = "collision"
    DECONFIGURED = "deconfigured"


# --- events: returned to the caller -------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectRequested:
    """The runtime should open a TCP connection to the peer (then call
    ``connection_made`` or ``connection_failed``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseRequested:
    """The runtime must write out ``data_to_send()`` (a NOTIFICATION may be
    queued) and then close the TCP connection."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenReceived:
    """A valid OPEN moved the session to OpenConfirm (RFC 4271 §8.2.2 event 19).
    The point where connection collisions are detected (§6.8: "Upon receipt of an
    OPEN message, the local system MUST examine all of its connections that are
    in the OpenConfirm state"). Reported only with ``SessionConfig.pause_after_open``
    (to the owner that resolves collisions); the session then reads no further
    message until ``Session.resume``."""

    open: Open
    negotiated: Negotiated


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionEstablished:
    """OpenConfirm received the peer's KEEPALIVE (RFC 4271 §8.2.2)."""

    negotiated: Negotiated


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionDown:
    """The session or connection attempt ended. ``sent`` tells whether
    ``notification`` was sent by us (True) or received from the peer (False)."""

    reason: DownReason
    notification: Notification | None = None
    sent: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateReceived:
    """An UPDATE in Established; ``update.treat_as_withdraw`` reports RFC 7606."""

    update: Update


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteRefreshReceived:
    """A ROUTE-REFRESH for a negotiated family (RFC 2918 §4, RFC 7313)."""

    refresh: RouteRefresh


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationReceived:
    """The peer sent a NOTIFICATION (a ``SessionDown`` follows)."""

    notification: Notification


Event = (
    ConnectRequested
    | CloseRequested
    | OpenReceived
    | SessionEstablished
    | SessionDown
    | UpdateReceived
    | RouteRefreshReceived
    | NotificationReceived
)


# --- effects: applied by Session, never seen by its caller ---------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SendMessage:
    """Encode ``message`` with the current negotiated parameters and queue it."""

    message: Message


@dataclass(frozen=True, slots=True, kw_only=True)
class ArmTimer:
    """(Re)start ``timer`` to expire ``seconds`` from now."""

    timer: TimerName
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelTimer:
    timer: TimerName


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelAllTimers:
    """Stop every timer (RFC 4271 §8.2.2 'sets ConnectRetryTimer to zero' …)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AdoptNegotiated:
    """Remember what the OPEN exchange agreed on (used to encode and decode)."""

    negotiated: Negotiated


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleRestart:
    """Arm the IdleHold timer with the damped back-off (RFC 4271 §8.1.1)."""


Effect = SendMessage | ArmTimer | CancelTimer | CancelAllTimers | AdoptNegotiated | ScheduleRestart
Output = Event | Effect

"""FSM inputs: RFC 4271 §8.1 events as frozen dataclasses.

Each class names its RFC 4271 §8.1 event number. ``Session`` turns API calls,
timer expiries and decoded messages into these inputs (a received OPEN is
validated first, so it becomes either ``BGPOpen`` (19) or ``BGPOpenMsgErr`` (22),
exactly the RFC's split); ``transitions.TRANSITIONS`` is keyed by their types.
Optional events we do not implement: 5-7 (automatic start variants; our IdleHold
restart plays that role), 12 (DelayOpen), 14-15 (TCP connection validation), 20
(DelayOpen OPEN). Event 23 (OpenCollisionDump) is an API call: the owner, who
sees every connection of a peer, decides collisions (``collision``) and tells the
losing session with ``Session.collision_dump``.
"""

from __future__ import annotations

from dataclasses import dataclass

from nexthop.bgp.fsm.outputs import DownReason
from nexthop.bgp.wire.messages import Notification, Open, RouteRefresh, Update
from nexthop.bgp.wire.negotiated import Negotiated

__all__ = [
    "ALL_INPUTS",
    "MESSAGE_INPUTS",
    "START_INPUTS",
    "AutomaticStop",
    "BGPHeaderErr",
    "BGPOpen",
    "BGPOpenMsgErr",
    "ConnectRetryTimerExpires",
    "HoldTimerExpires",
    "IdleHoldTimerExpires",
    "IdleHoldTimerExpiresPassive",
    "Input",
    "KeepAliveMsg",
    "KeepaliveTimerExpires",
    "ManualStart",
    "ManualStartPassive",
    "ManualStop",
    "NotifMsg",
    "NotifMsgVerErr",
    "OpenCollisionDump",
    "RouteRefreshMsg",
    "RouteRefreshMsgErr",
    "TcpConnectionConfirmed",
    "TcpConnectionFails",
    "UpdateMsg",
    "UpdateMsgErr",
]


# --- administrative events (§8.1.2) --------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ManualStart:
    """Event 1, ManualStart: the operator starts an active session."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ManualStop:
    """Event 2, ManualStop: the operator stops the session; no automatic restart."""

    notification: Notification


@dataclass(frozen=True, slots=True, kw_only=True)
class ManualStartPassive:
    """Event 4, ManualStart_with_PassiveTcpEstablishment: wait for the peer."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AutomaticStop:
    """Event 8, AutomaticStop: the local system tears the session down (e.g. the
    route server's prefix limit, RFC 4486 Cease/Maximum Number of Prefixes);
    an automatic restart follows after the IdleHold time."""

    notification: Notification
    reason: DownReason


# --- timer events (§8.1.3) ------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectRetryTimerExpires:
    """Event 9, ConnectRetryTimer_Expires."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldTimerExpires:
    """Event 10, HoldTimer_Expires."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KeepaliveTimerExpires:
    """Event 11, KeepaliveTimer_Expires."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IdleHoldTimerExpires:
    """Event 13, IdleHoldTimer_Expires: the damping back-off after a session went
    down is over; an active session restarts (like AutomaticStart, event 3)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IdleHoldTimerExpiresPassive:
    """Event 13 for a passive session: restarts like
    AutomaticStart_with_PassiveTcpEstablishment (event 5)."""


# --- TCP connection events (§8.1.4) -----------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TcpConnectionConfirmed:
    """Events 16/17, Tcp_CR_Acked / TcpConnectionConfirmed: the TCP connection
    (ours or the peer's) is up."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TcpConnectionFails:
    """Event 18, TcpConnectionFails: a connection attempt failed, or an
    established TCP connection went away."""


# --- message events (§8.1.5) -------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class BGPOpen:
    """Event 19, BGPOpen: a valid OPEN, with what it negotiates."""

    open: Open
    negotiated: Negotiated


@dataclass(frozen=True, slots=True, kw_only=True)
class BGPHeaderErr:
    """Event 21, BGPHeaderErr: a message header (or whole-message) error."""

    notification: Notification
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BGPOpenMsgErr:
    """Event 22, BGPOpenMsgErr: an OPEN that fails §6.2 checks."""

    notification: Notification
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenCollisionDump:
    """Event 23, OpenCollisionDump: this connection lost a collision (RFC 4271
    §6.8); it sends Cease / Connection Collision Resolution (RFC 4486 §3) and
    closes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifMsgVerErr:
    """Event 24, NotifMsgVerErr: a NOTIFICATION with OPEN Message Error /
    Unsupported Version Number."""

    notification: Notification


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifMsg:
    """Event 25, NotifMsg: any other NOTIFICATION."""

    notification: Notification


@dataclass(frozen=True, slots=True, kw_only=True)
class KeepAliveMsg:
    """Event 26, KeepAliveMsg."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateMsg:
    """Event 27, UpdateMsg (including RFC 7606 treat-as-withdraw UPDATEs)."""

    update: Update


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateMsgErr:
    """Event 28, UpdateMsgErr: an UPDATE error that resets the session."""

    notification: Notification
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteRefreshMsg:
    """A ROUTE-REFRESH message (RFC 2918 §4; no RFC 4271 event number)."""

    refresh: RouteRefresh


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteRefreshMsgErr:
    """A ROUTE-REFRESH Message Error (RFC 7313 §5; no RFC 4271 event number)."""

    notification: Notification
    reason: str


Input = (
    ManualStart
    | ManualStop
    | ManualStartPassive
    | AutomaticStop
    | ConnectRetryTimerExpires
    | HoldTimerExpires
    | KeepaliveTimerExpires
    | IdleHoldTimerExpires
    | IdleHoldTimerExpiresPassive
    | TcpConnectionConfirmed
    | TcpConnectionFails
    | BGPOpen
    | BGPHeaderErr
    | BGPOpenMsgErr
    | OpenCollisionDump
    | NotifMsgVerErr
    | NotifMsg
    | KeepAliveMsg
    | UpdateMsg
    | UpdateMsgErr
    | RouteRefreshMsg
    | RouteRefreshMsgErr
)

START_INPUTS: tuple[type[Input], ...] = (
    ManualStart,
    ManualStartPassive,
    IdleHoldTimerExpires,
    IdleHoldTimerExpiresPassive,
)
"""Start events: RFC 4271 §8.2.2 ignores them in every state but Idle."""

MESSAGE_INPUTS: tuple[type[Input], ...] = (
    BGPOpen,
    BGPHeaderErr,
    BGPOpenMsgErr,
    NotifMsgVerErr,
    NotifMsg,
    KeepAliveMsg,
    UpdateMsg,
    UpdateMsgErr,
    RouteRefreshMsg,
    RouteRefreshMsgErr,
)
"""Inputs caused by a received message."""

ALL_INPUTS: tuple[type[Input], ...] = (
    ManualStart,
    ManualStop,
    ManualStartPassive,
    AutomaticStop,
    ConnectRetryTimerExpires,
    HoldTimerExpires,
    KeepaliveTimerExpires,
    IdleHoldTimerExpires,
    IdleHoldTimerExpiresPassive,
    TcpConnectionConfirmed,
    TcpConnectionFails,
    OpenCollisionDump,
    *MESSAGE_INPUTS,
)

"""The BGP-4 session: RFC 4271 §8 finite state machine, sans-IO.

Modules: ``states`` (§8.2.2), ``inputs`` (§8.1 events), ``outputs`` (events and
effects), ``timers`` (§10 timers as deadlines), ``transitions`` (the one table),
``open_check`` (§6.2 OPEN validation), ``counters``, ``collision`` (§6.8) and
``session`` (the h2/aioquic-shaped ``Session``).
"""

from __future__ import annotations

from nexthop.bgp.fsm.collision import (
    CollisionWinner,
    OpenCollision,
    resolve_collision,
    resolve_open_collision,
)
from nexthop.bgp.fsm.config import SessionConfig
from nexthop.bgp.fsm.counters import SessionCounters
from nexthop.bgp.fsm.outputs import (
    CloseRequested,
    ConnectRequested,
    DownReason,
    Event,
    NotificationReceived,
    OpenReceived,
    RouteRefreshReceived,
    SessionDown,
    SessionEstablished,
    UpdateReceived,
)
from nexthop.bgp.fsm.session import Session
from nexthop.bgp.fsm.states import SessionState
from nexthop.bgp.fsm.timers import TimerName

__all__ = [
    "CloseRequested",
    "CollisionWinner",
    "ConnectRequested",
    "DownReason",
    "Event",
    "NotificationReceived",
    "OpenCollision",
    "OpenReceived",
    "RouteRefreshReceived",
    "Session",
    "SessionConfig",
    "SessionCounters",
    "SessionDown",
    "SessionEstablished",
    "SessionState",
    "TimerName",
    "UpdateReceived",
    "resolve_collision",
    "resolve_open_collision",
]

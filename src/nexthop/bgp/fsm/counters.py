"""Per-session statistics: a mutable tally inside ``Session`` and the frozen
``SessionCounters`` snapshot it hands out (what ``show bgp neighbor`` prints;
RFC 4273 BGP-4 MIB ``bgpPeerInUpdates``/``bgpPeerFsmEstablishedTransitions``
are the model).
"""

from __future__ import annotations

from dataclasses import dataclass

from nexthop.bgp.constants import ErrorCode, MessageType
from nexthop.bgp.fsm.outputs import DownReason, SessionDown
from nexthop.bgp.wire import shutdown_communication
from nexthop.bgp.wire.messages import (
    Keepalive,
    Message,
    Notification,
    Open,
    RouteRefresh,
    Update,
)

__all__ = ["CounterTally", "SessionCounters", "describe_down", "prefix_count"]

_MESSAGE_TYPE: dict[type, MessageType] = {
    Open: MessageType.OPEN,
    Update: MessageType.UPDATE,
    Notification: MessageType.NOTIFICATION,
    Keepalive: MessageType.KEEPALIVE,
    RouteRefresh: MessageType.ROUTE_REFRESH,
}
_MESSAGE_NAME = {cls: t.name for cls, t in _MESSAGE_TYPE.items()}  # Enum .name is slow


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionCounters:
    """A snapshot. Message counts are keyed by ``MessageType`` name ("UPDATE" …)."""

    messages_in: dict[str, int]
    messages_out: dict[str, int]
    updates_in: int = 0
    updates_out: int = 0
    prefixes_received: int = 0  # announced + withdrawn, over all UPDATEs received
    treat_as_withdraw: int = 0  # UPDATEs received that RFC 7606 turned into withdrawals
    flaps: int = 0  # Established -> any other state
    established_count: int = 0
    last_error: str | None = None
    last_down_reason: DownReason | None = None
    last_state_change: float | None = None
    established_at: float | None = None  # uptime start; None unless Established
    idle_hold_time: float | None = None  # the current damped IdleHold back-off


def prefix_count(update: Update) -> int:
    """Announced plus withdrawn prefixes in one UPDATE, every family."""
    count = len(update.nlri) + len(update.withdrawn)
    if update.mp_reach is not None:
        count += len(update.mp_reach.nlri)
    if update.mp_unreach is not None:
        count += len(update.mp_unreach.withdrawn)
    return count


def describe_down(down: SessionDown, detail: str | None = None) -> str:
    """One line for ``last_error``: reason, the NOTIFICATION, any detail."""
    parts = [down.reason.value]
    n = down.notification
    if n is not None:
        try:
            code = ErrorCode(n.code).name
        except ValueError:
            code = str(n.code)
        direction = "sent" if down.sent else "received"
        parts.append(f"{direction} NOTIFICATION {code}/{n.subcode}")
        text = shutdown_communication(n)
        if text:
            parts.append(f'"{text}"')
    if detail:
        parts.append(detail)
    return ": ".join(parts)


class CounterTally:
    """The mutable side; only ``Session`` writes to it."""

    def __init__(self) -> None:
        self.messages_in = {t.name: 0 for t in MessageType}
        self.messages_out = {t.name: 0 for t in MessageType}
        self.updates_in = 0
        self.prefixes_received = 0
        self.treat_as_withdraw = 0
        self.flaps = 0
        self.established_count = 0
        self.last_error: str | None = None
        self.last_down_reason: DownReason | None = None
        self.last_state_change: float | None = None
        self.established_at: float | None = None

    def received(self, message: Message) -> None:
        self.messages_in[_MESSAGE_NAME[type(message)]] += 1

    def sent(self, message: Message) -> None:
        self.messages_out[_MESSAGE_NAME[type(message)]] += 1

    def update_delivered(self, update: Update) -> None:
        self.updates_in += 1
        self.prefixes_received += prefix_count(update)
        if update.treat_as_withdraw:
            self.treat_as_withdraw += 1

    def went_down(self, down: SessionDown, detail: str | None) -> None:
        self.last_down_reason = down.reason
        self.last_error = describe_down(down, detail)

    def state_changed(
        self, *, now: float, left_established: bool, entered_established: bool
    ) -> None:
        self.last_state_change = now
        if left_established:
            self.flaps += 1
            self.established_at = None
        if entered_established:
            self.established_count += 1
            self.established_at = now

    def snapshot(self, idle_hold_time: float | None) -> SessionCounters:
        return SessionCounters(
            messages_in=dict(self.messages_in),
            messages_out=dict(self.messages_out),
            updates_in=self.updates_in,
            updates_out=self.messages_out[MessageType.UPDATE.name],
            prefixes_received=self.prefixes_received,
            treat_as_withdraw=self.treat_as_withdraw,
            flaps=self.flaps,
            established_count=self.established_count,
            last_error=self.last_error,
            last_down_reason=self.last_down_reason,
            last_state_change=self.last_state_change,
            established_at=self.established_at,
            idle_hold_time=idle_hold_time,
        )

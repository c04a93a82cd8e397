"""Session timers as deadlines, never as callbacks (style rule 1, aioquic shape).

RFC 4271 §10 (ConnectRetry, Hold, Keepalive) and §8.1.1 (IdleHold, used with
DampPeerOscillations). ``TimerSet`` only stores absolute deadlines: the caller
passes ``now`` and asks which timers are due; ``next_deadline()`` is what
``Session.get_timer()`` reports to the runtime.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["TimerName", "TimerSet", "idle_hold_backoff"]


class TimerName(Enum):
    CONNECT_RETRY = "connect-retry"
    HOLD = "hold"
    KEEPALIVE = "keepalive"
    IDLE_HOLD = "idle-hold"

    __hash__ = object.__hash__  # identity, as SessionState: the hold timer is re-armed per UPDATE


class TimerSet:
    """Deadlines by name; at most one deadline per timer."""

    __slots__ = ("_deadlines",)

    def __init__(self) -> None:
        self._deadlines: dict[TimerName, float] = {}

    def arm(self, name: TimerName, deadline: float) -> None:
        self._deadlines[name] = deadline

    def cancel(self, name: TimerName) -> None:
        self._deadlines.pop(name, None)

    def cancel_all(self) -> None:
        self._deadlines.clear()

    def deadline(self, name: TimerName) -> float | None:
        return self._deadlines.get(name)

    def next_deadline(self) -> float | None:
        return min(self._deadlines.values(), default=None)

    def expired(self, now: float) -> list[TimerName]:
        """Timers whose deadline is at or before ``now``, earliest first."""
        due = [(at, name.value, name) for name, at in self._deadlines.items() if at <= now]
        return [name for _, _, name in sorted(due)]


def idle_hold_backoff(
    *,
    previous: float | None,
    last_down: float | None,
    now: float,
    base: float,
    cap: float,
    forget: float,
) -> float:
    """The IdleHold time for a restart at ``now`` (RFC 4271 §8.1.1 damping).

    Starts at ``base``; each restart within ``forget`` seconds of the previous one
    doubles it, up to ``cap``; a quiet period of ``forget`` seconds resets it.
    """
    if previous is None or last_down is None or now - last_down >= forget:
        return base
    return min(previous * 2, max(cap, base))

"""Clocks. The sans-IO core never reads time itself; edges pass ``now`` in.

``SystemClock`` is the monotonic clock used by ``runtime/``; ``ManualClock`` drives
tests and deterministic lab scenarios (advance it instead of sleeping).
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> float: ...


class SystemClock:
    """Monotonic seconds; only the runtime edge uses it."""

    def now(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            msg = "a clock cannot go backwards"
            raise ValueError(msg)
        self._now += seconds
        return self._now

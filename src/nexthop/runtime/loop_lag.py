"""Event-loop lag and turn lengths of a running asyncio loop (issue 10's 50 ms bound).

Two measures, both cheap enough to run always:

* **Lag**: a heartbeat callback armed every ``interval`` seconds with
  ``loop.call_at``; how late it runs is what any timer (a KEEPALIVE, a hold
  timer, an API request waiting for the loop) waits beyond its deadline. Kept
  as a cumulative histogram (Prometheus ``nexthop_event_loop_lag_seconds``).
* **Turns**: on a selector event loop (CPython's default) the selector is
  wrapped so that the time from one ``select()`` returning to the next one
  being entered is measured: one turn of the loop, every callback it ran. The
  longest turn of the last ``window`` seconds is a gauge
  (``nexthop_event_loop_longest_turn_seconds``) so a benchmark polling it sees
  the turns of the phase it measures, not of an earlier one; a turn over
  ``slow`` seconds is also logged (``event_loop_slow_turn``, with the loop
  thread's CPU time within it, ``cpu_seconds``: less than the turn when the
  process was not scheduled or waited for the GIL, and the seconds the cyclic
  garbage collector took, ``gc_seconds``). On a loop without
  a reachable selector the heartbeat's lateness stands in (a turn is at least
  as long as the lag it caused).

Monitors register themselves while running (``running_monitors``) so the API's
``/metrics`` can read them without the runtime handing them over.
"""

from __future__ import annotations

import asyncio
import bisect
import gc
import selectors
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

__all__ = [
    "LAG_BUCKETS",
    "LagSnapshot",
    "LoopLagMonitor",
    "running_monitors",
]

LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds of the lag histogram's buckets, seconds (``+Inf`` is implied)."""

_RUNNING: weakref.WeakSet[LoopLagMonitor] = weakref.WeakSet()


def running_monitors() -> list[LoopLagMonitor]:
    """The monitors started and not stopped in this process."""
    return list(_RUNNING)


@dataclass(frozen=True, slots=True, kw_only=True)
class LagSnapshot:
    """What a monitor has measured, for ``/metrics`` and benchmarks.

    ``buckets``: cumulative counts per ``LAG_BUCKETS`` bound (then ``+Inf`` =
    ``count``); ``longest_turn``: the longest turn within the last ``window``
    seconds; ``longest_turn_ever``/``max_lag``: since the monitor started;
    ``turns_measured``: False when turns are estimated from the lag."""

    buckets: tuple[int, ...]
    count: int
    total: float
    max_lag: float
    longest_turn: float
    longest_turn_ever: float
    slow_turns: int
    turns_measured: bool


class _WindowMax:
    """The maximum of values seen in the last ``slots`` whole seconds (one slot
    per second, O(1) per value)."""

    __slots__ = ("_maxima", "_seconds")

    def __init__(self, slots: int) -> None:
        self._seconds = [-1] * slots
        self._maxima = [0.0] * slots

    def add(self, now: float, value: float) -> None:
        second = int(now)
        i = second % len(self._seconds)
        if self._seconds[i] != second:
            self._seconds[i], self._maxima[i] = second, value
        elif value > self._maxima[i]:
            self._maxima[i] = value

    def value(self, now: float) -> float:
        oldest = int(now) - len(self._seconds) + 1
        return max(
            (m for s, m in zip(self._seconds, self._maxima, strict=True) if s >= oldest),
            default=0.0,
        )


class _TimedSelector(selectors.BaseSelector):
    """A selector that reports the time between one ``select`` returning and
    the next being entered (the turn just run) to ``on_turn``."""

    def __init__(
        self, inner: selectors.BaseSelector, on_turn: Callable[[float, float], None]
    ) -> None:
        self.inner = inner
        self._on_turn = on_turn
        self._turn_started: float | None = None
        self._cpu_started = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        started = self._turn_started
        if started is not None:
            self._on_turn(time.perf_counter() - started, time.thread_time() - self._cpu_started)
        try:
            return self.inner.select(timeout)
        finally:
            self._turn_started = time.perf_counter()
            self._cpu_started = time.thread_time()

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self.inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self.inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self.inner.modify(fileobj, events, data)

    def close(self) -> None:
        self.inner.close()

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self.inner.get_key(fileobj)

    def get_map(self) -> Any:
        return self.inner.get_map()


class LoopLagMonitor:
    """Measures ``loop``'s lag and turns; see the module docstring. ``start``
    and ``stop`` run on the loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        interval: float = 0.025,
        window: int = 10,
        slow: float = 0.05,
        name: str = "",
    ) -> None:
        self.loop = loop
        self.interval = interval
        self.slow = slow
        self.name = name
        self._counts = [0] * (len(LAG_BUCKETS) + 1)
        self._total = 0.0
        self._max_lag = 0.0
        self._longest_ever = 0.0
        self._slow_turns = 0
        self._window = _WindowMax(window)
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0
        self._selector: _TimedSelector | None = None
        self._gc_started = 0.0
        self._gc_seconds = 0.0  # within the current turn
        self.log = structlog.get_logger("nexthop.loop")

    @property
    def running(self) -> bool:
        return self._handle is not None

    def start(self) -> None:
        if self._handle is not None:
            return
        self._wrap_selector()
        self._due = self.loop.time() + self.interval
        self._handle = self.loop.call_at(self._due, self._beat)
        gc.callbacks.append(self._gc)
        _RUNNING.add(self)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        selector, self._selector = self._selector, None
        if selector is not None:
            inner = selector.inner
            if getattr(self.loop, "_selector", None) is selector:
                setattr(self.loop, "_selector", inner)  # noqa: B010 - a private slot
        if self._gc in gc.callbacks:
            gc.callbacks.remove(self._gc)
        _RUNNING.discard(self)

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self._gc_seconds += time.perf_counter() - self._gc_started

    def _wrap_selector(self) -> None:
        inner = getattr(self.loop, "_selector", None)
        if isinstance(inner, _TimedSelector):  # another monitor on the same loop
            return
        if isinstance(inner, selectors.BaseSelector):
            self._selector = _TimedSelector(inner, self._turn)
            setattr(self.loop, "_selector", self._selector)  # noqa: B010 - a private slot

    def _beat(self) -> None:
        now = self.loop.time()
        lag = max(0.0, now - self._due)
        self._counts[bisect.bisect_left(LAG_BUCKETS, lag)] += 1
        self._total += lag
        self._max_lag = max(self._max_lag, lag)
        if self._selector is None:
            self._turn(lag, -1.0)
        self._due = now + self.interval
        self._handle = self.loop.call_at(self._due, self._beat)

    def _turn(self, seconds: float, cpu: float) -> None:
        self._window.add(time.monotonic(), seconds)
        self._longest_ever = max(self._longest_ever, seconds)
        gc_seconds, self._gc_seconds = self._gc_seconds, 0.0
        if seconds > self.slow:
            self._slow_turns += 1
            self.log.warning(
                "event_loop_slow_turn",
                seconds=round(seconds, 4),
                cpu_seconds=round(cpu, 4),  # the loop thread's own; the rest it waited
                gc_seconds=round(gc_seconds, 4),
                loop=self.name,
            )

    def snapshot(self) -> LagSnapshot:
        cumulative: list[int] = []
        running = 0
        for count in self._counts[:-1]:
            running += count
            cumulative.append(running)
        return LagSnapshot(
            buckets=tuple(cumulative),
            count=running + self._counts[-1],
            total=self._total,
            max_lag=self._max_lag,
            longest_turn=self._window.value(time.monotonic()),
            longest_turn_ever=self._longest_ever,
            slow_turns=self._slow_turns,
            turns_measured=self._selector is not None,
        )

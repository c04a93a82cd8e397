"""Bounded work per event-loop turn (issue 10: no turn longer than 50 ms).

Work that can be large (a session's receive backlog, a route server's stepped
jobs: a full table to a new client, a peer's withdrawals) is not done in the
callback that caused it. It is handed to the loop's ``TurnScheduler`` as a
*step*: a callable that does at least one small unit of work, keeps going while
``clock() < deadline`` and returns True when it has more. One scheduler callback
per turn runs the queued steps round-robin within ``budget`` seconds and, if any
remain, asks for another turn with ``loop.call_soon``. Between two turns the loop
runs its timers (KEEPALIVE, hold timers, probes) and its I/O (the REST API), so
none of them waits longer than one turn.

There is one scheduler per loop (``for_loop``), so every session and route
server of a process shares the budget: eight NVAs sending at once get eight
slices of one turn, not eight turns' worth in one. The clock is injectable
(tests step it by hand).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable

import structlog

__all__ = ["TURN_BUDGET_S", "Step", "TurnScheduler"]

TURN_BUDGET_S = 0.01
"""Seconds of queued work one turn runs (plus the last unit started)."""

Step = Callable[[float], bool]
"""``step(deadline) -> more``: one unit at least, more while ``clock() < deadline``."""

_SCHEDULERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, TurnScheduler] = (
    weakref.WeakKeyDictionary()
)


class TurnScheduler:
    """Runs queued steps in bounded turns on ``loop``; see the module docstring."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        budget: float = TURN_BUDGET_S,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.loop = loop
        self.budget = budget
        self.clock = clock
        self._queue: dict[Step, None] = {}  # an ordered set: round-robin order
        self._handle: asyncio.Handle | None = None
        self.turns = 0  # scheduler turns run (for tests and benchmarks)
        self.log = structlog.get_logger("nexthop.loop")

    @classmethod
    def for_loop(cls, loop: asyncio.AbstractEventLoop) -> TurnScheduler:
        """The scheduler shared by everything on ``loop`` (made on first use)."""
        scheduler = _SCHEDULERS.get(loop)
        if scheduler is None:
            scheduler = _SCHEDULERS[loop] = cls(loop)
        return scheduler

    @property
    def pending(self) -> int:
        """Steps waiting for a turn."""
        return len(self._queue)

    def add(self, step: Step) -> None:
        """Run ``step`` in a coming turn (once, however often it is added)."""
        if step not in self._queue:
            self._queue[step] = None
        if self._handle is None and not self.loop.is_closed():
            self._handle = self.loop.call_soon(self._run)

    def discard(self, step: Step) -> None:
        """Forget ``step`` (its owner went away)."""
        self._queue.pop(step, None)

    def _run(self) -> None:
        self._handle = None
        self.turns += 1
        clock = self.clock
        deadline = clock() + self.budget
        queue = self._queue
        for step in list(queue):
            if clock() >= deadline:
                break
            if step not in queue:  # discarded by an earlier step of this turn
                continue
            del queue[step]
            try:
                more = step(deadline)
            except Exception:  # a step's bug must not stop every other step
                self.log.exception("turn_step_failed", step=repr(step))
                more = False
            if more and step not in queue:
                queue[step] = None  # to the back of the line
        if queue and self._handle is None and not self.loop.is_closed():
            self._handle = self.loop.call_soon(self._run)

"""Wall-clock timestamps for the views: the one place where a reading of the
clock the sans-IO core was given (``now``: monotonic seconds, or model seconds)
becomes ISO 8601 UTC text.

The core keeps monotonic ``now`` (it never reads a clock); an edge that shows a
time builds ``WallClock.at(reading)`` from the same clock's current reading and
renders each stored time ``t`` as the wall-clock instant ``reading - t`` seconds
ago.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["WallClock"]


@dataclass(frozen=True, slots=True)
class WallClock:
    """``reference`` (a reading of the core's clock) happened at ``wall`` (Unix seconds)."""

    reference: float
    wall: float

    @classmethod
    def at(cls, reference: float) -> WallClock:
        """The core's clock reads ``reference`` now."""
        return cls(reference, time.time())

    def iso(self, t: float | None) -> str | None:
        """``t`` on the core's clock as ISO 8601 UTC (millisecond precision, ``Z``)."""
        if t is None:
            return None
        moment = datetime.fromtimestamp(self.wall - (self.reference - t), tz=UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

"""Monotonic (or model) seconds -> ISO 8601 UTC, at the edge."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from nexthop.service.walltime import WallClock


def test_a_monotonic_reading_renders_near_the_wall_clock() -> None:
    now = time.monotonic()
    clock = WallClock.at(now)
    text = clock.iso(now - 90.0)
    assert text is not None
    assert text.endswith("Z")
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None
    assert abs(moment.timestamp() - (time.time() - 90.0)) < 5.0
    assert clock.iso(None) is None


def test_offsets_are_kept_exactly() -> None:
    clock = WallClock(reference=2509.33, wall=1_765_000_000.0)
    assert clock.iso(2509.33) == datetime.fromtimestamp(1_765_000_000.0, tz=UTC).isoformat(
        timespec="milliseconds"
    ).replace("+00:00", "Z")
    assert clock.iso(2499.33) == "2025-12-06T05:46:30.000Z"

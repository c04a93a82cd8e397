"""``run_demo``: the four acts in order, timed, with the cleanup evidence.

The result is one JSON-ready dict (``nexthop demo -o json`` prints it): the timer
profile, one entry per act (``nexthop.demo.acts``), every post-``down()`` connect
check, the asyncio tasks still alive at the end (none is expected) and the wall
time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nexthop.demo import acts
from nexthop.demo.examples import find_examples
from nexthop.lab import LAB_AZURE_LIKE, LAB_FAST, LabTimers

__all__ = ["ACTS", "OnAct", "describe_timers", "run_demo"]

OnAct = Callable[[str, dict[str, Any]], None]
"""Called with each act's name and facts as soon as the act is over."""

ACTS = (
    ("next_hop_ip", "next-hop-ip.yaml", acts.next_hop_ip),
    ("active_passive", "active-passive.yaml", acts.active_passive),
    ("active_active", "active-active.yaml", acts.active_active),
    ("cross_region", "cross-region.yaml", acts.cross_region),
)

FAST_TIMEOUT_S = 20.0
AZURE_TIMEOUT_S = 90.0


def describe_timers(timers: LabTimers) -> dict[str, Any]:
    world = timers.world
    return {
        "name": timers.name,
        "probe_interval_s": None if world is None else world.probe_interval,
        "probe_threshold": None if world is None else world.probe_threshold,
        "heartbeat_interval_s": None if world is None else world.heartbeat_interval,
        "heartbeat_dead_after": None if world is None else world.dead_after,
        "bgp_hold_time_s": timers.route_server.hold_time,
        "bgp_keepalive_s": timers.route_server.keepalive_time,
    }


async def _run(
    examples: Path, timers: LabTimers, step: acts.Step, on_act: OnAct | None
) -> dict[str, Any]:
    timeout = FAST_TIMEOUT_S if timers is LAB_FAST else AZURE_TIMEOUT_S
    cleanup: list[dict[str, Any]] = []
    report: dict[str, Any] = {
        "examples": str(examples),
        "timers": describe_timers(timers),
    }
    for name, file, act in ACTS:
        facts = await act(examples / file, timers, timeout, step, cleanup)
        report[name] = facts
        if on_act is not None:
            on_act(name, facts)
    report["cleanup"] = {
        "checked": cleanup,
        "listening": [c for c in cleanup if c["listening"]],
        "tasks_left": sorted(
            t.get_name() for t in asyncio.all_tasks() if t is not asyncio.current_task()
        ),
    }
    return report


def run_demo(
    examples: Path | None = None,
    *,
    azure_timers: bool = False,
    step: acts.Step | None = None,
    on_act: OnAct | None = None,
) -> dict[str, Any]:
    """Run the whole demo on a fresh event loop; every lab is down when it returns."""
    directory = find_examples(examples)
    timers = LAB_AZURE_LIKE if azure_timers else LAB_FAST
    started = time.monotonic()
    report = asyncio.run(_run(directory, timers, step or (lambda _: None), on_act))
    report["wall_time_s"] = time.monotonic() - started
    return report

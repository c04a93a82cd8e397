"""Failover measurement in the live lab (route-server-spec §1.8, NVA HA).

``measure_failover(lab)`` kills the active NVA and measures, on the loop's
monotonic clock, the time until NEW flows from a VM to a branch stop being lost:
the first batch of ``batch`` new flows (distinct source ports) that are all
delivered, none through the dead NVA. For an active-passive pair that is the
first flow through the standby; for active-active NVAs it is the moment the load
balancer stops hashing new flows onto the dead one. For a pair, that is the end of
this chain: the standby misses ``dead_after`` heartbeats
and becomes active (``nexthop.lb.ha``), its probe responder starts answering, the
load balancer sees ``threshold`` successful probes (and the failed NVA's probes
fail), and new flows hash onto the standby. The route server drops the dead NVA's
sessions as soon as the TCP connections reset.

Batches are traced every ``interval`` seconds through the lab's live-synced world.
Before the kill, ``existing_flows`` flows are opened; afterwards they are traced
again to count which moved: flows of the failed NVA (TCP ones stay pinned to it
while their entry lives, Azure's behaviour for a probed-down backend) and flows of
surviving NVAs (which should stay where they are).

This is a measurement, not a test: the time depends on the timers and on the host.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nexthop.lb import HaState

if TYPE_CHECKING:
    from nexthop.lab.lab import Lab

__all__ = ["FailoverResult", "measure_failover"]

FIRST_PROBE_PORT = 20000
FIRST_EXISTING_PORT = 50000


@dataclass(frozen=True, slots=True, kw_only=True)
class FailoverResult:
    """What ``measure_failover`` saw. ``failover_time`` is None when no flow got
    through another NVA within ``timeout``."""

    nva: str  # the NVA that was killed
    timers: str  # the lab's timer profile
    source: str
    destination: str
    before: str | None  # the NVA a new flow took before the kill
    after: str | None  # the (first) NVA carrying new flows once they all get through
    carriers: tuple[str, ...]  # every NVA that carried that batch
    failover_time: float | None  # seconds from the kill to that batch
    probes_sent: int  # flows traced after the kill
    probes_dropped: int  # of which lost (dropped, or sent to the dead NVA)
    existing_flows: int
    moved_from_failed: int  # existing flows of the killed NVA now delivered elsewhere
    stayed_on_failed: int  # existing flows still sent to the killed NVA
    moved_from_survivors: int  # existing flows of other NVAs that changed NVA
    timeline: tuple[tuple[float, str, str], ...]  # (seconds after the kill, event, subject)

    @property
    def moved_to_standby(self) -> bool:
        return self.after is not None and self.after != self.nva

    def to_dict(self) -> dict[str, object]:
        return {
            "nva": self.nva,
            "timers": self.timers,
            "source": self.source,
            "destination": self.destination,
            "before": self.before,
            "after": self.after,
            "carriers": list(self.carriers),
            "failover_time": self.failover_time,
            "probes_sent": self.probes_sent,
            "probes_dropped": self.probes_dropped,
            "existing_flows": self.existing_flows,
            "moved_from_failed": self.moved_from_failed,
            "stayed_on_failed": self.stayed_on_failed,
            "moved_from_survivors": self.moved_from_survivors,
            "timeline": [list(row) for row in self.timeline],
        }


def _default_nva(lab: Lab) -> str:
    active = [name for name, nva in lab.nvas.items() if nva.ha_state is HaState.ACTIVE]
    if active:
        return sorted(active)[0]
    if not lab.nvas:
        raise ValueError("the lab has no built-in NVA to kill")
    return sorted(lab.nvas)[0]


def _default_flow(lab: Lab, nva: str) -> tuple[str, str]:
    topo = lab.topology
    if not topo.vms:
        raise ValueError("the topology has no VM to send from")
    for branch in topo.branches:
        if nva in branch.behind_nvas and branch.prefixes:
            network = branch.prefixes[0]
            return topo.vms[0].name, str(network.network_address + 1)
    raise ValueError(f"no branch sits behind {nva!r}")


def _carrier(lab: Lab, source: str, destination: str, port: int) -> tuple[bool, str | None]:
    result = lab.trace(source, destination, src_port=port)
    return result.forward.delivered, result.forward.nva


async def measure_failover(
    lab: Lab,
    nva: str | None = None,
    *,
    source: str | None = None,
    destination: str | None = None,
    interval: float = 0.005,
    timeout: float = 60.0,
    existing_flows: int = 8,
    batch: int = 32,
) -> FailoverResult:
    """Kill ``nva`` (default: the HA-active one) and time the failover; the NVA
    stays failed (``lab.restore`` brings it back)."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    killed = nva or _default_nva(lab)
    default_source, default_destination = _default_flow(lab, killed)
    src = source or default_source
    dst = destination or default_destination
    ipaddress.IPv4Address(dst)
    loop = asyncio.get_running_loop()

    before = _carrier(lab, src, dst, FIRST_PROBE_PORT - 1)[1]
    opened = {
        FIRST_EXISTING_PORT + i: _carrier(lab, src, dst, FIRST_EXISTING_PORT + i)[1]
        for i in range(existing_flows)
    }
    world = lab.world
    first_event = len(world.events) if world is not None else 0

    start = loop.time()
    await lab.fail(killed)
    sent = dropped = 0
    carriers: list[str] = []
    elapsed: float | None = None
    port = FIRST_PROBE_PORT
    while loop.time() - start < timeout:
        results = []
        for _ in range(batch):
            results.append(_carrier(lab, src, dst, port))
            port = FIRST_PROBE_PORT if port >= FIRST_EXISTING_PORT - 1 else port + 1
        now = loop.time()
        sent += len(results)
        lost = [r for r in results if not r[0] or r[1] is None or r[1] == killed]
        dropped += len(lost)
        if not lost:
            carriers = sorted({str(r[1]) for r in results})
            elapsed = now - start
            break
        await asyncio.sleep(interval)

    moved_failed = stayed = moved_survivors = 0
    for port_no, was in opened.items():
        delivered, carrier = _carrier(lab, src, dst, port_no)
        if was == killed:
            if carrier == killed:
                stayed += 1
            elif delivered:
                moved_failed += 1
        elif carrier != was:
            moved_survivors += 1

    timeline: list[tuple[float, str, str]] = []
    if lab.world is not None:
        for event in lab.world.events[first_event:]:
            timeline.append((round(event.at - start, 6), event.kind, event.subject))
    return FailoverResult(
        nva=killed,
        timers=lab.timers.name,
        source=src,
        destination=dst,
        before=before,
        after=carriers[0] if carriers else None,
        carriers=tuple(carriers),
        failover_time=elapsed,
        probes_sent=sent,
        probes_dropped=dropped,
        existing_flows=existing_flows,
        moved_from_failed=moved_failed,
        stayed_on_failed=stayed,
        moved_from_survivors=moved_survivors,
        timeline=tuple(timeline),
    )

"""The lab's timer profiles: probes and heartbeats, and both ends' BGP timers.

Probe and heartbeat values are ``nexthop.world.model.TimerProfile``s, the ones the
model uses (None keeps the topology's values); BGP timers follow RFC 4271 §10
(Azure Route Server: hold 180 s, keepalive 60 s).
"""

from __future__ import annotations

from dataclasses import dataclass

from nexthop.lab.nva import NvaTimers
from nexthop.runtime.route_server_host import HostTimers
from nexthop.world.model import AZURE_LIKE, FAST, TimerProfile

__all__ = ["LAB_AZURE_LIKE", "LAB_FAST", "LAB_TOPOLOGY", "LabTimers"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LabTimers:
    """Every timer the lab runs: probes and heartbeats (``world``; None keeps the
    topology's values), the route server's BGP timers and the NVAs'."""

    name: str
    world: TimerProfile | None
    route_server: HostTimers
    nva: NvaTimers


LAB_FAST = LabTimers(
    name="fast",
    world=FAST,
    route_server=HostTimers(hold_time=3, keepalive_time=1),
    nva=NvaTimers(hold_time=3, keepalive_time=1, connect_retry=0.2, idle_hold=0.1),
)
LAB_AZURE_LIKE = LabTimers(
    name="azure-like",
    world=AZURE_LIKE,
    route_server=HostTimers(),
    nva=NvaTimers(connect_retry=1.0, idle_hold=0.5),
)
LAB_TOPOLOGY = LabTimers(
    name="topology",
    world=None,
    route_server=HostTimers(),
    nva=NvaTimers(connect_retry=1.0, idle_hold=0.5),
)

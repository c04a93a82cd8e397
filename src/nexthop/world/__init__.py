"""The world model: a whole topology wired together, and flow traces through it.

Sans-IO like the rest of the core: ``now`` is passed in, nothing reads a clock.

* ``build.World.from_topology(topology, now, options)``: the fabric, route servers,
  load balancers, NVAs, VMs and branches of a validated ``nexthop.config.Topology``.
* ``bgp_model``: the UPDATEs each NVA sends its route server (through its route-maps)
  and receives back, and the route server's routes programmed into the fabric.
* ``liveness``: HA heartbeats, load balancer probes and BGP hold timers on one clock.
* ``trace.trace(world, source, destination_ip, ...)``: every hop of a flow and its
  reply, with the rule that decided it and a symmetric/asymmetric verdict.
* ``traffic``: many flows, per-NVA distribution, failures, symmetry counts.
* ``failover``: active/passive failover timed on a ``ManualClock``.
"""

from __future__ import annotations

from nexthop.world.build import World
from nexthop.world.failover import FailoverResult, failover_window, measure_failover, standby_of
from nexthop.world.hops import DropCause, Hop, HopKind, Leg, Symmetry, Trace
from nexthop.world.model import (
    AZURE_LIKE,
    FAST,
    BranchNode,
    LbNode,
    LearnedRoute,
    NvaNode,
    ReturnPath,
    RsNode,
    TimerProfile,
    VmNode,
    WorldError,
    WorldEvent,
    WorldOptions,
)
from nexthop.world.trace import trace
from nexthop.world.traffic import (
    FlowResult,
    FlowSpec,
    TrafficReport,
    generate_flows,
    run_traffic,
)

__all__ = [
    "AZURE_LIKE",
    "FAST",
    "BranchNode",
    "DropCause",
    "FailoverResult",
    "FlowResult",
    "FlowSpec",
    "Hop",
    "HopKind",
    "LbNode",
    "LearnedRoute",
    "Leg",
    "NvaNode",
    "ReturnPath",
    "RsNode",
    "Symmetry",
    "TimerProfile",
    "Trace",
    "TrafficReport",
    "VmNode",
    "World",
    "WorldError",
    "WorldEvent",
    "WorldOptions",
    "failover_window",
    "generate_flows",
    "measure_failover",
    "run_traffic",
    "standby_of",
    "trace",
]

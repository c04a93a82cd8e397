"""The world model's nodes and options: NVAs, VMs, branches, route servers, load balancers.

A ``World`` (``nexthop.world.build``) holds one of each node per topology resource.
Nodes are plain mutable records: the world changes them when NVAs fail or recover,
when BGP UPDATEs arrive (``bgp_model``) and when timers fire (``liveness``). The
sans-IO engines they wrap (``RouteServer``, ``LoadBalancerEngine``, ``HaNode``) keep
their own state; nothing here reads a clock.

Modelling choices (each documented where it is used):

* ``ReturnPath.VIA_LB``: traffic from a branch enters Azure through the load
  balancer whose pool holds the branch's NVAs, so both directions of a flow cross
  the same ILB (route-server-spec §3 "Flow symmetry"); ``BRANCH_ECMP``: the branch
  router hashes the reverse 5-tuple over the live NVAs that front it, independently
  of the ILB (the spec §1.8 "may result in asymmetric routing" case).
* ``TimerProfile`` overrides every probe and heartbeat timer at build time (what-if
  runs with Azure-like or sub-second timers); without it the topology's values apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from nexthop.bfd import BfdStatus
from nexthop.lb import HaNode, LoadBalancerEngine
from nexthop.net.prefix import Prefix
from nexthop.nva import FrrConfig
from nexthop.routeserver import RouteServer

__all__ = [
    "AZURE_LIKE",
    "DEFAULT_HOLD_TIME",
    "FAST",
    "BranchNode",
    "LbNode",
    "LearnedRoute",
    "LiveNva",
    "NvaNode",
    "ReturnPath",
    "RsNode",
    "Session",
    "TimerProfile",
    "VmNode",
    "WorldError",
    "WorldEvent",
    "WorldOptions",
]

DEFAULT_HOLD_TIME = 180.0
"""Azure Route Server hold time (route-server-spec §1.2): how long the route server
keeps a silent NVA's routes before its session drops."""


class WorldError(ValueError):
    """The topology refers to something the world cannot build, or a name is unknown."""


class ReturnPath(StrEnum):
    """How traffic from a branch picks the NVA that carries it back into Azure."""

    VIA_LB = "via_lb"
    BRANCH_ECMP = "branch_ecmp"


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerProfile:
    """Probe and heartbeat timers applied to every load balancer and HA pair."""

    name: str
    probe_interval: float
    probe_threshold: int
    heartbeat_interval: float
    dead_after: int

    @property
    def dead_interval(self) -> float:
        return self.heartbeat_interval * self.dead_after


AZURE_LIKE = TimerProfile(
    name="azure-like",
    probe_interval=5.0,  # the portal default and API minimum (route-server-spec §3)
    probe_threshold=2,
    heartbeat_interval=5.0,  # nexthop.lb.ha's Azure-like cadence: 5 s x 3
    dead_after=3,
)
FAST = TimerProfile(
    name="fast",
    probe_interval=0.1,  # needs fast_probes: below Azure's 5 s minimum
    probe_threshold=2,
    heartbeat_interval=0.1,
    dead_after=3,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class WorldOptions:
    """Knobs of the model that the topology file does not describe."""

    symmetric_hash: bool = True
    return_path: ReturnPath = ReturnPath.VIA_LB
    timers: TimerProfile | None = None
    hop_limit: int = 16
    hold_time: float = DEFAULT_HOLD_TIME

    def __post_init__(self) -> None:
        if self.hop_limit < 1:
            raise WorldError(f"WorldOptions.hop_limit: must be >= 1 (got {self.hop_limit})")
        if self.hold_time < 0:
            raise WorldError(f"WorldOptions.hold_time: must not be negative (got {self.hold_time})")


@dataclass(frozen=True, slots=True, kw_only=True)
class WorldEvent:
    """Something that happened in the model at ``at`` (HA elections, probe verdicts,
    BGP sessions), kept in ``World.events`` for reports and failover timing."""

    at: float
    kind: str
    subject: str
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class LearnedRoute:
    """A route an NVA accepted from a route server instance (after its inbound
    route-map), in the NVA's own BGP table."""

    prefix: Prefix
    next_hop: int
    as_path: tuple[int, ...]
    route_server: str
    instance: str
    route_map: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """One BGP session between an NVA neighbor statement and a route server instance."""

    nva: str
    route_server: str
    instance: str
    instance_ip: int
    peering: str


class LiveNva(Protocol):
    """A running NVA as its World node reads it (the lab's built-in NVA, or an
    external one seen through the route server): never copied into the node."""

    @property
    def running(self) -> bool: ...

    def established_sessions(self) -> set[tuple[str, str]]:
        """(route server, instance) pairs whose session is Established now."""
        ...

    def best_route(self, address: int) -> LearnedRoute | None:
        """The NVA's own BGP route for ``address`` now, if it has one."""
        ...


@dataclass(slots=True, kw_only=True)
class NvaNode:
    name: str
    ip: int
    nic: str
    vnet: str
    subnet: str
    config: FrrConfig | None
    asn: int | None
    role: str
    ha: HaNode | None
    ha_peer: str | None
    branch_prefixes: tuple[Prefix, ...]
    branches: tuple[str, ...]
    probe_protocol: str | None
    probe_port: int | None
    probe_path: str | None
    probe_when_active: bool
    up: bool = True
    sessions: tuple[Session, ...] = ()
    established: set[tuple[str, str]] = field(default_factory=set)
    learned: dict[tuple[str, str, Prefix], LearnedRoute] = field(default_factory=dict)
    rejected: dict[tuple[str, str, Prefix], str] = field(default_factory=dict)
    # The running NVA in a live World: read for ``running``/``established_now``
    # and routes; ``up``/``established``/``learned`` are then the model's, unused.
    live: LiveNva | None = None

    @property
    def running(self) -> bool:
        """Whether the NVA runs: the live NVA's word, else the model's ``up``."""
        return self.live.running if self.live is not None else self.up

    @property
    def established_now(self) -> set[tuple[str, str]]:
        """(route server, instance) pairs Established now (live or modelled)."""
        return self.live.established_sessions() if self.live is not None else self.established

    @property
    def answers_probe(self) -> bool:
        """Whether the probe responder answers: up, and active when it must be."""
        if not self.running or self.probe_port is None:
            return False
        return not self.probe_when_active or self.active

    @property
    def active(self) -> bool:
        """The HA election's verdict, or the configured role without a pair."""
        if self.ha is not None:
            return self.ha.answers_probe
        return self.role != "standby"

    @property
    def serving(self) -> bool:
        """Whether the NVA takes traffic from its branches: up, and the active one
        of an HA pair (a standby neither answers the probe nor attracts branch traffic)."""
        return self.running and self.active


@dataclass(frozen=True, slots=True, kw_only=True)
class VmNode:
    name: str
    ip: int
    nic: str
    vnet: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BranchNode:
    name: str
    prefixes: tuple[Prefix, ...]
    nvas: tuple[str, ...]
    gateway: str | None


class LiveBfd(Protocol):
    """The BFD sessions of a running route server (the runtime's host), read by
    views and never copied into the node."""

    def bfd_status(self, instance: str, peering: str) -> BfdStatus | None: ...


@dataclass(slots=True, kw_only=True)
class RsNode:
    name: str
    vnet: str
    region: str
    server: RouteServer
    instance_ips: dict[str, int]
    bfd: LiveBfd | None = None  # a live World's host; the model runs no BFD


@dataclass(slots=True, kw_only=True)
class LbNode:
    name: str
    engine: LoadBalancerEngine
    frontend: str
    frontend_ip: int
    vnet: str
    region: str
    members: tuple[str, ...]

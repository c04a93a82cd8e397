"""Internal L4 load balancer (Azure Standard ILB semantics), sans-IO.

``model`` (configuration), ``hashing`` (flow hash, Maglev), ``health`` (probe
tracking), ``flows`` (connection tracking), ``selector`` (backend choice), ``ha``
(active-passive heartbeat pair) and ``service_lb`` (the engine tying them together).
See route-server-spec §3 and load-balancing-notes.
"""

from __future__ import annotations

from nexthop.lb.flows import FlowEntry, FlowExpired, FlowKey, FlowTable, keep_pinned
from nexthop.lb.ha import (
    BecameActive,
    BecameStandby,
    HaConfig,
    HaNode,
    HaState,
    HeartbeatReceived,
    PeerFailed,
    SendHeartbeat,
    TimerExpired,
)
from nexthop.lb.hashing import FlowHash, MaglevMap, flow_hash, maglev_table
from nexthop.lb.health import (
    BackendMarkedDown,
    BackendMarkedUp,
    BackendStatus,
    FailureKind,
    HealthState,
    ProbeOutcome,
    ProbeTask,
    ProbeTracker,
    ReasonCode,
)
from nexthop.lb.model import (
    AdminState,
    Backend,
    BackendPool,
    DistributionMode,
    Flow,
    Frontend,
    IpProtocol,
    LoadBalancer,
    LoadBalancingRule,
    NoHealthyBackendsBehavior,
    Probe,
    ProbeProtocol,
    RuleProtocol,
)
from nexthop.lb.selector import Chosen, Dropped, DropReason, SelectReason, choose
from nexthop.lb.service_lb import Decision, FlowState, Forwarded, LoadBalancerEngine

__all__ = [
    "AdminState",
    "Backend",
    "BackendMarkedDown",
    "BackendMarkedUp",
    "BackendPool",
    "BackendStatus",
    "BecameActive",
    "BecameStandby",
    "Chosen",
    "Decision",
    "DistributionMode",
    "DropReason",
    "Dropped",
    "FailureKind",
    "Flow",
    "FlowEntry",
    "FlowExpired",
    "FlowHash",
    "FlowKey",
    "FlowState",
    "FlowTable",
    "Forwarded",
    "Frontend",
    "HaConfig",
    "HaNode",
    "HaState",
    "HealthState",
    "HeartbeatReceived",
    "IpProtocol",
    "LoadBalancer",
    "LoadBalancerEngine",
    "LoadBalancingRule",
    "MaglevMap",
    "NoHealthyBackendsBehavior",
    "PeerFailed",
    "Probe",
    "ProbeOutcome",
    "ProbeProtocol",
    "ProbeTask",
    "ProbeTracker",
    "ReasonCode",
    "RuleProtocol",
    "SelectReason",
    "SendHeartbeat",
    "TimerExpired",
    "choose",
    "flow_hash",
    "keep_pinned",
    "maglev_table",
]

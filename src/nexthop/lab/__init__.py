"""The live lab: a whole topology on loopback in one process (``nexthop lab up``).

``addresses`` maps topology addresses to loopback stand-ins, ``nva`` is the
built-in NVA (BGP speaker, probe responder, HA heartbeat), ``lab`` orchestrates
route servers, NVAs, load balancers and the model world, and ``failover``
measures active-passive failover; ``frr`` renders an NVA's FRR configuration for
running a real ``bgpd`` as an external NVA. See docs/lab.md.
"""

from __future__ import annotations

from nexthop.lab.failover import FailoverResult, measure_failover
from nexthop.lab.frr import bgpd_command, lab_frr_config
from nexthop.lab.lab import (
    AZURE_PROBE_SOURCE,
    LAB_AZURE_LIKE,
    LAB_FAST,
    LAB_TOPOLOGY,
    Lab,
    LabError,
    LabTimers,
)
from nexthop.lab.nva import DEFAULT_HEARTBEAT_PORT, BuiltinNva, NvaTimers
from nexthop.runtime.addresses import (
    DEFAULT_BGP_PORT,
    DEFAULT_LOW_PORT_OFFSET,
    AddressMap,
    AddressMapError,
)

__all__ = [
    "AZURE_PROBE_SOURCE",
    "DEFAULT_BGP_PORT",
    "DEFAULT_HEARTBEAT_PORT",
    "DEFAULT_LOW_PORT_OFFSET",
    "LAB_AZURE_LIKE",
    "LAB_FAST",
    "LAB_TOPOLOGY",
    "AddressMap",
    "AddressMapError",
    "BuiltinNva",
    "FailoverResult",
    "Lab",
    "LabError",
    "LabTimers",
    "NvaTimers",
    "bgpd_command",
    "lab_frr_config",
    "measure_failover",
]

"""The user-facing topology file: schema, cross-resource checks and the loader.

``load_topology(path)`` returns a ``LoadedTopology`` (the validated ``Topology``,
able to position a field path in the file) or raises ``TopologyError`` whose problems read
``file:line:column: field.path: message``. The format is documented in
docs/topology.md.
"""

from __future__ import annotations

from nexthop.config.checks import check_topology
from nexthop.config.issues import Issue, TopologyInvalid, format_path
from nexthop.config.load import (
    LoadedTopology,
    Problem,
    TopologyError,
    load_topology,
    load_topology_text,
)
from nexthop.config.schema import Topology
from nexthop.config.types import (
    RESERVED_ASNS,
    ROUTE_SERVER_ASN,
    is_reserved_asn,
    route_server_instance_ips,
    to_prefix,
)

__all__ = [
    "RESERVED_ASNS",
    "ROUTE_SERVER_ASN",
    "Issue",
    "LoadedTopology",
    "Problem",
    "Topology",
    "TopologyError",
    "TopologyInvalid",
    "check_topology",
    "format_path",
    "is_reserved_asn",
    "load_topology",
    "load_topology_text",
    "route_server_instance_ips",
    "to_prefix",
]

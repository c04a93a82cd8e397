"""An Azure Route Server equivalent with next hop IP support, sans-IO.

See ``server.RouteServer`` for the public API and the route-server-spec
sections it follows; ``rules`` holds the Azure-specific route handling.
"""

from __future__ import annotations

from nexthop.routeserver.config import (
    AZURE_ASN,
    RESERVED_ASNS,
    ConfigError,
    HubRoutingPreference,
    PeeringConfig,
    RouteServerConfig,
)
from nexthop.routeserver.inbound import max_prefix_notification
from nexthop.routeserver.instance import RouteServerInstance
from nexthop.routeserver.outputs import (
    Output,
    RefreshDue,
    RoutesChanged,
    RouteServerWarning,
    SendRouteRefresh,
    SendUpdate,
    TeardownPeering,
    Warning,  # noqa: A004 - the contract's name for the output
)
from nexthop.routeserver.rules import GatewayKind, GatewayRoute, SourceKind
from nexthop.routeserver.server import IN_0, IN_1, INSTANCE_ROLES, RouteServer
from nexthop.routeserver.views import PeeringState, PeeringStatus

__all__ = [
    "AZURE_ASN",
    "INSTANCE_ROLES",
    "IN_0",
    "IN_1",
    "RESERVED_ASNS",
    "ConfigError",
    "GatewayKind",
    "GatewayRoute",
    "HubRoutingPreference",
    "Output",
    "PeeringConfig",
    "PeeringState",
    "PeeringStatus",
    "RefreshDue",
    "RouteServer",
    "RouteServerConfig",
    "RouteServerInstance",
    "RouteServerWarning",
    "RoutesChanged",
    "SendRouteRefresh",
    "SendUpdate",
    "SourceKind",
    "TeardownPeering",
    "Warning",
    "max_prefix_notification",
]

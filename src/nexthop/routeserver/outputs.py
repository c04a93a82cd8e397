"""What the route server asks its caller to do (frozen, keyword-only, slotted).

The route server core never touches a ``Session``: callers feed it session facts
(established, down, UPDATE received) and carry these outputs out, e.g. pass
``SendUpdate.update`` to ``Session.send_update`` and ``TeardownPeering`` to
``Session.stop``.
"""

from __future__ import annotations

from dataclasses import dataclass

from nexthop.bgp.wire.messages import Notification, Update
from nexthop.net.prefix import Prefix

__all__ = [
    "Output",
    "RefreshDue",
    "RouteServerWarning",
    "RoutesChanged",
    "SendRouteRefresh",
    "SendUpdate",
    "TeardownPeering",
    "Warning",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class SendUpdate:
    """Send ``update`` to ``peering`` on ``instance`` (a role name)."""

    instance: str
    peering: str
    update: Update


@dataclass(frozen=True, slots=True, kw_only=True)
class SendRouteRefresh:
    """Ask the peer to resend its routes (RFC 2918), or, with ``subtype`` 1/2,
    mark the beginning/end of our answer to its request (BoRR/EoRR, RFC 7313 §4)."""

    instance: str
    peering: str
    afi: int
    safi: int
    subtype: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class TeardownPeering:
    """Close the session with ``notification``; do not accept or start a new one
    for ``idle_hold`` seconds."""

    instance: str
    peering: str
    notification: Notification
    reason: str
    idle_hold: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutesChanged:
    """The routes programmed into the VNet changed for these prefixes; read
    ``RouteServer.vnet_routes()`` for the new state."""

    prefixes: tuple[Prefix, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteServerWarning:
    """Something an operator should know; ``peering``/``instance`` may be empty."""

    message: str
    instance: str = ""
    peering: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RefreshDue:
    """Call ``RouteServer.refresh_due(instance, peering, now)`` at ``at``: a
    ROUTE-REFRESH that came too soon after the last one waits until then."""

    instance: str
    peering: str
    at: float


Warning = RouteServerWarning  # noqa: A001 - the brief's name; importers should prefer the long one

Output = (
    SendUpdate
    | SendRouteRefresh
    | TeardownPeering
    | RoutesChanged
    | RouteServerWarning
    | RefreshDue
)

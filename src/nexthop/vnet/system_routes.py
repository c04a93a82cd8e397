"""Azure's default (system) routes for the subnets of a virtual network.

route-server-spec §2, "Default system routes per subnet" (source UDR):

* each VNet address space -> ``VnetLocal`` (one route per address range, not per
  subnet);
* 0.0.0.0/0 -> ``Internet``;
* 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 and 100.64.0.0/10 -> ``None`` (drop),
  except that a reserved range the VNet uses "becomes VnetLocal" and one the VNet
  includes but is not equal to "is removed". Both cases mean: no ``None`` route for
  a reserved range that lies inside (equal to or more specific than) one of the
  VNet's address spaces; the address-space route already covers it. A VNet range
  inside a reserved range (10.1.0.0/16 in 10.0.0.0/8) keeps the ``None`` route,
  and longest prefix match sends the VNet's own range to ``VnetLocal``;
* optional: every address space of a peered VNet -> ``VNetPeering`` (all subnets).

IPv6: a VNet with an IPv6 address space also gets ::/0 -> ``Internet``, as dual-stack
Azure VNets show [derived: the spec lists only 0.0.0.0/0].
"""

from __future__ import annotations

from collections.abc import Iterable

from nexthop.net.prefix import Afi, Prefix, parse_prefix
from nexthop.vnet.model import (
    EffectiveRoute,
    NextHopType,
    RouteSource,
    RouteState,
    VirtualNetwork,
)

__all__ = ["DEFAULT_ROUTES", "RESERVED_RANGES", "system_routes"]

RESERVED_RANGES: tuple[Prefix, ...] = tuple(
    parse_prefix(text)
    for text in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
DEFAULT_ROUTES: dict[int, Prefix] = {
    Afi.IPV4: parse_prefix("0.0.0.0/0"),
    Afi.IPV6: parse_prefix("::/0"),
}


def _system(prefix: Prefix, next_hop_type: NextHopType) -> EffectiveRoute:
    return EffectiveRoute(
        prefix=prefix,
        source=RouteSource.DEFAULT,
        state=RouteState.ACTIVE,
        next_hop_type=next_hop_type,
    )


def system_routes(
    vnet: VirtualNetwork, peered_vnets: Iterable[VirtualNetwork] = ()
) -> list[EffectiveRoute]:
    """The default routes of every subnet of ``vnet``, all ``Active``.

    ``peered_vnets`` are the VNets with a connected peering to ``vnet``. Whether a
    route is later overridden is decided in ``nexthop.vnet.effective``.
    """
    spaces = vnet.address_spaces
    routes = [_system(space, NextHopType.VNET_LOCAL) for space in spaces]
    routes.extend(
        _system(space, NextHopType.VNET_PEERING)
        for peer in peered_vnets
        for space in peer.address_spaces
    )
    routes.append(_system(DEFAULT_ROUTES[Afi.IPV4], NextHopType.INTERNET))
    routes.extend(
        _system(reserved, NextHopType.NONE)
        for reserved in RESERVED_RANGES
        if not any(space.contains(reserved) for space in spaces)
    )
    if any(space.afi == Afi.IPV6 for space in spaces):
        routes.append(_system(DEFAULT_ROUTES[Afi.IPV6], NextHopType.INTERNET))
    return routes

"""Translation of the topology file's resources into the core packages' objects.

``nexthop.config`` (pydantic, snake_case enums) describes resources the way a user
writes them; ``nexthop.vnet``, ``nexthop.lb`` and ``nexthop.routeserver`` take their
own frozen dataclasses. This module maps one onto the other:

* ``build_fabric``: regions, VNets, route tables (each in the region of the VNet that
  uses it), subnets, and each topology peering as the two Azure peering links: the
  local side may use the remote gateway, the remote side allows gateway transit
  (route-server-spec §1.1, §1.6);
* ``spoke_spaces``: the address spaces a route server advertises for spokes that use
  its gateway;
* ``load_balancer_model``: frontend, pool (member NIC addresses), probes and rules of
  an internal Standard load balancer (spec §3), with ``WorldOptions`` overrides for
  the probe timers and the symmetric hash.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from nexthop.config import Topology, to_prefix
from nexthop.config.schema import LoadBalancer as LbConfig
from nexthop.config.types import (
    Distribution,
    LbProtocol,
    NextHopType,
    ProbeProtocol,
)
from nexthop.config.types import HubRoutingPreference as CfgPreference
from nexthop.config.types import NoHealthyBackendsBehavior as CfgBehavior
from nexthop.lb import (
    Backend,
    BackendPool,
    DistributionMode,
    Frontend,
    LoadBalancer,
    LoadBalancingRule,
    NoHealthyBackendsBehavior,
    Probe,
    RuleProtocol,
)
from nexthop.lb import ProbeProtocol as LbProbeProtocol
from nexthop.net.prefix import Prefix
from nexthop.routeserver import HubRoutingPreference
from nexthop.vnet import Fabric, Region, Route, RouteTable, Subnet, VirtualNetwork, VnetPeering
from nexthop.vnet import NextHopType as VnetNextHopType
from nexthop.world.model import WorldError, WorldOptions

__all__ = [
    "PREFERENCES",
    "build_fabric",
    "load_balancer_model",
    "require_vnet",
    "spoke_spaces",
]


def require_vnet(topo: Topology, name: str, owner: str) -> None:
    if topo.vnet(name) is None:
        raise WorldError(f"{owner}: unknown virtual network {name!r}")


def _member(lb: str, member_ips: Mapping[str, int], member: str) -> int:
    address = member_ips.get(member)
    if address is None:
        raise WorldError(f"load balancer {lb!r}: unknown backend pool member {member!r}")
    return address


_NEXT_HOP_TYPES = {
    NextHopType.VIRTUAL_APPLIANCE: VnetNextHopType.VIRTUAL_APPLIANCE,
    NextHopType.VIRTUAL_NETWORK_GATEWAY: VnetNextHopType.VIRTUAL_NETWORK_GATEWAY,
    NextHopType.VNET_LOCAL: VnetNextHopType.VNET_LOCAL,
    NextHopType.INTERNET: VnetNextHopType.INTERNET,
    NextHopType.NONE: VnetNextHopType.NONE,
}
PREFERENCES = {
    CfgPreference.EXPRESSROUTE: HubRoutingPreference.EXPRESS_ROUTE,
    CfgPreference.VPN_GATEWAY: HubRoutingPreference.VPN_GATEWAY,
    CfgPreference.AS_PATH: HubRoutingPreference.AS_PATH,
}
_PROBE_PROTOCOLS = {
    ProbeProtocol.TCP: LbProbeProtocol.TCP,
    ProbeProtocol.HTTP: LbProbeProtocol.HTTP,
    ProbeProtocol.HTTPS: LbProbeProtocol.HTTPS,
}
_RULE_PROTOCOLS = {
    LbProtocol.ALL: RuleProtocol.ALL,
    LbProtocol.TCP: RuleProtocol.TCP,
    LbProtocol.UDP: RuleProtocol.UDP,
}
_DISTRIBUTIONS = {
    Distribution.DEFAULT: DistributionMode.DEFAULT,
    Distribution.SOURCE_IP: DistributionMode.SOURCE_IP,
    Distribution.SOURCE_IP_PROTOCOL: DistributionMode.SOURCE_IP_PROTOCOL,
}
_BEHAVIORS = {
    CfgBehavior.ALL_PROBED_DOWN: NoHealthyBackendsBehavior.ALL_PROBED_DOWN,
    CfgBehavior.ALL_PROBED_UP: NoHealthyBackendsBehavior.ALL_PROBED_UP,
}


def build_fabric(topo: Topology) -> Fabric:
    """Regions, VNets, route tables, subnets and both directions of each peering.

    Unknown references (a subnet's route table, a peering's VNets) are the
    ``Fabric``'s to reject; it raises ``ValueError`` naming them."""
    fabric = Fabric()
    regions = dict.fromkeys([topo.region, *(topo.region_of(v.name) for v in topo.vnets)])
    for region in regions:
        fabric.add_region(Region(name=region))
    for vnet in topo.vnets:
        fabric.add_vnet(
            VirtualNetwork(
                name=vnet.name,
                region=topo.region_of(vnet.name),
                address_spaces=tuple(to_prefix(p) for p in vnet.address_space),
            )
        )
    table_region: dict[str, str] = {}
    for vnet in topo.vnets:
        for subnet in vnet.subnets:
            if subnet.route_table is not None:
                table_region.setdefault(subnet.route_table, topo.region_of(vnet.name))
    for table in topo.route_tables:
        fabric.add_route_table(
            RouteTable(
                name=table.name,
                region=table_region.get(table.name, topo.region),
                disable_bgp_route_propagation=table.disable_bgp_route_propagation,
                routes=tuple(
                    Route(
                        name=r.name,
                        address_prefix=to_prefix(r.prefix),
                        next_hop_type=_NEXT_HOP_TYPES[r.next_hop_type],
                        next_hop_ip=None if r.next_hop_ip is None else int(r.next_hop_ip),
                    )
                    for r in table.routes
                ),
            )
        )
    for vnet in topo.vnets:
        for subnet in vnet.subnets:
            fabric.add_subnet(
                Subnet(
                    vnet=vnet.name,
                    name=subnet.name,
                    prefix=to_prefix(subnet.prefix),
                    route_table=subnet.route_table,
                )
            )
    for peering in topo.peerings:
        fabric.add_peering(
            VnetPeering(
                local=peering.local_vnet,
                remote=peering.remote_vnet,
                use_remote_gateways=peering.use_remote_gateways,
            )
        )
        fabric.add_peering(
            VnetPeering(
                local=peering.remote_vnet,
                remote=peering.local_vnet,
                allow_gateway_transit=peering.allow_gateway_transit,
            )
        )
    return fabric


def spoke_spaces(topo: Topology, hub: str) -> tuple[Prefix, ...]:
    """Address spaces of VNets that use ``hub``'s gateway/route server (spec §1.6)."""
    spaces: list[Prefix] = []
    for peering in topo.peerings:
        if peering.remote_vnet == hub and peering.use_remote_gateways:
            spoke = topo.vnet(peering.local_vnet)
            if spoke is not None:
                spaces += [to_prefix(p) for p in spoke.address_space]
    return tuple(spaces)


def load_balancer_model(
    topo: Topology, lb: LbConfig, member_ips: Mapping[str, int], options: WorldOptions
) -> LoadBalancer:
    """The core ``LoadBalancer`` for a topology load balancer (spec §3)."""
    timers = options.timers
    fe = lb.frontend
    subnet = topo.subnet(fe.vnet, fe.subnet)
    if subnet is None:
        raise WorldError(f"load balancer {lb.name!r}: unknown subnet {fe.vnet}/{fe.subnet}")
    pool = BackendPool(
        name=lb.backend_pool.name,
        backends=tuple(
            Backend(name=m, ip=ipaddress.IPv4Address(_member(lb.name, member_ips, m)))
            for m in lb.backend_pool.members
        ),
    )
    probes = tuple(
        Probe(
            name=p.name,
            protocol=_PROBE_PROTOCOLS[p.protocol],
            port=p.port,
            path=p.path,
            interval=timers.probe_interval if timers else float(p.interval_s),
            probe_threshold=timers.probe_threshold if timers else p.threshold,
            fast_probes=lb.fast_probes or timers is not None,
            no_healthy_backends_behavior=_BEHAVIORS[lb.no_healthy_backends_behavior],
        )
        for p in lb.probes
    )
    rules = tuple(
        LoadBalancingRule(
            name=r.name,
            frontend=fe.name,
            pool=pool.name,
            probe=r.probe,
            protocol=_RULE_PROTOCOLS[r.protocol],
            frontend_port=r.frontend_port,
            backend_port=r.backend_port,
            floating_ip=r.floating_ip,
            idle_timeout_minutes=r.idle_timeout_min,
            distribution_mode=_DISTRIBUTIONS[r.distribution],
            symmetric_hash=options.symmetric_hash,
        )
        for r in lb.rules
    )
    return LoadBalancer(
        name=lb.name,
        region=topo.region_of(fe.vnet),
        frontends=(Frontend(name=fe.name, ip=fe.ip, subnet=subnet.prefix),),
        pools=(pool,),
        probes=probes,
        rules=rules,
    )

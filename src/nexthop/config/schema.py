"""Pydantic models of the topology file (snake_case keys; see docs/topology.md).

Every model forbids unknown fields and is frozen. Field-level rules (address
syntax, ranges, a parseable NVA BGP configuration) live on the fields; the
cross-resource rules (references, containment, overlaps, ASNs, IP conflicts)
run in ``Topology``'s model validator via ``nexthop.config.checks``, which
raises ``TopologyInvalid`` with one ``Issue`` per problem, each naming its
field path. Designs that are legal but broken (spec §1.8: a load balancer next
hop in another region than the Route Server) validate; ``nexthop.lint`` reports
them.
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from nexthop.bfd.config import BfdConfig
from nexthop.config.checks import check_topology
from nexthop.config.issues import TopologyInvalid
from nexthop.config.types import (
    ROUTE_SERVER_ASN,
    ROUTE_SERVER_SUBNET,
    Asn,
    Distribution,
    GatewayType,
    HaRole,
    HubRoutingPreference,
    Ipv4Address,
    Ipv4Prefix,
    LbProtocol,
    Name,
    NextHopType,
    NoHealthyBackendsBehavior,
    ProbeProtocol,
    ResponderMode,
    route_server_instance_ips,
)
from nexthop.nva.frr_config import FrrConfigError, parse_frr_config
from nexthop.nva.model import FrrConfig

__all__ = [
    "BackendPool",
    "Branch",
    "Frontend",
    "Ha",
    "Heartbeat",
    "LbRule",
    "LoadBalancer",
    "Nic",
    "Nva",
    "NvaNic",
    "PeeringBfd",
    "Probe",
    "ProbeResponder",
    "Route",
    "RouteServer",
    "RouteServerLimits",
    "RouteServerPeering",
    "RouteTable",
    "Subnet",
    "Topology",
    "VirtualNetwork",
    "VirtualNetworkGateway",
    "Vm",
    "VnetPeering",
]

Port = Annotated[int, Field(ge=0, le=65535)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- virtual networks -------------------------------------------------------------


class Subnet(_Model):
    name: Name
    prefix: Ipv4Prefix
    route_table: Name | None = None


class VirtualNetwork(_Model):
    name: Name
    region: Name | None = None  # defaults to the topology's region
    address_space: tuple[Ipv4Prefix, ...]
    subnets: tuple[Subnet, ...] = ()


class VnetPeering(_Model):
    """A (bidirectional) VNet peering. ``use_remote_gateways``: ``local_vnet`` takes the
    routes of ``remote_vnet``'s Route Server/gateway (``allow_gateway_transit`` there)."""

    name: Name
    local_vnet: Name
    remote_vnet: Name
    allow_forwarded_traffic: bool = True
    allow_gateway_transit: bool = False
    use_remote_gateways: bool = False


class Route(_Model):
    name: Name
    prefix: Ipv4Prefix
    next_hop_type: NextHopType
    next_hop_ip: Ipv4Address | None = None


class RouteTable(_Model):
    name: Name
    disable_bgp_route_propagation: bool = False
    routes: tuple[Route, ...] = ()


# --- route servers ------------------------------------------------------------------


class RouteServerLimits(_Model):
    """Spec §1.2/§1.3 (newest values as defaults)."""

    max_peers: int = Field(default=8, ge=1)
    max_routes_per_peer: int = Field(default=4000, ge=1)
    max_total_routes: int = Field(default=10000, ge=1)


class PeeringBfd(_Model):
    """BFD with the peer (RFC 5880/5881, ``multihop``: RFC 5883); beyond Azure, whose
    Route Server has no BFD: without this block a peering runs none (docs/bfd.md)."""

    enabled: bool = True
    min_tx_ms: int = Field(default=300, ge=1, le=4_294_967)  # Desired Min TX once Up
    min_rx_ms: int = Field(default=300, ge=1, le=4_294_967)  # Required Min RX
    multiplier: int = Field(default=3, ge=1, le=255)  # Detect Mult
    multihop: bool = False

    @property
    def config(self) -> BfdConfig | None:
        """The session configuration, None when disabled."""
        if not self.enabled:
            return None
        return BfdConfig.from_ms(
            min_tx_ms=self.min_tx_ms,
            min_rx_ms=self.min_rx_ms,
            multiplier=self.multiplier,
            multihop=self.multihop,
        )


class RouteServerPeering(_Model):
    """A BGP peer of the route server: an NVA NIC address, or ``external: true``
    for a speaker the topology does not model (e.g. a lab daemon)."""

    name: Name
    peer_ip: Ipv4Address
    peer_asn: Asn
    external: bool = False
    bfd: PeeringBfd | None = None


class RouteServer(_Model):
    name: Name
    vnet: Name
    branch_to_branch: bool = False
    hub_routing_preference: HubRoutingPreference = HubRoutingPreference.EXPRESSROUTE
    limits: RouteServerLimits = RouteServerLimits()
    peerings: tuple[RouteServerPeering, ...] = ()

    @property
    def asn(self) -> int:
        return ROUTE_SERVER_ASN


# --- load balancers -------------------------------------------------------------------


class Frontend(_Model):
    name: Name = "frontend"
    vnet: Name
    subnet: Name
    ip: Ipv4Address


class BackendPool(_Model):
    name: Name = "backend"
    members: tuple[Name, ...]  # NVA or VM names


class Probe(_Model):
    name: Name
    protocol: ProbeProtocol = ProbeProtocol.TCP
    port: Port
    path: str | None = None  # required for http/https
    interval_s: int = Field(default=5, ge=1)
    threshold: int = Field(default=1, ge=1)


class LbRule(_Model):
    name: Name
    protocol: LbProtocol = LbProtocol.ALL
    frontend_port: Port = 0
    backend_port: Port = 0
    probe: Name
    floating_ip: bool = False
    idle_timeout_min: int = 4
    enable_tcp_reset: bool = False
    distribution: Distribution = Distribution.DEFAULT


class LoadBalancer(_Model):
    """An internal Standard load balancer with one frontend (spec §3)."""

    name: Name
    frontend: Frontend
    backend_pool: BackendPool
    probes: tuple[Probe, ...]
    rules: tuple[LbRule, ...]
    fast_probes: bool = False  # allow probe intervals below the Azure minimum of 5 s
    no_healthy_backends_behavior: NoHealthyBackendsBehavior = (
        NoHealthyBackendsBehavior.ALL_PROBED_DOWN
    )


# --- compute ------------------------------------------------------------------------------


class Nic(_Model):
    vnet: Name
    subnet: Name
    ip: Ipv4Address
    ip_forwarding: bool = False


class NvaNic(Nic):
    ip_forwarding: bool = True


class Heartbeat(_Model):
    """Active/standby heartbeat between two NVAs."""

    peer: Name
    interval_ms: int = Field(default=1000, ge=10)
    dead_after: int = Field(default=3, ge=1)  # missed heartbeats before the standby takes over


class Ha(_Model):
    role: HaRole = HaRole.STANDALONE
    heartbeat: Heartbeat | None = None


class ProbeResponder(_Model):
    """What the NVA answers to load balancer probes."""

    protocol: ProbeProtocol = ProbeProtocol.TCP
    port: Port
    path: str | None = None
    mode: ResponderMode = ResponderMode.ALWAYS


class Nva(_Model):
    name: Name
    nic: NvaNic
    ha: Ha = Ha()
    probe_responder: ProbeResponder | None = None
    bgp_config: str | None = None  # FRR/Cisco-style text, see nexthop.nva.frr_config

    @field_validator("bgp_config")
    @classmethod
    def _parses(cls, text: str | None) -> str | None:
        if text is not None:
            try:
                parse_frr_config(text)
            except FrrConfigError as exc:
                raise PydanticCustomError(
                    "bgp_config",
                    "line {line} of the BGP config: {reason}",
                    {"line": exc.line, "reason": exc.reason},
                ) from None
        return text

    @cached_property
    def bgp(self) -> FrrConfig | None:
        """The parsed ``bgp_config`` (None when the NVA has none)."""
        return parse_frr_config(self.bgp_config) if self.bgp_config is not None else None


class Vm(_Model):
    name: Name
    nic: Nic


# --- on-premises and gateways --------------------------------------------------------------


class Branch(_Model):
    """On-premises prefixes reached through NVAs (``behind_nvas``) or a gateway.
    ``peer_ip``/``asn`` declare the branch's BGP speaker when NVAs peer with it."""

    name: Name
    prefixes: tuple[Ipv4Prefix, ...]
    behind_nvas: tuple[Name, ...] = ()
    behind_gateway: Name | None = None
    peer_ip: Ipv4Address | None = None
    asn: Asn | None = None


class VirtualNetworkGateway(_Model):
    name: Name
    vnet: Name
    type: GatewayType
    asn: Asn = ROUTE_SERVER_ASN
    active_active: bool = True


# --- the whole file ----------------------------------------------------------------------


class Topology(_Model):
    """One topology file. Constructing it runs the cross-resource checks and
    raises ``TopologyInvalid`` (not a ``ValidationError``) when they fail."""

    name: str | None = None
    description: str | None = None
    region: Name
    vnets: tuple[VirtualNetwork, ...]
    peerings: tuple[VnetPeering, ...] = ()
    route_tables: tuple[RouteTable, ...] = ()
    route_servers: tuple[RouteServer, ...] = ()
    load_balancers: tuple[LoadBalancer, ...] = ()
    nvas: tuple[Nva, ...] = ()
    vms: tuple[Vm, ...] = ()
    branches: tuple[Branch, ...] = ()
    virtual_network_gateways: tuple[VirtualNetworkGateway, ...] = ()

    @model_validator(mode="after")
    def _cross_resource(self) -> Self:
        errors = check_topology(self)
        if errors:
            raise TopologyInvalid(errors)
        return self

    # -- lookups ------------------------------------------------------------------------

    def vnet(self, name: str) -> VirtualNetwork | None:
        return next((v for v in self.vnets if v.name == name), None)

    def region_of(self, vnet: str) -> str:
        """The vnet's own region, else the topology's."""
        v = self.vnet(vnet)
        return v.region if v is not None and v.region is not None else self.region

    def subnet(self, vnet: str, name: str) -> Subnet | None:
        v = self.vnet(vnet)
        return next((s for s in v.subnets if s.name == name), None) if v is not None else None

    def nva(self, name: str) -> Nva | None:
        return next((n for n in self.nvas if n.name == name), None)

    def vm(self, name: str) -> Vm | None:
        return next((m for m in self.vms if m.name == name), None)

    def route_server(self, name: str) -> RouteServer | None:
        return next((r for r in self.route_servers if r.name == name), None)

    def load_balancer(self, name: str) -> LoadBalancer | None:
        return next((lb for lb in self.load_balancers if lb.name == name), None)

    def route_server_ips(
        self, name: str
    ) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address] | None:
        """The instance IPs of route server ``name``: RouteServerSubnet base + 4 and + 5."""
        rs = self.route_server(name)
        subnet = self.subnet(rs.vnet, ROUTE_SERVER_SUBNET) if rs is not None else None
        return route_server_instance_ips(subnet.prefix) if subnet is not None else None

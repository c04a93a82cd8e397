"""``World``: a whole topology wired together from the sans-IO parts, on a model clock.

``World.from_topology(topology, now)`` builds

* the ``Fabric`` (regions, VNets, subnets with their route tables, both directions of
  every peering, one NIC per NVA, VM and load balancer frontend);
* one ``RouteServer`` per topology route server, its peerings taken from the file and
  its peered address spaces from the spokes that use its gateway (spec §1.1, §1.6);
* one ``LoadBalancerEngine`` per load balancer, its pool members' NIC addresses as
  backends (spec §3);
* ``NvaNode``s (NIC address, parsed FRR configuration, HA node, fronted branch
  prefixes), ``VmNode``s and ``BranchNode``s;

then starts the HA pairs, gives each load balancer its first probe verdicts and
brings the BGP sessions up (``bgp_model``). Each route server is attached to the
fabric as its VNet's BGP source (``Fabric.attach_bgp_source``, spec §1.6): the
fabric reads the route server itself, so nothing is copied; ``routes_changed``
tells it which prefixes one UPDATE changed, and ``attach_route_server`` swaps in
another ``RouteServer`` (a runtime's live one) for a route server node. A
topology that passed ``nexthop.config`` validation always builds; a missing
reference still raises ``WorldError`` naming it (the ``Fabric``'s own
``ValueError`` for an unknown VNet, subnet or route table).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from nexthop.config import Topology, to_prefix
from nexthop.config.schema import Nva
from nexthop.config.types import ROUTE_SERVER_SUBNET, HaRole, ResponderMode
from nexthop.lb import HaConfig, HaNode, LoadBalancerEngine
from nexthop.net.prefix import Prefix
from nexthop.routeserver import PeeringConfig, RouteServer, RouteServerConfig
from nexthop.vnet import Fabric, Nic
from nexthop.world import bgp_model, liveness
from nexthop.world.convert import (
    PREFERENCES,
    build_fabric,
    load_balancer_model,
    require_vnet,
    spoke_spaces,
)
from nexthop.world.hops import Trace
from nexthop.world.model import (
    BranchNode,
    LbNode,
    NvaNode,
    RsNode,
    VmNode,
    WorldError,
    WorldEvent,
    WorldOptions,
)
from nexthop.world.trace import DEFAULT_DST_PORT, DEFAULT_SRC_PORT, trace
from nexthop.world.traffic import FlowSpec, TrafficReport, generate_flows, run_traffic

__all__ = ["HA_ACTIVE_PRIORITY", "HA_STANDBY_PRIORITY", "World"]

HA_ACTIVE_PRIORITY = 200
"""The configured ``active`` NVA outranks its standby in the heartbeat election."""
HA_STANDBY_PRIORITY = 100


class World:
    """Every node of one topology and the engines behind them (sans-IO).

    Time only moves through ``advance(now)``, which fires due heartbeats, probes,
    probe timeouts and BGP hold timers in order; ``trace`` and ``run_traffic`` call it.
    """

    def __init__(self, topology: Topology, options: WorldOptions) -> None:
        self.topology = topology
        self.options = options
        self.fabric = Fabric()
        self.route_servers: dict[str, RsNode] = {}
        self.load_balancers: dict[str, LbNode] = {}
        self.nvas: dict[str, NvaNode] = {}
        self.vms: dict[str, VmNode] = {}
        self.branches: dict[str, BranchNode] = {}
        self.events: list[WorldEvent] = []
        self.now = 0.0
        self.pending: list[liveness.Pending] = []
        # Built over running parts (``from_topology(live=True)``): their own
        # timers run on the runtime's loop, so the model never fires them.
        self.live = False
        # Live: the HA settings each NVA node's own (running) election is started
        # with; the model's HaNode objects are not used.
        self.ha_configs: dict[str, HaConfig] = {}

    # -- construction -----------------------------------------------------------

    @classmethod
    def from_topology(
        cls,
        topology: Topology,
        now: float,
        options: WorldOptions | None = None,
        *,
        live: bool = False,
    ) -> World:
        """The model of ``topology`` at ``now``. ``live``: the structure only, for a
        runtime that supplies the running parts (``attach_route_server``,
        ``use_engine``, the NVAs' own HA nodes and speakers): no model HA
        election, no model probes, no model BGP sessions; time then only moves
        the clock (nothing is pending)."""
        world = cls(topology, options or WorldOptions())
        world.now = now
        world.fabric = build_fabric(topology)
        world._build_nodes()
        world._build_route_servers()
        world._build_load_balancers(now)
        if live:
            world.live = True
            bgp_model.plan_sessions(world)
            for node in world.nvas.values():
                if node.ha is not None:
                    world.ha_configs[node.name] = node.ha.config
                node.ha = None  # the running NVA's own election, when it has one
            return world
        liveness.start(world, now)
        bgp_model.start(world, now)
        return world

    def use_engine(self, name: str, engine: LoadBalancerEngine) -> None:
        """Serve load balancer ``name`` with ``engine`` (the one real probes drive)."""
        self.load_balancers[name].engine = engine

    def _region(self, vnet: str) -> str:
        return self.topology.region_of(vnet)

    def _add_nic(self, name: str, vnet: str, subnet: str, ip: int, forwarding: bool) -> None:
        self.fabric.add_nic(
            Nic(name=name, vnet=vnet, subnet=subnet, private_ip=ip, ip_forwarding=forwarding)
        )

    def _build_nodes(self) -> None:
        topo = self.topology
        fronted: dict[str, list[tuple[str, Prefix]]] = {}
        for branch in topo.branches:
            for nva_name in branch.behind_nvas:
                if topo.nva(nva_name) is None:
                    raise WorldError(f"branch {branch.name!r}: unknown NVA {nva_name!r}")
                for prefix in branch.prefixes:
                    fronted.setdefault(nva_name, []).append((branch.name, to_prefix(prefix)))
            self.branches[branch.name] = BranchNode(
                name=branch.name,
                prefixes=tuple(to_prefix(p) for p in branch.prefixes),
                nvas=tuple(branch.behind_nvas),
                gateway=branch.behind_gateway,
            )
        for nva in topo.nvas:
            nic = f"{nva.name}-nic"
            self._add_nic(nic, nva.nic.vnet, nva.nic.subnet, int(nva.nic.ip), nva.nic.ip_forwarding)
            owned = fronted.get(nva.name, [])
            self.nvas[nva.name] = self._nva_node(nva, nic, owned)
        for vm in topo.vms:
            nic = f"{vm.name}-nic"
            self._add_nic(nic, vm.nic.vnet, vm.nic.subnet, int(vm.nic.ip), vm.nic.ip_forwarding)
            self.vms[vm.name] = VmNode(name=vm.name, ip=int(vm.nic.ip), nic=nic, vnet=vm.nic.vnet)

    def _nva_node(self, nva: Nva, nic: str, owned: list[tuple[str, Prefix]]) -> NvaNode:
        config = nva.bgp
        responder = nva.probe_responder
        ha: HaNode | None = None
        peer: str | None = None
        heartbeat = nva.ha.heartbeat
        if heartbeat is not None:
            peer = heartbeat.peer
        else:  # the active side of a pair may leave the heartbeat to its standby
            for other in self.topology.nvas:
                if other.ha.heartbeat is not None and other.ha.heartbeat.peer == nva.name:
                    heartbeat, peer = other.ha.heartbeat, other.name
                    break
        if heartbeat is not None and peer is not None:
            if self.topology.nva(peer) is None:
                raise WorldError(f"NVA {nva.name!r}: unknown heartbeat peer {peer!r}")
            timers = self.options.timers
            ha = HaNode(
                HaConfig(
                    node_id=nva.name,
                    priority=HA_ACTIVE_PRIORITY
                    if nva.ha.role is HaRole.ACTIVE
                    else HA_STANDBY_PRIORITY,
                    interval=timers.heartbeat_interval
                    if timers
                    else heartbeat.interval_ms / 1000.0,
                    dead_count=timers.dead_after if timers else heartbeat.dead_after,
                )
            )
        return NvaNode(
            name=nva.name,
            ip=int(nva.nic.ip),
            nic=nic,
            vnet=nva.nic.vnet,
            subnet=nva.nic.subnet,
            config=config,
            asn=config.bgp.asn if config is not None and config.bgp is not None else None,
            role=nva.ha.role.value,
            ha=ha,
            ha_peer=peer,
            branch_prefixes=tuple(dict.fromkeys(p for _, p in owned)),
            branches=tuple(dict.fromkeys(b for b, _ in owned)),
            probe_protocol=None if responder is None else responder.protocol.value,
            probe_port=None if responder is None else responder.port,
            probe_path=None if responder is None else responder.path,
            probe_when_active=responder is not None and responder.mode is ResponderMode.WHEN_ACTIVE,
        )

    def frontend_region(self, address: int) -> str | None:
        """The region of the load balancer frontend at ``address``, if any."""
        for lb in self.topology.load_balancers:
            if int(lb.frontend.ip) == address:
                return self._region(lb.frontend.vnet)
        return None

    def _build_route_servers(self) -> None:
        topo = self.topology
        for rs in topo.route_servers:
            require_vnet(self.topology, rs.vnet, f"route server {rs.name!r}")
            subnet = topo.subnet(rs.vnet, ROUTE_SERVER_SUBNET)
            vnet = topo.vnet(rs.vnet)
            if subnet is None or vnet is None:
                msg = f"route server {rs.name!r}: {rs.vnet} has no {ROUTE_SERVER_SUBNET}"
                raise WorldError(msg)
            config = RouteServerConfig(
                name=rs.name,
                subnet=to_prefix(subnet.prefix),
                vnet_address_spaces=tuple(to_prefix(p) for p in vnet.address_space),
                peered_address_spaces=spoke_spaces(self.topology, rs.vnet),
                max_peers=rs.limits.max_peers,
                max_routes_per_peer=rs.limits.max_routes_per_peer,
                max_total_routes=rs.limits.max_total_routes,
                branch_to_branch=rs.branch_to_branch,
                hub_routing_preference=PREFERENCES[rs.hub_routing_preference],
            )
            server = RouteServer(
                config, region=self._region(rs.vnet), frontend_region=self.frontend_region
            )
            for peering in rs.peerings:
                server.add_peering(
                    PeeringConfig(
                        name=peering.name,
                        peer_ip=str(peering.peer_ip),
                        peer_asn=peering.peer_asn,
                        bfd=peering.bfd.config if peering.bfd is not None else None,
                    )
                )
            first, second = config.instance_ips
            roles = list(server.instances)
            self.route_servers[rs.name] = RsNode(
                name=rs.name,
                vnet=rs.vnet,
                region=self._region(rs.vnet),
                server=server,
                instance_ips={roles[0]: first, roles[1]: second},
            )
            self.fabric.attach_bgp_source(rs.vnet, server)

    def attach_route_server(self, name: str, server: RouteServer) -> None:
        """``server`` becomes route server ``name`` (e.g. the runtime's running one,
        kept across a topology change) and its VNet's BGP source; the fabric reads
        it in full once, at the next query."""
        node = self.route_servers[name]
        node.server = server
        server.set_frontend_region(self.frontend_region)
        self.fabric.attach_bgp_source(node.vnet, server)

    def routes_changed(self, name: str, prefixes: Iterable[Prefix]) -> None:
        """Route server ``name`` changed the VNet programming of ``prefixes``
        (``RoutesChanged.prefixes``): the fabric re-reads those prefixes, and only
        those, at its next query. O(len(prefixes))."""
        self.fabric.bgp_routes_changed(self.route_servers[name].vnet, prefixes)

    def _member_ips(self) -> dict[str, int]:
        """Backend pool members (NVAs and VMs) by name -> NIC address."""
        return {
            **{v.name: v.ip for v in self.vms.values()},
            **{n.name: n.ip for n in self.nvas.values()},
        }

    def _build_load_balancers(self, now: float) -> None:
        for lb in self.topology.load_balancers:
            fe = lb.frontend
            self._add_nic(f"{lb.name}-frontend", fe.vnet, fe.subnet, int(fe.ip), False)
            self.load_balancers[lb.name] = LbNode(
                name=lb.name,
                engine=LoadBalancerEngine(
                    load_balancer_model(self.topology, lb, self._member_ips(), self.options), now
                ),
                frontend=fe.name,
                frontend_ip=int(fe.ip),
                vnet=fe.vnet,
                region=self._region(fe.vnet),
                members=tuple(lb.backend_pool.members),
            )

    # -- lookups ----------------------------------------------------------------

    def nva(self, name: str) -> NvaNode:
        node = self.nvas.get(name)
        if node is None:
            raise WorldError(f"unknown NVA {name!r}")
        return node

    def lb_by_frontend(self, address: int) -> LbNode | None:
        return next((lb for lb in self.load_balancers.values() if lb.frontend_ip == address), None)

    def nva_by_ip(self, address: int) -> NvaNode | None:
        return next((n for n in self.nvas.values() if n.ip == address), None)

    def vm_by_ip(self, address: int) -> VmNode | None:
        return next((v for v in self.vms.values() if v.ip == address), None)

    def branch_for(self, address: int) -> BranchNode | None:
        """The branch whose prefixes hold ``address`` (longest prefix wins)."""
        best: tuple[int, BranchNode] | None = None
        for branch in self.branches.values():
            for prefix in branch.prefixes:
                if prefix.contains_address(prefix.afi, address) and (
                    best is None or prefix.length > best[0]
                ):
                    best = (prefix.length, branch)
        return None if best is None else best[1]

    def lbs_for(self, nvas: Iterable[str]) -> list[LbNode]:
        """Load balancers whose pool holds any of ``nvas``."""
        wanted = set(nvas)
        return [lb for lb in self.load_balancers.values() if wanted & set(lb.members)]

    # -- time and faults ---------------------------------------------------------

    def record(self, at: float, kind: str, subject: str, detail: str = "") -> None:
        self.events.append(WorldEvent(at=at, kind=kind, subject=subject, detail=detail))

    def advance(self, now: float) -> None:
        """Fire everything due up to ``now``: heartbeats, probes, probe timeouts,
        BGP hold timers (``liveness``). A live world only moves its clock: the
        running probes, heartbeats and sessions keep their own time."""
        if self.live:
            self.now = max(self.now, now)
            return
        liveness.advance(self, now)

    def next_deadline(self) -> float | None:
        return liveness.next_deadline(self)

    def fail_nva(self, name: str, now: float, *, bgp_down_after: float | None = None) -> None:
        """The NVA dies at ``now``: its probe responder and heartbeats stop at once;
        the route server drops its sessions when the hold timer expires
        (``bgp_down_after``, default the options' hold time; 0 drops them now)."""
        self.advance(now)
        if not self.nva(name).up:
            return  # already failed: nothing more stops
        liveness.fail(self, self.nva(name), now)
        delay = self.options.hold_time if bgp_down_after is None else bgp_down_after
        if delay <= 0:
            bgp_model.sessions_down(self, self.nva(name), now, "NVA failed")
        else:
            liveness.schedule_bgp_down(self, name, now + delay)

    def restore_nva(self, name: str, now: float) -> None:
        """The NVA comes back: HA restarts as standby, probes answer again (as the
        load balancer next sees them), BGP sessions re-establish and re-advertise."""
        self.advance(now)
        node = self.nva(name)
        if node.up:
            return
        liveness.restore(self, node, now)
        bgp_model.sessions_up(self, node, now)

    # -- conveniences for the service layer ----------------------------------------

    def trace(
        self,
        source: str,
        destination: str,
        *,
        protocol: str = "tcp",
        port: int = DEFAULT_DST_PORT,
        src_port: int = DEFAULT_SRC_PORT,
        now: float | None = None,
    ) -> Trace:
        """``nexthop.world.trace.trace`` at ``now`` (default: the world's time)."""
        return trace(self, source, destination, protocol, src_port=src_port, dst_port=port, now=now)

    def run_traffic(
        self,
        flows: int | Sequence[FlowSpec] = 100,
        *,
        source: str | None = None,
        destination: str | None = None,
        seed: int = 0,
        now: float | None = None,
    ) -> TrafficReport:
        """Generate ``flows`` flows (or take the given ones) and run them at ``now``."""
        at = self.now if now is None else now
        specs = (
            generate_flows(self, flows, seed=seed, source=source, destination=destination)
            if isinstance(flows, int)
            else list(flows)
        )
        return run_traffic(self, specs, at)

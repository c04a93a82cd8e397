"""Walking one direction of a flow through the world, hop by hop.

The packet moves between places: a NIC in the Azure fabric (its effective routes
decide, route-server-spec §2), a load balancer frontend (rule, health, hash; §3),
an NVA (its own routing table), a branch, the Internet. Each step appends a
``Hop`` with the rule that decided it; the walk ends delivered or dropped.

Model rules:

* **VM host ECMP**: with several next hops the host picks
  ``RouteDecision.pick(hash)`` with an order-sensitive 5-tuple hash (the real hash
  inputs are unconfirmed, spec §2 "ECMP").
* **Next hop = ILB frontend** (spec §1.8, §2): the packet is handed to the load
  balancer, which picks a backend with its rule; the destination is kept (HA ports,
  routed to the frontend as a next hop). A BGP route whose next hop is a frontend
  in another region than the route server that programmed it fails (§1.8).
* **NVA forwarding**: a destination in a branch the NVA fronts goes to the branch;
  otherwise the NVA hands the packet back to the Azure fabric from its own NIC (its
  BGP route from the route server, or its default route via the subnet gateway),
  where its NIC's effective routes decide again.
* **Branch to Azure** (``WorldOptions.return_path``): ``via_lb`` enters through the
  load balancer that fronts the branch's NVAs (the ILB's symmetric hash then keeps
  a flow on one NVA); ``branch_ecmp`` hashes the reverse 5-tuple over the branch's
  NVAs that are up and active (an HA standby attracts no branch traffic).
* **Loops**: more than ``WorldOptions.hop_limit`` steps is a routing loop.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from nexthop.lb import DistributionMode, Dropped, DropReason, Flow, IpProtocol, flow_hash
from nexthop.net.prefix import Afi, format_address
from nexthop.vnet import NextHopType, RouteDecision, RouteSource
from nexthop.world.bgp_model import best_learned
from nexthop.world.hops import DropCause, Hop, HopKind, Leg
from nexthop.world.model import ReturnPath, WorldError

if TYPE_CHECKING:
    from nexthop.world.build import World
    from nexthop.world.model import LbNode

__all__ = [
    "BRANCH_HASH_SEED",
    "Place",
    "PlaceKind",
    "endpoint_start",
    "resolve_source",
    "walk",
]

BRANCH_HASH_SEED = 0x6272616E6368
"""Seed of the branch router's own ECMP hash (independent of the load balancer's)."""

_FORWARDED_TYPES = (NextHopType.VIRTUAL_APPLIANCE, NextHopType.VIRTUAL_NETWORK_GATEWAY)
_LOCAL_TYPES = (NextHopType.VNET_LOCAL, NextHopType.VNET_PEERING)


class PlaceKind(StrEnum):
    VM = "vm"
    NIC = "nic"
    LB = "lb"
    NVA = "nva"
    BRANCH = "branch"


@dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    """Where the packet is; ``source`` marks where it starts."""

    kind: PlaceKind
    name: str
    via_frontend: bool = False
    source: bool = False


def _ip(value: int) -> str:
    return format_address(Afi.IPV4, value)


def _protocol_name(number: int) -> str:
    try:
        return IpProtocol(number).name.lower()
    except ValueError:
        return f"protocol {number}"


def resolve_source(world: World, source: str) -> tuple[Place, int]:
    """A VM, NVA or branch by name, or an address one of them holds."""
    if source in world.vms:
        return Place(kind=PlaceKind.VM, name=source, source=True), world.vms[source].ip
    if source in world.nvas:
        return Place(kind=PlaceKind.NVA, name=source, source=True), world.nvas[source].ip
    if source in world.branches:
        prefix = world.branches[source].prefixes[0]
        host = prefix.value + (1 if prefix.length < 32 else 0)
        return Place(kind=PlaceKind.BRANCH, name=source, source=True), host
    try:
        address = int(ipaddress.IPv4Address(source))
    except ValueError:
        raise WorldError(f"unknown source {source!r}: name a VM, NVA or branch") from None
    if (vm := world.vm_by_ip(address)) is not None:
        return Place(kind=PlaceKind.VM, name=vm.name, source=True), address
    if (nva := world.nva_by_ip(address)) is not None:
        return Place(kind=PlaceKind.NVA, name=nva.name, source=True), address
    if (branch := world.branch_for(address)) is not None:
        return Place(kind=PlaceKind.BRANCH, name=branch.name, source=True), address
    raise WorldError(f"no VM, NVA or branch holds the source address {source}")


def endpoint_start(world: World, leg: Leg) -> Place | None:
    """Where the reply starts: the endpoint that received the forward leg."""
    if leg.endpoint is None:
        return None
    kind, _, name = leg.endpoint.partition(":")
    if kind in (PlaceKind.VM, PlaceKind.NVA, PlaceKind.BRANCH):
        return Place(kind=PlaceKind(kind), name=name, source=True)
    return None  # the Internet: the reply is not modelled


class _Walk:
    def __init__(self, world: World, flow: Flow, now: float, direction: str) -> None:
        self.world = world
        self.flow = flow
        self.now = now
        self.direction = direction
        self.hops: list[Hop] = []
        self.nvas: list[str] = []
        self.endpoint: str | None = None
        self.drop: DropCause | None = None
        self.vnet_of_nic: str = ""

    # -- bookkeeping -------------------------------------------------------------

    def hop(self, kind: HopKind, node: str, reason: str, **details: object) -> None:
        self.hops.append(Hop(kind=kind, node=node, reason=reason, details=details))

    def deliver(self, endpoint: str, node: str, reason: str) -> None:
        self.endpoint = endpoint
        self.hop(HopKind.DELIVER, node, reason)

    def dropped(self, cause: DropCause, node: str, reason: str) -> None:
        self.drop = cause
        self.hop(HopKind.DROP, node, reason, cause=cause.value)

    @property
    def dst(self) -> int:
        return int(self.flow.dst_ip)

    def describe(self) -> str:
        f = self.flow
        return f"{_protocol_name(f.protocol)} {f.src_ip}:{f.src_port} -> {f.dst_ip}:{f.dst_port}"

    # -- the loop ----------------------------------------------------------------

    def run(self, start: Place) -> None:
        place: Place | None = start
        limit = self.world.options.hop_limit
        steps = 0
        while place is not None:
            steps += 1
            if steps > limit:
                path = " -> ".join(h.node for h in self.hops[-6:])
                self.dropped(
                    DropCause.ROUTING_LOOP,
                    place.name,
                    f"hop limit {limit} reached: routing loop ({path} -> ...)",
                )
                return
            place = self.step(place)

    def step(self, place: Place) -> Place | None:
        match place.kind:
            case PlaceKind.VM:
                return self.at_vm(place)
            case PlaceKind.NIC:
                return self.at_nic(place.name)
            case PlaceKind.LB:
                return self.at_lb(self.world.load_balancers[place.name], place.via_frontend)
            case PlaceKind.NVA:
                return self.at_nva(place)
            case PlaceKind.BRANCH:
                return self.at_branch(place)
        raise WorldError(f"unknown place {place.kind!r}")  # pragma: no cover

    # -- places ------------------------------------------------------------------

    def at_vm(self, place: Place) -> Place | None:
        vm = self.world.vms[place.name]
        if place.source:
            self.hop(
                HopKind.SOURCE,
                vm.name,
                f"{vm.name} ({_ip(vm.ip)}) sends {self.describe()}",
                nic=vm.nic,
            )
            return Place(kind=PlaceKind.NIC, name=vm.nic)
        if self.dst == vm.ip:
            self.deliver(f"vm:{vm.name}", vm.name, f"delivered to {vm.name} ({_ip(vm.ip)})")
        else:
            self.dropped(
                DropCause.UNKNOWN_NEXT_HOP,
                vm.name,
                f"{vm.name} is a next hop but forwards nothing (not an NVA)",
            )
        return None

    def at_nic(self, nic_name: str) -> Place | None:
        world = self.world
        nic = world.fabric.nic(nic_name)
        decision = world.fabric.lookup(nic_name, (Afi.IPV4, self.dst))
        details: dict[str, object] = {
            "nic": nic_name,
            "prefix": None if decision.prefix is None else str(decision.prefix),
            "source": None if decision.source is None else decision.source.value,
            "next_hop_type": decision.next_hop_type.value,
            "next_hop_ips": decision.next_hop_texts(),
            "route_name": decision.route_name,
        }
        if decision.prefix is None:
            self.hop(HopKind.ROUTE, nic_name, decision.reason, **details)
            self.dropped(DropCause.NO_ROUTE, nic_name, f"no effective route for {self.flow.dst_ip}")
            return None
        if decision.next_hop_type == NextHopType.NONE:
            self.hop(HopKind.ROUTE, nic_name, decision.reason, **details)
            self.dropped(
                DropCause.NONE_ROUTE,
                nic_name,
                f"effective route {decision.prefix} has next hop type None: "
                f"Azure drops {self.flow.dst_ip} (spec §2)",
            )
            return None
        if decision.next_hop_type == NextHopType.INTERNET:
            self.hop(HopKind.ROUTE, nic_name, decision.reason, **details)
            self.deliver("internet", "internet", f"{self.flow.dst_ip} leaves to the Internet")
            return None
        if decision.next_hop_type in _LOCAL_TYPES:
            self.hop(HopKind.ROUTE, nic_name, decision.reason, **details)
            return self.local_owner(nic.vnet, nic_name)
        if decision.next_hop_type not in _FORWARDED_TYPES:  # pragma: no cover - enum is closed
            raise WorldError(f"unhandled next hop type {decision.next_hop_type}")
        return self.forwarded(nic.vnet, nic_name, decision, details)

    def forwarded(
        self, vnet: str, nic_name: str, decision: RouteDecision, details: dict[str, object]
    ) -> Place | None:
        world = self.world
        reason = decision.reason
        chosen: int | None
        if len(decision.next_hop_ips) > 1:
            value = flow_hash(self.flow, DistributionMode.DEFAULT, symmetric=False).value
            chosen = decision.pick(value)
            details["ecmp_hash"] = f"{value:016x}"
            details["ecmp_pick"] = None if chosen is None else _ip(chosen)
            reason += f"; the host's per-flow ECMP picks {_ip(chosen or 0)}"
        else:
            chosen = decision.pick(0)
        details["next_hop"] = None if chosen is None else _ip(chosen)
        self.hop(HopKind.ROUTE, nic_name, reason, **details)
        if chosen is None:
            self.dropped(
                DropCause.UNKNOWN_NEXT_HOP,
                nic_name,
                f"the route's next hop is {decision.next_hop_type.value} with no IP: "
                f"the model has no virtual network gateway data path",
            )
            return None
        lb = world.lb_by_frontend(chosen)
        if lb is not None:
            if decision.source == RouteSource.VIRTUAL_NETWORK_GATEWAY:
                rs = self.programming_route_server(vnet, decision, chosen)
                if rs is not None and rs[1] != lb.region:
                    self.dropped(
                        DropCause.CROSS_REGION_FRONTEND,
                        lb.name,
                        f"next hop {_ip(chosen)} is the frontend of load balancer {lb.name} in "
                        f"{lb.region}, but route server {rs[0]} that programmed the route is in "
                        f"{rs[1]}: a load balancer next hop must be in the route server's region "
                        f"(spec §1.8); the traffic fails",
                    )
                    return None
            return Place(kind=PlaceKind.LB, name=lb.name, via_frontend=True)
        nva = world.nva_by_ip(chosen)
        if nva is not None:
            return Place(kind=PlaceKind.NVA, name=nva.name)
        vm = world.vm_by_ip(chosen)
        if vm is not None:
            return Place(kind=PlaceKind.VM, name=vm.name)
        self.dropped(
            DropCause.UNKNOWN_NEXT_HOP,
            nic_name,
            f"next hop {_ip(chosen)} is not a load balancer frontend, NVA or VM in the model",
        )
        return None

    def programming_route_server(
        self, vnet: str, decision: RouteDecision, hop: int
    ) -> tuple[str, str] | None:
        """(name, region) of the route server whose routes put ``decision`` on ``vnet``."""
        world = self.world
        hubs = {vnet} | {
            p.remote_vnet
            for p in world.topology.peerings
            if p.local_vnet == vnet and p.use_remote_gateways
        }
        for rs in world.route_servers.values():
            if rs.vnet not in hubs:
                continue
            for prefix, hops in rs.server.vnet_routes():
                if prefix == decision.prefix and hop in hops:
                    return rs.name, rs.region
        return None

    def local_owner(self, vnet: str, nic_name: str) -> Place | None:
        world = self.world
        dst = self.dst
        if (vm := world.vm_by_ip(dst)) is not None:
            return Place(kind=PlaceKind.VM, name=vm.name)
        if (nva := world.nva_by_ip(dst)) is not None:
            return Place(kind=PlaceKind.NVA, name=nva.name)
        if (lb := world.lb_by_frontend(dst)) is not None:
            return Place(kind=PlaceKind.LB, name=lb.name)
        self.dropped(
            DropCause.NO_DESTINATION,
            nic_name,
            f"{self.flow.dst_ip} is in the address space of {vnet} or a peered VNet, "
            f"but no NIC holds it",
        )
        return None

    def at_lb(self, lb: LbNode, via_frontend: bool) -> Place | None:
        engine = lb.engine
        flow = self.flow
        frontend = lb.frontend if via_frontend else None
        rule = engine.lb.match(flow, via_frontend=frontend)
        decision = engine.forward(flow, self.now, via_frontend=frontend)
        if rule is None or isinstance(decision, Dropped):
            self.lb_dropped(lb, decision, rule is None)
            return None
        probe = engine.lb.probe(rule.probe)
        health = {
            row["name"]: f"{row['state']} ({row['reason']})"
            for row in engine.rule_health(rule.name)["loadBalancerBackendAddresses"]
        }
        hashed = flow_hash(
            flow, rule.distribution_mode, symmetric=rule.symmetric_hash, seed=engine.lb.hash_seed
        )
        kept = decision.dst_ip == flow.dst_ip
        mode = "HA ports" if rule.ha_ports else f"{rule.protocol.value} {rule.frontend_port}"
        how = (
            "flow-table hit (established flow)"
            if decision.selection is None
            else f"{decision.selection.value}, hash {hashed.value:016x}"
        )
        reason = (
            f"{lb.name} rule {rule.name} ({mode}) -> {decision.backend} "
            f"[{health.get(decision.backend, '?')}]: {how}; "
            f"{rule.distribution_mode.value} distribution, "
            f"{'symmetric' if rule.symmetric_hash else 'order-sensitive'} hash; "
            + (
                f"destination {flow.dst_ip} kept"
                if kept
                else f"destination rewritten to {decision.dst_ip}:{decision.dst_port}"
            )
        )
        self.hop(
            HopKind.LOAD_BALANCER,
            lb.name,
            reason,
            rule=rule.name,
            ha_ports=rule.ha_ports,
            via_frontend=via_frontend,
            floating_ip=rule.floating_ip,
            backend=decision.backend,
            backend_ip=str(decision.backend_ip),
            flow_state=decision.flow_state.value,
            selection=None if decision.selection is None else decision.selection.value,
            health=health,
            probe=f"{probe.protocol.value}:{probe.port} every {probe.interval:g}s "
            f"x {probe.probe_threshold}",
            distribution=rule.distribution_mode.value,
            symmetric_hash=rule.symmetric_hash,
            hash=f"{hashed.value:016x}",
            hash_inputs=list(hashed.inputs),
            destination_kept=kept,
        )
        if not kept:
            self.flow = replace(flow, dst_ip=decision.dst_ip, dst_port=decision.dst_port)
        if decision.backend in self.world.nvas:
            return Place(kind=PlaceKind.NVA, name=decision.backend)
        return Place(kind=PlaceKind.VM, name=decision.backend)

    def lb_dropped(self, lb: LbNode, decision: object, no_rule: bool) -> None:
        reason_code = decision.reason if isinstance(decision, Dropped) else DropReason.NO_RULE
        if no_rule or reason_code is DropReason.NO_RULE:
            self.dropped(
                DropCause.NO_LB_RULE,
                lb.name,
                f"no rule of {lb.name} covers {_protocol_name(self.flow.protocol)} port "
                f"{self.flow.dst_port} (HA ports carry TCP and UDP only)",
            )
            return
        behavior = lb.engine.lb.probes[0].no_healthy_backends_behavior.value
        self.dropped(
            DropCause.NO_HEALTHY_BACKEND,
            lb.name,
            f"{lb.name}: {reason_code.value}: every backend is probed down and the "
            f"behaviour is {behavior}, so new flows are dropped (spec §3)",
        )

    def at_nva(self, place: Place) -> Place | None:
        world = self.world
        node = world.nva(place.name)
        if place.source and node.running:
            self.hop(
                HopKind.SOURCE, node.name, f"{node.name} ({_ip(node.ip)}) sends {self.describe()}"
            )
        elif not node.running:
            self.nvas.append(node.name)
            self.dropped(
                DropCause.NVA_DOWN,
                node.name,
                f"{node.name} is down: the packet is lost (the load balancer has not "
                f"probed it down yet, or an established TCP flow stays pinned to it)",
            )
            return None
        if self.dst == node.ip:
            self.deliver(f"nva:{node.name}", node.name, f"delivered to {node.name} itself")
            return None
        if not place.source:
            self.nvas.append(node.name)  # a transit NVA: what the symmetry verdict compares
        branch = world.branch_for(self.dst)
        if branch is not None and node.name in branch.nvas:
            prefix = max(
                (p for p in branch.prefixes if p.contains_address(Afi.IPV4, self.dst)),
                key=lambda p: p.length,
            )
            self.hop(
                HopKind.NVA,
                node.name,
                f"{node.name} routes {prefix} to branch {branch.name}, which it fronts",
                route=str(prefix),
                branch=branch.name,
            )
            self.deliver(f"branch:{branch.name}", branch.name, f"delivered to branch {branch.name}")
            return None
        live = node.live
        learned = live.best_route(self.dst) if live is not None else best_learned(node, self.dst)
        if learned is not None:
            path = " ".join(str(a) for a in learned.as_path)
            self.hop(
                HopKind.NVA,
                node.name,
                f"{node.name} BGP route {learned.prefix} via {_ip(learned.next_hop)} "
                f"(from {learned.route_server} {learned.instance}, AS_PATH {path}): "
                f"handed to the Azure fabric from its NIC",
                route=str(learned.prefix),
                next_hop=_ip(learned.next_hop),
                as_path=path,
                route_map=learned.route_map,
            )
        else:
            self.hop(
                HopKind.NVA,
                node.name,
                f"{node.name} has no specific route for {self.flow.dst_ip}: its default "
                f"route via the subnet gateway hands it to the Azure fabric",
                route="0.0.0.0/0",
            )
        return Place(kind=PlaceKind.NIC, name=node.nic)

    def at_branch(self, place: Place) -> Place | None:
        world = self.world
        branch = world.branches[place.name]
        if not place.source:  # pragma: no cover - delivery happens at the NVA
            self.deliver(f"branch:{branch.name}", branch.name, f"delivered to {branch.name}")
            return None
        self.hop(HopKind.SOURCE, branch.name, f"branch {branch.name} sends {self.describe()}")
        lbs = world.lbs_for(branch.nvas)
        if world.options.return_path is ReturnPath.VIA_LB and lbs:
            lb = lbs[0]
            self.hop(
                HopKind.BRANCH,
                branch.name,
                f"{branch.name} enters Azure through {lb.name}, which fronts its NVAs "
                f"(model: return path via the load balancer)",
                load_balancer=lb.name,
                model=ReturnPath.VIA_LB.value,
            )
            return Place(kind=PlaceKind.LB, name=lb.name, via_frontend=True)
        live = sorted(n for n in branch.nvas if world.nva(n).serving)
        if not live:
            self.dropped(
                DropCause.BRANCH_NO_NVA,
                branch.name,
                f"no NVA fronting {branch.name} is up and active "
                f"({', '.join(branch.nvas) or 'none configured'})",
            )
            return None
        value = flow_hash(
            self.flow, DistributionMode.DEFAULT, symmetric=False, seed=BRANCH_HASH_SEED
        ).value
        pick = live[value % len(live)]
        self.hop(
            HopKind.BRANCH,
            branch.name,
            f"{branch.name} router ECMP over its live, active NVAs {live} -> {pick} "
            f"(hash {value:016x}; model: branch-side choice, independent of the ILB)",
            candidates=live,
            pick=pick,
            hash=f"{value:016x}",
            model=ReturnPath.BRANCH_ECMP.value,
        )
        return Place(kind=PlaceKind.NVA, name=pick)


def walk(world: World, start: Place, flow: Flow, now: float, direction: str) -> Leg:
    """Follow ``flow`` from ``start`` until it is delivered or dropped."""
    state = _Walk(world, flow, now, direction)
    state.run(start)
    return Leg(
        direction=direction,
        source=start.name,
        source_ip=str(flow.src_ip),
        destination_ip=str(flow.dst_ip),
        hops=tuple(state.hops),
        delivered=state.drop is None and state.endpoint is not None,
        endpoint=state.endpoint,
        drop=state.drop,
        nvas=tuple(dict.fromkeys(state.nvas)),
    )

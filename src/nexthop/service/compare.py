"""``nexthop diff A.yaml B.yaml``: what changes between two designs, in the model.

Both topologies are built as model Worlds (the same code ``trace`` and the
views use with nothing running) and compared three ways:

* **flows**: each flow is traced both ways in both designs; a flow is reported
  when its verdict (delivered or the drop cause), the NVAs of either direction,
  the forward path (the nodes it crosses) or the symmetry verdict differ. The
  flows are given, or generated: every VM to one host of every branch prefix and
  to every other VM (TCP 443), from the VMs of either design;
* **effective routes**: per NIC (VMs' and NVAs'), the rows of ``az network nic
  show-effective-route-table`` added and removed;
* **route server routes**: per route server, peering and instance, the learned
  and advertised rows added and removed.

A flow, NIC or peering present in one design only is reported as such.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nexthop.config import Topology
from nexthop.net.prefix import Afi, format_address
from nexthop.vnet.effective import to_az_json
from nexthop.world import World, WorldError
from nexthop.world.hops import Trace
from nexthop.world.trace import trace

__all__ = ["DesignDiff", "DiffFlow", "compare_designs", "generated_flows"]

_EPHEMERAL_PORT = 40000
_ROLES = ("RouteServiceRole_IN_0", "RouteServiceRole_IN_1")


@dataclass(frozen=True, slots=True, order=True)
class DiffFlow:
    """One flow to trace: from a VM (or NVA, or branch) name to an address."""

    source: str
    destination_ip: str
    protocol: str = "tcp"
    dst_port: int = 443

    def label(self) -> str:
        return f"{self.source} -> {self.destination_ip} {self.protocol}/{self.dst_port}"


@dataclass(slots=True)
class DesignDiff:
    """Everything that differs; empty lists mean the designs behave alike."""

    flows: list[dict[str, Any]] = field(default_factory=list)
    effective_routes: list[dict[str, Any]] = field(default_factory=list)
    route_server_routes: list[dict[str, Any]] = field(default_factory=list)
    flows_compared: int = 0

    @property
    def same(self) -> bool:
        return not (self.flows or self.effective_routes or self.route_server_routes)

    def to_json(self) -> dict[str, Any]:
        return {
            "same": self.same,
            "flowsCompared": self.flows_compared,
            "flows": self.flows,
            "effectiveRoutes": self.effective_routes,
            "routeServerRoutes": self.route_server_routes,
        }


def _branch_hosts(world: World) -> list[str]:
    hosts: list[str] = []
    for name in sorted(world.branches):
        for prefix in world.branches[name].prefixes:
            if prefix.afi != Afi.IPV4:
                continue
            network = ipaddress.IPv4Network(str(prefix))
            offset = 10 if network.num_addresses > 20 else 0
            hosts.append(str(network.network_address + offset))
    return hosts


def generated_flows(worlds: Iterable[World]) -> list[DiffFlow]:
    """Every VM of any design to one host of every branch prefix and to every other
    VM, TCP 443, sorted."""
    flows: set[DiffFlow] = set()
    for world in worlds:
        vms = {name: format_address(Afi.IPV4, vm.ip) for name, vm in world.vms.items()}
        for source in vms:
            for host in _branch_hosts(world):
                flows.add(DiffFlow(source, host))
            for other, address in vms.items():
                if other != source:
                    flows.add(DiffFlow(source, address))
    return sorted(flows)


def _summary(world: World, flow: DiffFlow) -> dict[str, Any]:
    try:
        result: Trace = trace(
            world,
            flow.source,
            flow.destination_ip,
            flow.protocol,
            src_port=_EPHEMERAL_PORT,
            dst_port=flow.dst_port,
            now=world.now,
        )
    except WorldError as exc:
        return {"verdict": "not traced", "reason": str(exc)}
    drop = result.drop
    return {
        "verdict": "delivered" if result.ok else (drop.value if drop else "dropped"),
        "forwardNvas": list(result.forward.nvas),
        "returnNvas": [] if result.reverse is None else list(result.reverse.nvas),
        "path": [hop.node for hop in result.forward.hops],
        "symmetry": result.symmetry.value,
        "reason": result.reason,
    }


_FLOW_FIELDS = ("verdict", "forwardNvas", "returnNvas", "path", "symmetry")


def _compare_flows(a: World, b: World, flows: Sequence[DiffFlow]) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    for flow in flows:
        before, after = _summary(a, flow), _summary(b, flow)
        changed = [f for f in _FLOW_FIELDS if before.get(f) != after.get(f)]
        if changed:
            changes.append(
                {"flow": flow.label(), "changed": changed, "before": before, "after": after}
            )
    return changes


def _rows_diff(
    before: Iterable[tuple[str, ...]], after: Iterable[tuple[str, ...]]
) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    old, new = set(before), set(after)
    return sorted(new - old), sorted(old - new)


def _effective_rows(world: World, nic: str) -> list[tuple[str, ...]] | None:
    try:
        table = to_az_json(world.fabric.effective_routes(nic))
    except (KeyError, ValueError):
        return None
    return [tuple(_text(row.get(key)) for key in _EFFECTIVE_KEYS) for row in table["value"]]


def _text(value: object) -> str:
    """A cell of an az JSON row as text (lists joined with commas)."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def _nics(world: World) -> dict[str, str]:
    """NIC name -> the VM or NVA that owns it."""
    owners = {str(vm.nic): name for name, vm in world.vms.items()}
    owners.update({str(nva.nic): name for name, nva in world.nvas.items()})
    return owners


_EFFECTIVE_KEYS = ("addressPrefix", "nextHopType", "nextHopIpAddress", "state", "source")


def _compare_effective(a: World, b: World) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    owners = {**_nics(a), **_nics(b)}
    for nic in sorted(owners):
        before, after = _effective_rows(a, nic), _effective_rows(b, nic)
        if before is None or after is None:
            changes.append(
                {"nic": nic, "owner": owners[nic], "onlyIn": "A" if after is None else "B"}
            )
            continue
        added, removed = _rows_diff(before, after)
        if added or removed:
            changes.append(
                {
                    "nic": nic,
                    "owner": owners[nic],
                    "added": [dict(zip(_EFFECTIVE_KEYS, r, strict=True)) for r in added],
                    "removed": [dict(zip(_EFFECTIVE_KEYS, r, strict=True)) for r in removed],
                }
            )
    return changes


_ROUTE_KEYS = ("network", "nextHop", "asPath")


def _route_rows(world: World, rs: str, peering: str, kind: str) -> dict[str, list[tuple[str, ...]]]:
    node = world.route_servers.get(rs)
    if node is None or peering not in {p.name for p in node.server.peerings()}:
        return {}
    server = node.server
    tables = (
        server.learned_routes(peering) if kind == "learned" else server.advertised_routes(peering)
    )
    return {
        role: [tuple(str(row.get(k, "")) for k in _ROUTE_KEYS) for row in rows]
        for role, rows in tables.items()
    }


def _peerings(world: World) -> set[tuple[str, str]]:
    return {
        (rs, peering.name)
        for rs, node in world.route_servers.items()
        for peering in node.server.peerings()
    }


def _compare_route_server(a: World, b: World) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    in_a, in_b = _peerings(a), _peerings(b)
    for rs, peering in sorted(in_a | in_b):
        if (rs, peering) not in in_a or (rs, peering) not in in_b:
            only = "A" if (rs, peering) in in_a else "B"
            changes.append({"routeServer": rs, "peering": peering, "onlyIn": only})
            continue
        for kind in ("learned", "advertised"):
            before = _route_rows(a, rs, peering, kind)
            after = _route_rows(b, rs, peering, kind)
            for role in _ROLES:
                added, removed = _rows_diff(before.get(role, []), after.get(role, []))
                if added or removed:
                    changes.append(
                        {
                            "routeServer": rs,
                            "peering": peering,
                            "instance": role,
                            "kind": kind,
                            "added": [dict(zip(_ROUTE_KEYS, r, strict=True)) for r in added],
                            "removed": [dict(zip(_ROUTE_KEYS, r, strict=True)) for r in removed],
                        }
                    )
    return changes


def compare_designs(
    a: Topology, b: Topology, flows: Sequence[DiffFlow] | None = None
) -> DesignDiff:
    """Build both designs as model Worlds at time 0 (BGP converged, probes as the
    topology states them) and compare them; ``flows`` default to ``generated_flows``."""
    world_a, world_b = World.from_topology(a, 0.0), World.from_topology(b, 0.0)
    chosen = list(flows) if flows is not None else generated_flows((world_a, world_b))
    return DesignDiff(
        flows=_compare_flows(world_a, world_b, chosen),
        effective_routes=_compare_effective(world_a, world_b),
        route_server_routes=_compare_route_server(world_a, world_b),
        flows_compared=len(chosen),
    )

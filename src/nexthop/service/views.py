"""Read views over the ``World``, in the JSON shapes of the Azure CLI where Azure has
the command (``az network routeserver peering …``, ``az network nic
show-effective-route-table``), and plain JSON elsewhere.

This module is the only place that knows the World's attribute names, so the
façade stays stable if the model changes.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
from typing import Any

from nexthop.bgp.wire.errors import LocalProtocolError
from nexthop.config import Topology
from nexthop.config.schema import RouteServerPeering
from nexthop.routeserver import ConfigError, PeeringState
from nexthop.service.errors import ControlPlaneError, NotFound
from nexthop.world import World, WorldError, generate_flows, run_traffic
from nexthop.world import trace as trace_flow

__all__ = [
    "advertised_routes",
    "backend_health",
    "effective_route_table",
    "fail_nva",
    "jsonable",
    "lab_status",
    "learned_routes",
    "peering",
    "peerings",
    "restore_nva",
    "route_server",
    "trace",
    "traffic",
]

BGP_CONNECTION_TYPE = "Microsoft.Network/virtualHubs/bgpConnections"


def jsonable(value: Any) -> Any:
    """Dataclasses, enums, addresses and tuples -> plain JSON data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def route_server(world: World, name: str) -> Any:
    node = world.route_servers.get(name)
    if node is None:
        raise NotFound("route server", name)
    return node.server


def _peering_config(topology: Topology, rs: str, name: str) -> RouteServerPeering:
    server = topology.route_server(rs)
    if server is None:
        raise NotFound("route server", rs)
    for p in server.peerings:
        if p.name == name:
            return p
    raise NotFound("peering", name, f"route server {rs!r}")


def _connection_state(statuses: dict[str, Any]) -> str:
    states = [s.state for s in statuses.values()]
    if all(s is PeeringState.ESTABLISHED for s in states):
        return "Connected"
    if any(s is PeeringState.ESTABLISHED for s in states):
        return "Connecting"
    return "NotConnected"


def _peering_json(p: RouteServerPeering, statuses: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": p.name,
        "peerAsn": p.peer_asn,
        "peerIp": str(p.peer_ip),
        "provisioningState": "Succeeded",
        "connectionState": _connection_state(statuses),
        "type": BGP_CONNECTION_TYPE,
    }


def peerings(world: World, topology: Topology, rs: str) -> list[dict[str, Any]]:
    server = topology.route_server(rs)
    if server is None:
        raise NotFound("route server", rs)
    return [
        _peering_json(p, route_server(world, rs).peering_status(p.name)) for p in server.peerings
    ]


def peering(world: World, topology: Topology, rs: str, name: str) -> dict[str, Any]:
    p = _peering_config(topology, rs, name)
    statuses = route_server(world, rs).peering_status(name)
    out = _peering_json(p, statuses)
    out["instances"] = {role: jsonable(s) for role, s in statuses.items()}
    return out


def learned_routes(world: World, rs: str, name: str) -> dict[str, list[dict[str, Any]]]:
    try:
        rows = route_server(world, rs).learned_routes(name)
    except (ConfigError, LocalProtocolError, KeyError):
        raise NotFound("peering", name, f"route server {rs!r}") from None
    return {role: [dict(r) for r in routes] for role, routes in rows.items()}


def advertised_routes(world: World, rs: str, name: str) -> dict[str, list[dict[str, Any]]]:
    try:
        rows = route_server(world, rs).advertised_routes(name)
    except (ConfigError, LocalProtocolError, KeyError):
        raise NotFound("peering", name, f"route server {rs!r}") from None
    return {role: [dict(r) for r in routes] for role, routes in rows.items()}


def _nic_name(world: World, name: str) -> str:
    """Accept a NIC name, or the VM/NVA owning the NIC."""
    for table in (world.vms, world.nvas):
        node = table.get(name)
        if node is not None:
            return str(node.nic)
    return name


def effective_route_table(world: World, nic: str) -> dict[str, list[dict[str, Any]]]:
    try:
        table = world.fabric.effective_route_table(_nic_name(world, nic))
    except (KeyError, ValueError):
        raise NotFound("NIC", nic) from None
    return jsonable(table)  # type: ignore[no-any-return]


def backend_health(world: World, lb: str) -> dict[str, Any]:
    node = world.load_balancers.get(lb)
    if node is None:
        raise NotFound("load balancer", lb)
    return {
        "name": lb,
        "frontendIp": str(ipaddress.IPv4Address(node.frontend_ip)),
        "loadBalancingRules": [
            jsonable(node.engine.rule_health(rule.name)) for rule in node.engine.lb.rules
        ],
    }


def trace(world: World, source: str, destination: str, protocol: str, port: int) -> dict[str, Any]:
    try:
        result = trace_flow(world, source, destination, protocol, dst_port=port, now=world.now)
    except WorldError as exc:
        raise ControlPlaneError("bad_trace", str(exc)) from None
    return jsonable(result.to_dict())  # type: ignore[no-any-return]


def settle_time(world: World) -> float:
    """Model seconds after which every probe, heartbeat and election has reacted to a
    change: the slowest probe's interval x (threshold + 1), the slowest HA dead
    interval plus one heartbeat, plus one second (timers as the World resolved them)."""
    longest = 0.0
    for lb in world.load_balancers.values():
        for probe in lb.engine.lb.probes:
            longest = max(longest, probe.interval * (probe.probe_threshold + 1))
    for nva in world.nvas.values():
        if nva.ha is not None:
            longest = max(longest, nva.ha.config.dead_interval + nva.ha.config.interval)
    return longest + 1.0


def fail_nva(world: World, nva: str) -> float:
    """Fail ``nva`` now (its BGP sessions drop at once, as after the hold timer) and run
    the model until everything has noticed; returns the model seconds that took."""
    settle = settle_time(world)
    world.fail_nva(nva, world.now, bgp_down_after=0)
    world.advance(world.now + settle)
    return settle


def restore_nva(world: World, nva: str) -> float:
    settle = settle_time(world)
    world.restore_nva(nva, world.now)
    world.advance(world.now + settle)
    return settle


def lab_status(world: World, topology: Topology, failed: list[str]) -> dict[str, Any]:
    nvas = []
    for n in topology.nvas:
        node = world.nvas.get(n.name)
        nvas.append(
            {
                "name": n.name,
                "ip": str(n.nic.ip),
                "up": node.running if node is not None else False,
                "failed": n.name in failed,
                "established": sorted(f"{rs}/{inst}" for rs, inst in node.established_now)
                if node is not None
                else [],
            }
        )
    return {"nvas": nvas, "failed": list(failed)}


def traffic(
    world: World, flows: int, source: str | None, destination: str | None, seed: int = 0
) -> dict[str, Any]:
    """Run ``flows`` generated flows (deterministic for a ``seed``); the report without
    the per-flow list (failures are listed)."""
    try:
        specs = generate_flows(world, flows, seed=seed, source=source, destination=destination)
        report = run_traffic(world, specs, world.now)
    except WorldError as exc:
        raise ControlPlaneError("bad_traffic", str(exc)) from None
    data = report.to_dict()
    data.pop("flows", None)
    return jsonable(data)  # type: ignore[no-any-return]

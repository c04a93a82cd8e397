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
from urllib.parse import urlencode

from nexthop.bgp.wire.errors import LocalProtocolError
from nexthop.config import Topology
from nexthop.config.schema import RouteServerPeering
from nexthop.net.prefix import Prefix, parse_prefix
from nexthop.routeserver import ConfigError, PeeringState, PeeringStatus
from nexthop.routeserver.instance import RoutePage
from nexthop.service.errors import ControlPlaneError, NotFound
from nexthop.service.walltime import WallClock
from nexthop.vnet import to_az_json
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
    "next_link",
    "parse_window",
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


def peering(
    world: World, topology: Topology, rs: str, name: str, wall: WallClock
) -> dict[str, Any]:
    """``az network routeserver peering show`` plus per instance state and counters;
    the times the core keeps on its clock (``established_at``, ``idle_hold_until``)
    are rendered as ISO 8601 UTC through ``wall`` (issue 10)."""
    p = _peering_config(topology, rs, name)
    statuses = route_server(world, rs).peering_status(name)
    out = _peering_json(p, statuses)
    out["instances"] = {role: _status_json(s, wall) for role, s in statuses.items()}
    live_bfd = world.route_servers[rs].bfd
    for role, instance in out["instances"].items():
        # The BFD session (docs/bfd.md), None when the peering runs none.
        bfd = live_bfd.bfd_status(role, name) if live_bfd is not None else None
        instance["bfd"] = jsonable(bfd) if bfd is not None else None
    return out


def _status_json(status: PeeringStatus, wall: WallClock) -> dict[str, Any]:
    out: dict[str, Any] = jsonable(status)
    for key in CLOCK_FIELDS:
        out[key] = wall.iso(getattr(status, key))
    return out


CLOCK_FIELDS = ("established_at", "idle_hold_until")
"""``PeeringStatus`` fields holding a reading of the core's clock."""


def parse_window(prefix: str | None, skip: int, top: int | None) -> Prefix | None:
    """Check a page request; the parsed ``prefix`` (None: every row). Bad input is a
    ``ControlPlaneError`` naming the parameter (``prefix``, ``skip`` or ``top``)."""
    if skip < 0:
        raise ControlPlaneError("bad_page", f"skip must be >= 0, got {skip}", "skip")
    if top is not None and top < 1:
        raise ControlPlaneError("bad_page", f"top must be >= 1, got {top}", "top")
    if prefix is None:
        return None
    try:
        return parse_prefix(prefix)
    except ValueError as exc:
        raise ControlPlaneError("bad_prefix", str(exc), "prefix") from None


def next_link(prefix: str | None, skip: int, top: int | None, more: bool) -> str | None:
    """The query of the page after rows ``skip``..``skip + top`` (``?skip=…&top=…``
    plus ``prefix`` when given; the API makes it an absolute URL), None when this
    page was the last (``more`` false)."""
    if not more or top is None:
        return None
    query: dict[str, str | int] = {"skip": skip + top, "top": top}
    if prefix is not None:
        query["prefix"] = prefix
    return "?" + urlencode(query)


def _route_pages(
    pages: dict[str, RoutePage], prefix: str | None, skip: int, top: int | None
) -> dict[str, Any]:
    """The CLI-shaped body (rows by instance role) plus ``nextLink`` while any
    instance has rows after this page (each instance pages its own rows)."""
    out: dict[str, Any] = {role: [dict(r) for r in rows] for role, (rows, _) in pages.items()}
    more = any(skip + len(rows) < total for rows, total in pages.values())
    link = next_link(prefix, skip, top, more)
    if link is not None:
        out["nextLink"] = link
    return out


def learned_routes(
    world: World,
    rs: str,
    name: str,
    *,
    prefix: str | None = None,
    skip: int = 0,
    top: int | None = None,
) -> dict[str, Any]:
    """``az network routeserver peering list-learned-routes``: per instance, rows
    ``skip``..``skip + top`` (within ``prefix`` when given: equal or more specific)
    and ``nextLink`` when more rows exist. Costs the page (``routeserver.paging``)."""
    return _peering_routes(world, rs, name, "learned", prefix, skip, top)


def advertised_routes(
    world: World,
    rs: str,
    name: str,
    *,
    prefix: str | None = None,
    skip: int = 0,
    top: int | None = None,
) -> dict[str, Any]:
    """``learned_routes`` for ``list-advertised-routes``."""
    return _peering_routes(world, rs, name, "advertised", prefix, skip, top)


def _peering_routes(  # noqa: PLR0917 - the two views' parameters
    world: World,
    rs: str,
    name: str,
    kind: str,
    prefix: str | None,
    skip: int,
    top: int | None,
) -> dict[str, Any]:
    within = parse_window(prefix, skip, top)
    try:
        server = route_server(world, rs)
        page = server.learned_routes_page if kind == "learned" else server.advertised_routes_page
        pages = page(name, within=within, skip=skip, top=top)
    except (ConfigError, LocalProtocolError, KeyError):
        raise NotFound("peering", name, f"route server {rs!r}") from None
    return _route_pages(pages, prefix, skip, top)


def _nic_name(world: World, name: str) -> str:
    """Accept a NIC name, or the VM/NVA owning the NIC."""
    for table in (world.vms, world.nvas):
        node = table.get(name)
        if node is not None:
            return str(node.nic)
    return name


def effective_route_table(
    world: World,
    nic: str,
    *,
    prefix: str | None = None,
    skip: int = 0,
    top: int | None = None,
) -> dict[str, Any]:
    """``az network nic show-effective-route-table``: routes ``skip``..``skip + top``
    (within ``prefix`` when given) as ``value`` and ``nextLink`` when more exist.
    ``skip``/``top`` count routes; a VPN gateway route with ECMP next hops is one
    route and several rows, as ``az`` prints it (spec §1.6)."""
    within = parse_window(prefix, skip, top)
    try:
        routes, total = world.fabric.effective_routes_page(
            _nic_name(world, nic), prefix=within, skip=skip, top=top
        )
    except (KeyError, ValueError):
        raise NotFound("NIC", nic) from None
    out: dict[str, Any] = jsonable(to_az_json(routes))
    link = next_link(prefix, skip, top, skip + len(routes) < total)
    if link is not None:
        out["nextLink"] = link
    return out


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

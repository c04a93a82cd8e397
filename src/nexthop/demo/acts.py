"""The demo's four acts, each a live lab of one example, returning JSON-ready facts.

The acts follow the Azure Route Server article "next hop IP support"
(route-server-spec §1.8) and the NVA HA guide:

1. ``next_hop_ip``: the article's four steps on ``next-hop-ip.yaml``: the NVAs'
   routes with next hop 10.1.0.100 as the route server learned them (Step 1), the
   VM's effective route it programmed (Step 2), the load balancer's choice of a
   healthy NVA (Step 3) and the NVA's hand-off to on-premises with the reply
   through the same NVA (Step 4).
2. ``active_passive``: ``active-passive.yaml``; the active NVA is killed and the
   failover to the standby is measured (``nexthop.lab.measure_failover``).
3. ``active_active``: ``active-active.yaml``; generated traffic, its per-NVA
   distribution and symmetry, then the same flows in the sans-IO model with the
   two switches the lab does not have (an order-sensitive ILB hash, a branch
   router choosing the return NVA by ECMP): the asymmetric-routing evidence.
4. ``cross_region``: ``cross-region.yaml``; the loader's warning and a trace
   dropped because the next hop is a frontend in another region.

Every number comes from the running lab (or, for the what-ifs, the model run on
the same flows); nothing is written in advance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nexthop.config import Topology, load_topology
from nexthop.demo.live import converge, running_lab
from nexthop.lab import Lab, LabTimers
from nexthop.lint import lint_topology
from nexthop.service.views import effective_route_table
from nexthop.world import ReturnPath, TrafficReport, World, WorldOptions, run_traffic
from nexthop.world.traffic import FlowSpec, generate_flows

__all__ = [
    "TRAFFIC_FLOWS",
    "Step",
    "active_active",
    "active_passive",
    "cross_region",
    "next_hop_ip",
]

Step = Callable[[str], None]
"""Told what the demo is doing now (the progress spinner's text)."""

TRAFFIC_FLOWS = 300
TRAFFIC_SEED = 1
FAILOVER_TIMEOUT_S = 90.0


def _load(path: Path) -> tuple[Topology, list[str]]:
    loaded = load_topology(path)
    return loaded.topology, [str(w) for w in lint_topology(loaded.topology, loaded).warnings]


def _first_host(topology: Topology) -> tuple[str, str]:
    """(VM, an address of the first branch) for the demo's flow."""
    branch = topology.branches[0]
    return topology.vms[0].name, str(branch.prefixes[0].network_address + 1)


def _learned(lab: Lab, rs: str) -> list[dict[str, Any]]:
    server = lab.hosts[rs].route_server
    rows: list[dict[str, Any]] = []
    for peering in server.peerings():
        for instance, routes in server.learned_routes(peering.name).items():
            rows += [{"peering": peering.name, "instance": instance, **r} for r in routes]
    return rows


def _health(lab: Lab) -> list[dict[str, Any]]:
    status = lab.status()
    return [
        {"load_balancer": lb, **{k: row[k] for k in ("name", "ipAddress", "state", "reason")}}
        for lb, rows in status["backend_health"].items()
        for row in rows
    ]


def _ha(lab: Lab) -> dict[str, str | None]:
    return {name: row["ha"] for name, row in lab.status()["nvas"].items()}


def _sessions(lab: Lab) -> list[dict[str, Any]]:
    return [
        {k: s[k] for k in ("route_server", "instance", "nva", "peer_ip", "stand_in", "state")}
        for s in lab.status()["sessions"]
    ]


def _established(lab: Lab) -> int:
    return sum(1 for s in lab.status()["sessions"] if s["state"] == "Established")


def _summary(report: TrafficReport) -> dict[str, Any]:
    data = report.to_dict()
    del data["flows"], data["failures"], data["at"]
    return data


def _example_flow(report: TrafficReport) -> dict[str, Any] | None:
    flows = report.asymmetric_flows
    return flows[0].to_dict() if flows else None


async def next_hop_ip(
    path: Path, timers: LabTimers, timeout: float, step: Step, cleanup: list[dict[str, Any]]
) -> dict[str, Any]:
    """Act 1: the article's four-step traffic flow, live."""
    topology, warnings = _load(path)
    vm, destination = _first_host(topology)
    prefix = str(topology.branches[0].prefixes[0])
    rs = topology.route_servers[0].name
    step(f"bringing up {path.name}: route server, NVAs, probes on loopback")
    start = asyncio.get_running_loop().time()
    async with running_lab(topology, timers, cleanup) as lab:
        step("waiting for BGP sessions, routes and probe verdicts")
        converged = await converge(lab, timeout, start)
        world = lab.synced_world()
        routes = effective_route_table(world, vm)["value"]
        for_prefix = [r for r in routes if prefix in r["addressPrefix"]]
        effective = [r for r in for_prefix if r["state"] == "Active"]
        trace = lab.trace(vm, destination)
        return {
            "file": path.name,
            "topology": topology.name,
            "warnings": warnings,
            "converged_s": converged,
            "sessions_established": _established(lab),
            "route_server": rs,
            "prefix": prefix,
            "vm": vm,
            "destination": destination,
            "sessions": _sessions(lab),
            "learned_routes": _learned(lab, rs),
            "programmed": lab.status()["vnet_routes"][rs],
            "effective_routes": for_prefix,
            "effective_route": effective[0] if len(effective) == 1 else None,
            "backend_health": _health(lab),
            "trace": trace.to_dict(),
        }


async def active_passive(
    path: Path, timers: LabTimers, timeout: float, step: Step, cleanup: list[dict[str, Any]]
) -> dict[str, Any]:
    """Act 2: kill the active NVA, measure the failover to the standby."""
    topology, warnings = _load(path)
    rs = topology.route_servers[0].name
    step(f"bringing up {path.name}: an HA pair with a heartbeat")
    start = asyncio.get_running_loop().time()
    async with running_lab(topology, timers, cleanup) as lab:
        step("waiting for the election, sessions and probe verdicts")
        converged = await converge(lab, timeout, start)
        established = _established(lab)
        ha_before = _ha(lab)
        health_before = _health(lab)
        learned = _learned(lab, rs)
        step("killing the active NVA and timing the failover")
        result = await lab.measure_failover(timeout=FAILOVER_TIMEOUT_S)
        step("waiting for the probes to mark the killed NVA down")
        await lab.wait_until(
            lambda: lab.backend_state(topology.load_balancers[0].name, result.nva) == "Down",
            timeout,
        )
        return {
            "file": path.name,
            "topology": topology.name,
            "warnings": warnings,
            "converged_s": converged,
            "sessions_established": established,
            "ha_before": ha_before,
            "backend_health_before": health_before,
            "learned_routes": learned,
            "failover": result.to_dict(),
            "moved_to_standby": result.moved_to_standby,
            "ha_after": _ha(lab),
            "backend_health_after": _health(lab),
        }


def _model_run(topology: Topology, flows: list[FlowSpec], options: WorldOptions) -> TrafficReport:
    world = World.from_topology(topology, 0.0, options)
    return run_traffic(world, flows, world.now)


async def active_active(
    path: Path, timers: LabTimers, timeout: float, step: Step, cleanup: list[dict[str, Any]]
) -> dict[str, Any]:
    """Act 3: traffic over three active NVAs; symmetric with the ILB's symmetric
    hash, and what breaks it."""
    topology, warnings = _load(path)
    step(f"bringing up {path.name}: three active NVAs")
    start = asyncio.get_running_loop().time()
    async with running_lab(topology, timers, cleanup) as lab:
        step("waiting for BGP sessions, routes and probe verdicts")
        converged = await converge(lab, timeout, start)
        step(f"running {TRAFFIC_FLOWS} flows through the live lab")
        flows = generate_flows(lab.synced_world(), TRAFFIC_FLOWS, seed=TRAFFIC_SEED)
        live = lab.traffic(flows)
        health = _health(lab)
        established = _established(lab)
    step("the same flows in the model, without the symmetric hash / with branch ECMP")
    what_ifs = []
    for name, options in (
        ("order-sensitive ILB hash", WorldOptions(symmetric_hash=False)),
        ("branch router ECMP return", WorldOptions(return_path=ReturnPath.BRANCH_ECMP)),
    ):
        report = _model_run(topology, flows, options)
        what_ifs.append(
            {
                "name": name,
                "options": {
                    "symmetric_hash": options.symmetric_hash,
                    "return_path": options.return_path.value,
                },
                **_summary(report),
                "example": _example_flow(report),
            }
        )
    return {
        "file": path.name,
        "topology": topology.name,
        "warnings": warnings,
        "converged_s": converged,
        "sessions_established": established,
        "backend_health": health,
        "nvas": sorted(nva.name for nva in topology.nvas),
        "live": _summary(live),
        "what_if": what_ifs,
    }


async def cross_region(
    path: Path, timers: LabTimers, timeout: float, step: Step, cleanup: list[dict[str, Any]]
) -> dict[str, Any]:
    """Act 4: a valid file that cannot work: the next hop is in another region."""
    topology, warnings = _load(path)
    vm, destination = _first_host(topology)
    rs = topology.route_servers[0]
    lb = topology.load_balancers[0]
    step(f"bringing up {path.name}: the load balancer in another region")
    start = asyncio.get_running_loop().time()
    async with running_lab(topology, timers, cleanup) as lab:
        step("waiting for BGP sessions, routes and probe verdicts")
        converged = await converge(lab, timeout, start)
        trace = lab.trace(vm, destination)
        programmed = lab.status()["vnet_routes"][rs.name]
        health = _health(lab)
        established = _established(lab)
    return {
        "file": path.name,
        "topology": topology.name,
        "warnings": warnings,
        "converged_s": converged,
        "sessions_established": established,
        "backend_health": health,
        "route_server_region": topology.region_of(rs.vnet),
        "frontend": str(lb.frontend.ip),
        "frontend_region": topology.region_of(lb.frontend.vnet),
        "programmed": programmed,
        "vm": vm,
        "destination": destination,
        "trace": trace.to_dict(),
        "dropped": trace.drop.value if trace.drop is not None else None,
    }

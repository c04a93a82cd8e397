"""Rich narration of the demo: one section per act, every figure read from its facts.

``render_act(console, name, facts)`` prints the act ``name`` of ``nexthop.demo.acts``
as soon as it is over; ``render_header`` and ``render_footer`` frame the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table

__all__ = ["render_act", "render_footer", "render_header"]

Facts = dict[str, Any]


def _table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    return table


def _hops(leg: Facts) -> Table:
    title = f"{leg['direction']}: {leg['source']} {leg['source_ip']} -> {leg['destination_ip']}"
    return _table(
        title,
        ("#", "Hop", "Node", "Why"),
        ((i, h["kind"], h["node"], h["reason"]) for i, h in enumerate(leg["hops"], 1)),
    )


def _health(rows: Sequence[Facts], title: str) -> Table:
    return _table(
        title,
        ("Backend", "IP", "State", "Reason"),
        ((r["name"], r["ipAddress"], r["state"], r["reason"]) for r in rows),
    )


def _learned(rows: Sequence[Facts], title: str) -> Table:
    return _table(
        title,
        ("Peering", "Instance", "Network", "Next hop", "Source peer", "AS path", "Origin"),
        (
            (
                r["peering"],
                r["instance"],
                r["network"],
                r["nextHop"],
                r["sourcePeer"],
                r["asPath"],
                r["origin"],
            )
            for r in rows
        ),
    )


def _lab_line(facts: Facts) -> str:
    health = facts.get("backend_health") or facts.get("backend_health_before") or []
    up = sum(1 for r in health if r["state"] == "Up")
    return (
        f"[bold]{facts['file']}[/] is up: {facts['sessions_established']} BGP sessions "
        f"Established over loopback TCP, {up}/{len(health)} backends probed Up by real "
        f"probes; converged {facts['converged_s']:.2f} s after start."
    )


def render_header(console: Console, timers: Facts, examples: str) -> None:
    probes = (
        f"probes every {timers['probe_interval_s']:g} s x {timers['probe_threshold']}, "
        f"heartbeat {timers['heartbeat_interval_s']:g} s x {timers['heartbeat_dead_after']}, "
        if timers["probe_interval_s"] is not None
        else ""
    )
    console.print(
        Panel(
            "Azure Route Server with [bold]next hop IP[/] support, run live on loopback: "
            "real BGP sessions, real health probes, real heartbeats.\n"
            f"Timers: {timers['name']} ({probes}BGP hold {timers['bgp_hold_time_s']} s). "
            f"Topologies: {examples}",
            title="nexthop demo",
        )
    )


def _next_hop_ip(console: Console, f: Facts) -> None:
    console.print(Rule("1. Next hop IP: the article's traffic flow"))
    console.print(_lab_line(f))
    rows = f["learned_routes"]
    hops = sorted({r["nextHop"] for r in rows})
    console.print(
        f"\n[bold]Step 1[/]: the NVAs advertise {f['prefix']} with next hop "
        f"{', '.join(hops)} to both route server instances."
    )
    console.print(_learned(rows, f"list-learned-routes, route server {f['route_server']}"))
    console.print(
        f"{len(rows)} rows for {f['prefix']}: the same route from "
        f"{len({r['peering'] for r in rows})} NVAs on each instance, all with next hop "
        f"{', '.join(hops)} (the load balancer frontend, not the NVAs)."
    )
    route = f["effective_route"]
    console.print(
        f"\n[bold]Step 2[/]: the route server programs the VNet; "
        f"{f['vm']}'s effective route for {f['prefix']}:"
    )
    if route is None:
        console.print("[red]no single active route[/]")
    else:
        console.print(
            _table(
                f"show-effective-route-table {f['vm']}",
                ("Source", "State", "Address prefix", "Next hop type", "Next hop IP"),
                [
                    (
                        route["source"],
                        route["state"],
                        ", ".join(route["addressPrefix"]),
                        route["nextHopType"],
                        ", ".join(route["nextHopIpAddress"]),
                    )
                ],
            )
        )
    for other in f["effective_routes"]:
        if other != route and other["state"] == "Invalid":
            console.print(
                f"The {other['source']} route for {f['prefix']} (next hop type "
                f"{other['nextHopType']}) is Invalid: the route server's route overrides it."
            )
    trace = f["trace"]
    forward, reverse = trace["forward"], trace["reverse"]
    picked = forward["nvas"][0] if forward["nvas"] else "none"
    console.print(
        f"\n[bold]Step 3[/]: {f['vm']} sends to {f['destination']}; the route points at the "
        f"load balancer, which picks a healthy NVA ({picked})."
    )
    console.print(_health(f["backend_health"], "backend health"))
    console.print(_hops(forward))
    back = ", ".join(reverse["nvas"]) if reverse is not None and reverse["nvas"] else "no NVA"
    console.print(
        f"\n[bold]Step 4[/]: {picked} forwards to {forward['endpoint']}; the reply comes "
        f"back through {back}."
    )
    if reverse is not None:
        console.print(_hops(reverse))
    style = "green" if trace["symmetry"] == "symmetric" else "red"
    console.print(Panel(f"{trace['symmetry']}: {trace['reason']}", style=style, title="verdict"))


def _active_passive(console: Console, f: Facts) -> None:
    console.print(Rule("2. Active-passive: failover to the standby"))
    console.print(_lab_line(f))
    roles = ", ".join(f"{n} {r}" for n, r in f["ha_before"].items())
    console.print(f"HA election over the heartbeat: {roles}.")
    console.print(_learned(f["learned_routes"], "list-learned-routes"))
    console.print(
        _health(
            f["backend_health_before"],
            "backend health before (only the HA-active NVA answers the probe)",
        )
    )
    r = f["failover"]
    console.print(
        f"New flows {r['source']} -> {r['destination']} go through {r['before']}. "
        f"Killing {r['nva']} (TCP reset, probe and heartbeat stop)..."
    )
    console.print(
        _table(
            "timeline after the kill",
            ("t (ms)", "event", "subject"),
            ((f"{t * 1000:.0f}", kind, subject) for t, kind, subject in r["timeline"]),
        )
    )
    if r["failover_time"] is None:
        console.print(Panel("no flow got through another NVA", style="red", title="failover"))
    else:
        console.print(
            Panel(
                f"{r['failover_time']:.3f} s from the kill to the first new flows through "
                f"{r['after']} (timers: {r['timers']})",
                style="green" if f["moved_to_standby"] else "red",
                title="measured failover",
            )
        )
    console.print(
        f"{r['probes_sent']} new flows traced during the failover, {r['probes_dropped']} lost. "
        f"Of {r['existing_flows']} flows open before the kill: {r['stayed_on_failed']} stayed "
        f"pinned to {r['nva']} (established TCP flows keep their backend), "
        f"{r['moved_from_failed']} moved, {r['moved_from_survivors']} of other NVAs moved."
    )
    console.print(_health(f["backend_health_after"], "backend health after"))


def _traffic_row(label: str, s: Facts, nvas: Sequence[str]) -> list[object]:
    per = s["per_nva"]
    cells: list[object] = [label, s["total"], s["delivered"], s["symmetric"], s["asymmetric"]]
    for nva in nvas:
        row = per.get(nva, {"forward": 0, "return": 0})
        cells.append(f"{row['forward']}/{row['return']}")
    return cells


def _active_active(console: Console, f: Facts) -> None:
    console.print(Rule("3. Active-active: distribution and symmetry"))
    console.print(_lab_line(f))
    nvas = f["nvas"]
    rows = [_traffic_row("live lab: symmetric ILB hash, return via the ILB", f["live"], nvas)]
    rows += [_traffic_row(f"model: {w['name']}", w, nvas) for w in f["what_if"]]
    console.print(
        _table(
            f"{f['live']['total']} flows to on-premises (per NVA: forward/return)",
            ("run", "flows", "delivered", "symmetric", "asymmetric", *nvas),
            rows,
        )
    )
    console.print(
        "The live lab has the ILB's symmetric hash and the reply entering through the ILB: "
        "every flow keeps its NVA. The model runs the same flows with the switches the "
        "lab does not have:"
    )
    for w in f["what_if"]:
        example = w["example"]
        if example is not None:
            console.print(
                f"  {w['name']}: {w['asymmetric']} asymmetric, e.g. {example['protocol']} "
                f"{example['source']}:{example['src_port']} -> {example['destination_ip']}:"
                f"{example['dst_port']} out via {example['forward_nva']}, back via "
                f"{example['return_nva']}"
            )
    console.print("Stateful NVAs drop such replies unless they SNAT (spec §1.8).")


def _cross_region(console: Console, f: Facts) -> None:
    console.print(Rule("4. Cross-region: a valid file that cannot work"))
    for warning in f["warnings"]:
        console.print(f"[yellow]warning:[/] {warning}")
    console.print(_lab_line(f))
    for row in f["programmed"]:
        console.print(
            f"The route server ({f['route_server_region']}) still programs {row['prefix']} -> "
            f"{', '.join(row['next_hops'])}, a frontend in {f['frontend_region']}."
        )
    trace = f["trace"]
    console.print(_hops(trace["forward"]))
    console.print(
        Panel(
            f"dropped: {f['dropped']}: {trace['forward']['reason']}",
            style="red" if f["dropped"] else "yellow",
            title="verdict",
        )
    )


ACTS: dict[str, Callable[[Console, Facts], None]] = {
    "next_hop_ip": _next_hop_ip,
    "active_passive": _active_passive,
    "active_active": _active_active,
    "cross_region": _cross_region,
}


def render_act(console: Console, name: str, facts: Facts) -> None:
    ACTS[name](console, facts)
    console.print()


def render_footer(console: Console, report: Facts) -> None:
    cleanup = report["cleanup"]
    labs = len({c["lab"] for c in cleanup["checked"]})
    left = cleanup["listening"]
    state = (
        "none still listening"
        if not left
        else "[red]still listening: " + ", ".join(c["address"] for c in left) + "[/]"
    )
    console.print(
        Panel(
            f"{labs} labs brought down (Cease to every peer); {len(cleanup['checked'])} "
            f"listeners checked after down(): {state}; "
            f"{len(cleanup['tasks_left'])} tasks left. "
            f"Wall time {report['wall_time_s']:.1f} s.",
            title="done",
        )
    )

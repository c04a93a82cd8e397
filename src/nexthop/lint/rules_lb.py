"""Lint rules about NVAs behind the internal load balancer: symmetry, failover, probes.

Sources (route-server-spec.md): §1.5 ECMP at the VM host; §1.8 active/active "may
result in asymmetric routing", failover = probe speed; §3 probe interval and
threshold, fail conditions, flow symmetry (one ILB with HA ports), floating IP;
§2 a virtual appliance next hop needs IP forwarding. The failover bound is the
one ``nexthop.world.failover`` derives (its module docstring).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from nexthop.bgp.rib.path import as_path_asns
from nexthop.config.schema import LoadBalancer, Nva
from nexthop.config.types import HaRole, LbProtocol, ResponderMode
from nexthop.lint.context import LintContext
from nexthop.lint.model import Hit, Severity
from nexthop.lint.registry import rule
from nexthop.net.prefix import Prefix

__all__: list[str] = []

MS = 1000.0


def _serving(nva: Nva) -> bool:
    """The NVA answers the probe while the others do too: it has a responder, and it
    is not a standby that only answers when active."""
    r = nva.probe_responder
    if r is None:
        return False
    return r.mode is ResponderMode.ALWAYS or nva.ha.role is not HaRole.STANDBY


def _nvas(ctx: LintContext, lb: LoadBalancer) -> list[Nva]:
    return [n for n in (ctx.topology.nva(m) for m in lb.backend_pool.members) if n is not None]


@rule(
    "asymmetric-active-active",
    Severity.WARNING,
    summary="Active/active NVAs behind a hash that does not keep both directions of a "
    "flow on one NVA.",
    azure="ECMP at the VM host hashes each direction on its own, and a load balancer "
    "keeps a flow's two directions on one NVA only when both cross that one internal "
    "load balancer with an HA-ports rule: otherwise replies may cross another NVA, "
    "which a stateful NVA (firewall) without SNAT drops.",
    fix="One internal load balancer with an HA-ports rule in front of the NVAs, its "
    "frontend as next hop; or active/passive (AS_PATH prepend or a probe only the "
    "active answers); or SNAT on the NVAs.",
    source="route-server-spec §1.5 ECMP; §1.8 Active/active; §3 Flow symmetry; §5 "
    "Asymmetric routing active/active",
)
def asymmetric_active_active(ctx: LintContext) -> Iterator[Hit]:
    """Spec §1.5 (host ECMP per flow, equal AS_PATH length), §1.8 ("may result in
    asymmetric routing") and §3 Flow symmetry (same NVA both ways through one ILB
    with HA ports; not with several LBs)."""
    yield from _host_ecmp(ctx)
    yield from _lb_not_symmetric(ctx)


def _host_ecmp(ctx: LintContext) -> Iterator[Hit]:
    for i, rs in enumerate(ctx.topology.route_servers):
        # prefix -> (AS_PATH length, next hop) per NVA, from its first session
        offers: dict[Prefix, dict[str, tuple[int, int]]] = {}
        done: set[str] = set()
        for n in ctx.sessions():
            if n.rs.name != rs.name or n.nva.name in done:
                continue
            done.add(n.nva.name)
            for prefix, attrs in ctx.advertised(n).items():
                hop = attrs.next_hop if attrs.next_hop is not None else int(n.nva.nic.ip)
                offers.setdefault(prefix, {})[n.nva.name] = (len(as_path_asns(attrs)), hop)
        groups: dict[tuple[int, ...], list[Prefix]] = {}
        for prefix, by_nva in offers.items():
            shortest = min(length for length, _ in by_nva.values())
            hops = sorted({hop for length, hop in by_nva.values() if length == shortest})
            if len(hops) > 1:
                groups.setdefault(tuple(hops), []).append(prefix)
        for group, prefixes in groups.items():
            names = [_owner(ctx, hop) for hop in group]
            more = f" and {len(prefixes) - 1} more" if len(prefixes) > 1 else ""
            yield Hit(
                ("route_servers", i),
                f"{prefixes[0]}{more} reach the VMs with next hops "
                f"{', '.join(names)} at equal AS_PATH length: the VM host picks one per "
                "flow and per direction",
            )


def _owner(ctx: LintContext, hop: int) -> str:
    address = ipaddress.IPv4Address(hop)
    nva = ctx.nva_by_ip.get(address)
    lb = ctx.frontends.get(address)
    owner = f" (NVA {nva.name})" if nva else f" (load balancer {lb.name})" if lb else ""
    return f"{address}{owner}"


def _lb_not_symmetric(ctx: LintContext) -> Iterator[Hit]:
    for i, lb in enumerate(ctx.topology.load_balancers):
        serving = [n for n in _nvas(ctx, lb) if _serving(n)]
        if len(serving) < 2:
            continue
        names = ", ".join(n.name for n in serving)
        others = sorted(
            {o.name for n in serving for o in ctx.pools_of(n.name) if o.name != lb.name}
        )
        if not any(r.protocol is LbProtocol.ALL for r in lb.rules):
            yield Hit(
                ("load_balancers", i, "rules"),
                f"NVAs {names} all answer the probes of {lb.name!r}, which has no HA-ports "
                "rule: the two directions of a flow are not hashed together",
            )
        elif others:
            yield Hit(
                ("load_balancers", i, "backend_pool"),
                f"NVAs {names} all answer the probes of {lb.name!r} and are also behind "
                f"{', '.join(repr(o) for o in others)}: a flow's two directions may cross "
                "different load balancers and NVAs",
            )


def _worst_failover(
    ctx: LintContext, lb: LoadBalancer, interval: float, threshold: int
) -> tuple[float, str]:
    """The latest a new flow avoids a dead backend, ``nexthop.world.failover``'s bound:
    ``(n+1)p`` for the dead one to be marked down; with an active/passive pair in the
    pool the standby first waits its dead timer ``D``: ``D + (n+1)p``."""
    probes = (threshold + 1) * interval
    dead = 0.0
    members = set(lb.backend_pool.members)
    for nva in _nvas(ctx, lb):
        hb = nva.ha.heartbeat
        if nva.ha.role is HaRole.STANDBY and hb is not None and hb.peer in members:
            dead = max(dead, hb.interval_ms * hb.dead_after / MS)
    if dead:
        return dead + probes, (
            f"heartbeat dead timer {dead:g} s + ({threshold} + 1) x {interval:g} s probes"
        )
    return probes, f"({threshold} + 1) x {interval:g} s probes"


@rule(
    "failover-target",
    Severity.WARNING,
    summary="Probe settings make failover slower than the target "
    "(`--failover-target-s`, default 15 s).",
    azure="A dead NVA keeps receiving new flows until the load balancer marks it down: "
    "`threshold` consecutive failed probes, the first up to one interval after the "
    "failure; with active/passive the standby also waits for its heartbeat dead timer "
    "before answering the probe.",
    fix="Lower interval_s (5 s is Azure's minimum) or threshold (Azure's effective "
    "default is 1), or the heartbeat interval / dead_after of the pair.",
    source="route-server-spec §3 Probe interval, Probe threshold, Typical convergence; "
    "§1.8 Design note",
)
def failover_target(ctx: LintContext) -> Iterator[Hit]:
    """Spec §1.8: "Failover speed = LB probe speed"; §3: 5 s probes x 3 failures is
    "10-15 s to reroute away from a failed NVA"."""
    target = ctx.options.failover_target_s
    for i, lb in enumerate(ctx.topology.load_balancers):
        if len(lb.backend_pool.members) < 2:
            continue
        used = {r.probe for r in lb.rules}
        for j, probe in enumerate(lb.probes):
            if probe.name not in used:
                continue
            worst, how = _worst_failover(ctx, lb, float(probe.interval_s), probe.threshold)
            if worst > target:
                yield Hit(
                    ("load_balancers", i, "probes", j),
                    f"failover behind {lb.name!r} can take up to {worst:g} s ({how}), "
                    f"slower than the target of {target:g} s",
                )


@rule(
    "floating-ip-loopback",
    Severity.WARNING,
    summary="A floating IP rule whose backends do not hold the frontend IP on a loopback.",
    azure="With floating IP the load balancer keeps the frontend IP as destination: a "
    "backend without that address on a loopback routes the packet back out (to the "
    "frontend, a loop) or drops it. The topology cannot declare a guest loopback, and "
    "the lab's NVAs do not hold one.",
    fix="Add the frontend IP on a loopback in every backend guest (then "
    "`--ignore floating-ip-loopback`), or set floating_ip: false.",
    source="route-server-spec §3 Floating IP (DSR)",
)
def floating_ip_loopback(ctx: LintContext) -> Iterator[Hit]:
    """Spec §3: "Enabled: the packet keeps the frontend IP as destination (the guest
    needs a loopback with the FE IP)"."""
    for i, lb in enumerate(ctx.topology.load_balancers):
        for j, r in enumerate(lb.rules):
            if r.floating_ip and lb.backend_pool.members:
                yield Hit(
                    ("load_balancers", i, "rules", j, "floating_ip"),
                    f"rule {r.name!r} keeps destination {lb.frontend.ip}, which "
                    f"{', '.join(lb.backend_pool.members)} do not hold on a loopback",
                )


@rule(
    "probe-no-responder",
    Severity.WARNING,
    summary="A backend NVA has no probe responder for a probe of its load balancer.",
    azure="A TCP probe without an answer (or an HTTP probe without a 200) marks the "
    "backend down: the load balancer never sends it new flows.",
    fix="Give the NVA a probe_responder on the probe's protocol and port.",
    source="route-server-spec §3 Fail conditions",
)
def probe_no_responder(ctx: LintContext) -> Iterator[Hit]:
    """Spec §3: TCP fails on no answer or RST; HTTP/S on anything but 200."""
    for i, lb in enumerate(ctx.topology.load_balancers):
        for j, probe in enumerate(lb.probes):
            for nva in _nvas(ctx, lb):
                r = nva.probe_responder
                if r is None or r.port != probe.port or r.protocol is not probe.protocol:
                    yield Hit(
                        ("load_balancers", i, "probes", j),
                        f"NVA {nva.name!r} has no probe responder on "
                        f"{probe.protocol}/{probe.port}; the probe will always mark it down",
                    )


@rule(
    "ip-forwarding-off",
    Severity.WARNING,
    summary="An NVA's NIC has IP forwarding off.",
    azure="Azure delivers to a NIC only the packets addressed to it unless IP forwarding "
    "is on: the traffic this NVA should forward is dropped.",
    fix="Set nic.ip_forwarding: true on the NVA.",
    source="route-server-spec §2 UDR next-hop types (VirtualAppliance: a NIC with IP forwarding)",
)
def ip_forwarding_off(ctx: LintContext) -> Iterator[Hit]:
    """Spec §2: a virtual appliance next hop is a NIC private IP with IP forwarding."""
    for i, nva in enumerate(ctx.topology.nvas):
        if not nva.nic.ip_forwarding:
            yield Hit(
                ("nvas", i, "nic", "ip_forwarding"),
                "without IP forwarding Azure drops the traffic this NVA should forward",
            )

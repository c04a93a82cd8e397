"""Lint rules about what NVAs advertise and how the VNet will route it.

The advertised routes are ``NvaSpeaker.outbound`` per route server neighbor (the
one NVA speaker). Sources (route-server-spec.md): §1.4 next hop kept as sent and
its constraints, prefix acceptance (equal to or inside the VNet space is not
injected; system routes win), the default route programmed on the NVA itself;
§1.6 programming scope; §1.8 next hop IP (same region, the NVAs behind the load
balancer); §1.10 a UDR on GatewaySubnet; §2 selection and NVA placement.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from nexthop.config import to_prefix
from nexthop.config.schema import Nva
from nexthop.config.types import GATEWAY_SUBNET, ROUTE_SERVER_SUBNET, NextHopType
from nexthop.lint.context import LintContext, RsNeighbor
from nexthop.lint.model import Hit, Severity
from nexthop.lint.registry import rule
from nexthop.net.prefix import Prefix
from nexthop.routeserver.rules import injectable

__all__: list[str] = []


def _next_hops(ctx: LintContext) -> Iterator[tuple[RsNeighbor, int, list[Prefix]]]:
    """(neighbor, next hop, prefixes sent with it) per (NVA, route server, next hop)."""
    seen: set[tuple[str, str, int]] = set()
    for n in ctx.rs_neighbors:
        by_hop: dict[int, list[Prefix]] = {}
        for prefix, attrs in ctx.advertised(n).items():
            hop = attrs.next_hop if attrs.next_hop is not None else int(n.nva.nic.ip)
            by_hop.setdefault(hop, []).append(prefix)
        for hop, prefixes in by_hop.items():
            key = (n.nva.name, n.rs.name, hop)
            if key not in seen:
                seen.add(key)
                yield n, hop, prefixes


def _prefixes(prefixes: list[Prefix]) -> str:
    first = str(prefixes[0])
    return first if len(prefixes) == 1 else f"{first} and {len(prefixes) - 1} more"


@rule(
    "cross-region-next-hop",
    Severity.WARNING,
    summary="A route's next hop is a load balancer in another region than the route server.",
    azure="Route Server accepts and programs the route, but a load balancer used as "
    "next hop must be in the route server's region: traffic to these routes fails.",
    fix="Use an internal load balancer in the route server's region (NVAs behind it) "
    "as the next hop.",
    source="route-server-spec §1.8 Constraint; §1.4 Next hop constraints",
)
def cross_region_next_hop(ctx: LintContext) -> Iterator[Hit]:
    """Spec §1.8: "ILB same region as ARS"; cross-region fails (NHIP)."""
    t = ctx.topology
    for n, hop, _ in _next_hops(ctx):
        lb = ctx.frontends.get(ipaddress.IPv4Address(hop))
        if lb is None:
            continue
        lb_region, rs_region = t.region_of(lb.frontend.vnet), t.region_of(n.rs.vnet)
        if lb_region != rs_region:
            yield Hit(
                n.path,
                f"next hop {lb.frontend.ip} is load balancer {lb.name!r} in region "
                f"{lb_region!r}, but route server {n.rs.name!r} is in {rs_region!r}: the "
                "load balancer must be in the route server's region; traffic to these "
                "routes will fail",
                ctx.next_hop_line(n, hop),
            )


@rule(
    "next-hop-not-in-pool",
    Severity.WARNING,
    summary="An NVA advertises a load balancer frontend as next hop but is not in its "
    "backend pool.",
    azure="Traffic sent to the frontend is balanced over the pool only: this NVA's "
    "routes pull traffic to other NVAs, and its own failure is not what the probes see.",
    fix="Add the NVA to the load balancer's backend pool, or advertise the frontend of "
    "the load balancer it sits behind.",
    source="route-server-spec §1.8 What it is",
)
def next_hop_not_in_pool(ctx: LintContext) -> Iterator[Hit]:
    """Spec §1.8: NVAs behind an ILB advertise its frontend as NEXT_HOP."""
    for n, hop, _ in _next_hops(ctx):
        lb = ctx.frontends.get(ipaddress.IPv4Address(hop))
        if lb is not None and n.nva.name not in lb.backend_pool.members:
            yield Hit(
                n.path,
                f"next hop {lb.frontend.ip} is load balancer {lb.name!r}, whose backend "
                f"pool does not contain {n.nva.name!r}",
                ctx.next_hop_line(n, hop),
            )


@rule(
    "next-hop-unknown",
    Severity.WARNING,
    summary="A route's next hop is neither a load balancer frontend nor an NVA address.",
    azure="Route Server keeps the next hop exactly as sent and programs it; nothing in "
    "the topology owns that address, so VMs' traffic to the route is lost.",
    fix="Set the next hop to the NVA's own address or to the frontend of the internal "
    "load balancer in front of it.",
    source="route-server-spec §1.4 Next hop of learned routes, Next hop constraints",
)
def next_hop_unknown(ctx: LintContext) -> Iterator[Hit]:
    """Spec §1.4: the next hop is kept as the NVA advertised it."""
    for n, hop, prefixes in _next_hops(ctx):
        address = ipaddress.IPv4Address(hop)
        if address not in ctx.frontends and address not in ctx.nva_by_ip:
            yield Hit(
                n.path,
                f"next hop {address} (for {_prefixes(prefixes)}) is neither a load balancer "
                "frontend nor an NVA address",
                ctx.next_hop_line(n, hop),
            )


@rule(
    "next-hop-self-in-pool",
    Severity.WARNING,
    summary="An NVA in a load balancer's backend pool advertises its own address as next hop.",
    azure="VMs send the traffic straight to this NVA (host ECMP over the NVAs), "
    "bypassing the load balancer: its probes steer nothing, a dead NVA is noticed only "
    "at the BGP hold time (180 s) and replies may cross another NVA. BIRD's `next hop "
    "self` overriding the export filter and a GoBGP neighbor-level export policy being "
    "ignored both produce this.",
    fix="`set ip next-hop <frontend>` in the outbound route-map of both instance "
    "neighbors (BIRD: drop `next hop self`; GoBGP: a global export policy).",
    source="route-server-spec §1.8 What it is, Design note",
)
def next_hop_self_in_pool(ctx: LintContext) -> Iterator[Hit]:
    """Spec §1.8: with next hop IP, the NVAs advertise the ILB frontend, so failover
    speed is the probe speed, not the BGP hold time."""
    for n, hop, prefixes in _next_hops(ctx):
        pools = ctx.pools_of(n.nva.name)
        if hop != int(n.nva.nic.ip) or not pools:
            continue
        fronts = ", ".join(f"{lb.name!r} ({lb.frontend.ip})" for lb in pools)
        yield Hit(
            n.path,
            f"NVA {n.nva.name!r} is in the backend pool of {fronts} but advertises "
            f"{_prefixes(prefixes)} to {n.instance_ip} with next hop its own address "
            f"{n.nva.nic.ip}",
            n.neighbor.line,
        )


@rule(
    "vnet-prefix",
    Severity.WARNING,
    summary="An NVA advertises a prefix equal to or inside the VNet address space.",
    azure="Route Server does not inject a route equal to or more specific than the VNet "
    "(or peered VNet) address space, and VNet system routes win even over a more "
    "specific BGP route: the route is not programmed.",
    fix="Steer traffic inside the VNet with a route table (UDR) to the NVA or load "
    "balancer; advertise only prefixes outside the VNet spaces (supernets are injected).",
    source="route-server-spec §1.4 Prefix acceptance for VNet programming; §1.10 "
    "Intra-VNet steering; §2 Selection",
)
def vnet_prefix(ctx: LintContext) -> Iterator[Hit]:
    """Spec §1.4 (``routeserver.rules.injectable``, the route server's own rule)."""
    seen: set[tuple[str, str, Prefix]] = set()
    for n in ctx.rs_neighbors:
        spaces = ctx.local_spaces(n.rs)
        for prefix in ctx.advertised(n):
            key = (n.nva.name, n.rs.name, prefix)
            if key in seen or injectable(prefix, spaces):
                continue
            seen.add(key)
            space = next(s for s in spaces if s.contains(prefix))
            yield Hit(
                n.path,
                f"NVA {n.nva.name!r} advertises {prefix}, equal to or inside the address "
                f"space {space} that route server {n.rs.name!r} programs: not programmed",
                n.neighbor.line,
            )


def _overrides_default(ctx: LintContext, nva: Nva) -> bool:
    """The NVA's subnet has a route table with its own 0.0.0.0/0 (UDR beats BGP for
    the same prefix) or that stops BGP routes."""
    subnet = ctx.topology.subnet(nva.nic.vnet, nva.nic.subnet)
    if subnet is None or subnet.route_table is None:
        return False
    table = next((rt for rt in ctx.topology.route_tables if rt.name == subnet.route_table), None)
    if table is None:
        return False
    return table.disable_bgp_route_propagation or any(r.prefix.prefixlen == 0 for r in table.routes)


@rule(
    "default-route-loop",
    Severity.WARNING,
    summary="An NVA advertises 0.0.0.0/0 and its own subnet takes that route.",
    azure="The default route is programmed on every VM of the VNet, the NVA's own NIC "
    "included: the NVA's Internet-bound packets go back to the next hop (itself, or the "
    "load balancer in front of it) and loop.",
    fix="Attach a route table to the NVA's subnet with 0.0.0.0/0 -> internet (a UDR "
    "beats BGP for the same prefix), or set disable_bgp_route_propagation on it; keep "
    "the NVA out of the subnets it serves.",
    source="route-server-spec §1.4 Default route 0.0.0.0/0 from an NVA; §2 NVA placement",
)
def default_route_loop(ctx: LintContext) -> Iterator[Hit]:
    """Spec §1.4: 0/0 is "programmed on all VMs in the VNet, including the NVA itself
    (loop unless the NVA subnet has a UDR 0/0 -> Internet)"."""
    seen: set[tuple[str, str]] = set()
    for n in ctx.rs_neighbors:
        defaults = [(p, a) for p, a in ctx.advertised(n).items() if p.length == 0]
        if not defaults or (n.nva.name, n.rs.name) in seen:
            continue
        seen.add((n.nva.name, n.rs.name))
        nic_space = to_prefix(ipaddress.IPv4Network(f"{n.nva.nic.ip}/32"))
        programmed_here = not injectable(nic_space, ctx.local_spaces(n.rs))
        if not programmed_here or _overrides_default(ctx, n.nva):
            continue
        hop = defaults[0][1].next_hop
        via = str(ipaddress.IPv4Address(hop)) if hop is not None else str(n.nva.nic.ip)
        yield Hit(
            n.path,
            f"NVA {n.nva.name!r} advertises 0.0.0.0/0 (next hop {via}); its own subnet "
            f"{n.nva.nic.subnet!r} has no route table overriding it, so its traffic to the "
            f"Internet comes back to {via}",
            n.neighbor.line,
        )


@rule(
    "gateway-subnet-udr",
    Severity.WARNING,
    summary="A route table on GatewaySubnet sends the route server's addresses away from the VNet.",
    azure="The gateway's BGP sessions with the route server follow the UDR (e.g. to a "
    "firewall) and break: gateway routes and branch-to-branch stop.",
    fix="Add a route for the RouteServerSubnet prefix with next_hop_type vnet_local to "
    "that table (or narrow the routes that capture it).",
    source="route-server-spec §1.10 UDR on GatewaySubnet; §2 Selection",
)
def gateway_subnet_udr(ctx: LintContext) -> Iterator[Hit]:
    """Spec §1.10: "Forcing traffic to a firewall can break ARS<->gateway BGP; add a UDR
    for RouteServerSubnet -> VirtualNetwork". A UDR decides for an instance address when
    it is at least as specific as the VNet range holding it (§2: longest prefix, then
    UDR over system)."""
    t = ctx.topology
    tables = {rt.name: rt for rt in t.route_tables}
    for i, vnet in enumerate(t.vnets):
        names = {s.name: (j, s) for j, s in enumerate(vnet.subnets)}
        gw, rs_subnet = names.get(GATEWAY_SUBNET), names.get(ROUTE_SERVER_SUBNET)
        if gw is None or rs_subnet is None or gw[1].route_table is None:
            continue
        table = tables.get(gw[1].route_table)
        if table is None:
            continue
        for ip in (rs_subnet[1].prefix.network_address + k for k in (4, 5)):
            system = max((s.prefixlen for s in vnet.address_space if ip in s), default=0)
            matches = [r for r in table.routes if ip in r.prefix]
            best = max(matches, key=lambda r: r.prefix.prefixlen, default=None)
            if (
                best is not None
                and best.prefix.prefixlen >= system
                and best.next_hop_type is not NextHopType.VNET_LOCAL
            ):
                target = f" {best.next_hop_ip}" if best.next_hop_ip is not None else ""
                yield Hit(
                    ("vnets", i, "subnets", gw[0], "route_table"),
                    f"route {best.name!r} ({best.prefix}) of table {table.name!r} sends "
                    f"route server instance {ip} to {best.next_hop_type}{target}",
                )
                break


@rule(
    "branch-overlaps-vnet",
    Severity.WARNING,
    summary="A branch prefix overlaps a VNet address space.",
    azure="VNet system routes win over BGP for their own range even when the BGP route "
    "is more specific: traffic to the overlapping addresses stays in the VNet and the "
    "branch is unreachable there.",
    fix="Renumber the branch or the VNet so their ranges are disjoint.",
    source="route-server-spec §1.4 Prefix acceptance for VNet programming; §2 Selection",
)
def branch_overlaps_vnet(ctx: LintContext) -> Iterator[Hit]:
    """Spec §2: system VNet routes are preferred even over more specific BGP routes."""
    for i, b in enumerate(ctx.topology.branches):
        for j, prefix in enumerate(b.prefixes):
            for v in ctx.topology.vnets:
                for space in v.address_space:
                    if prefix.overlaps(space):
                        yield Hit(
                            ("branches", i, "prefixes", j),
                            f"{prefix} overlaps the address space {space} of vnet {v.name!r}",
                        )

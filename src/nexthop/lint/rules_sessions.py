"""Lint rules about the BGP sessions between NVAs and the route server, and route counts.

Sources (route-server-spec.md): §1.1 two instances, reserved ASNs, 2-byte ASNs;
§1.2 eBGP multihop, both instances with the same routes, ROUTE-REFRESH on a new
VNet peering; §1.3 the route limits and how Azure counts them; §1.4 duplicate
sessions; §1.6 consistency; §1.9 2-byte ASNs only; §1.11 the reference algorithm.
"""

from __future__ import annotations

from collections.abc import Iterator

from nexthop.bgp.rib.path import as_path_asns
from nexthop.bgp.wire.messages import Update
from nexthop.config import to_prefix
from nexthop.config.types import (
    MAX_16BIT_ASN,
    GatewayType,
    is_reserved_asn,
)
from nexthop.lint.context import LintContext, RsNeighbor
from nexthop.lint.model import Hit, Severity
from nexthop.lint.registry import rule
from nexthop.net.prefix import Afi, Prefix
from nexthop.routeserver import AZURE_ASN, RouteServerConfig
from nexthop.routeserver.rules import is_no_advertise

__all__: list[str] = []

EXPRESSROUTE_ROUTE_LIMIT = RouteServerConfig(
    name="defaults", subnet=Prefix(Afi.IPV4, 0, 26)
).expressroute_route_limit
"""The route server's own default (§1.3: ExpressRoute private-peering limit)."""

EXAMPLES = 3  # differences quoted in one message


def _bgp_line(n: RsNeighbor) -> int | None:
    config = n.nva.bgp
    return config.bgp.line if config is not None and config.bgp is not None else None


def _nlri_count(update: Update) -> int:
    extra = len(update.mp_reach.nlri) if update.mp_reach is not None else 0
    return len(update.nlri) + extra


@rule(
    "one-instance",
    Severity.WARNING,
    summary="An NVA peers only one of the route server's two instances.",
    azure="Each instance programs its own share of the VMs (IN_0, IN_1): the VMs served "
    "by the unpeered instance never learn the NVA's routes, so about half the traffic "
    "to those prefixes misses the NVA (blackholed or sent to the system route).",
    fix="Add `neighbor <other instance> remote-as 65515` with the same ebgp-multihop "
    "and route-maps, so both instances get identical sessions.",
    source="route-server-spec §1.1 Instances; §1.4 Duplicate sessions; §1.6 Consistency",
)
def one_instance(ctx: LintContext) -> Iterator[Hit]:
    """Spec §1.4: "If an NVA peers only one instance, some VMs will receive the
    advertised routes, others will not"."""
    seen: dict[tuple[str, str], list[RsNeighbor]] = {}
    for n in ctx.rs_neighbors:
        seen.setdefault((n.nva.name, n.rs.name), []).append(n)
    for (_, rs), found in seen.items():
        expected = ctx.topology.route_server_ips(rs) or ()
        have = [n.instance_ip for n in found]
        missing = [ip for ip in expected if ip not in have]
        if missing:
            first = found[0]
            yield Hit(
                first.path,
                f"NVA {first.nva.name!r} peers route server {rs!r} at "
                f"{', '.join(map(str, dict.fromkeys(have)))} only; "
                f"{', '.join(map(str, missing))} has no neighbor statement",
                _bgp_line(first),
            )


@rule(
    "unmatched-peering",
    Severity.WARNING,
    summary="A route server peering and the NVA's neighbor statements do not name each other.",
    azure="A BGP session needs both ends configured: without the route server peering "
    "(peerIp, peerAsn) or without the NVA's neighbor statement the session never comes "
    "up and none of the NVA's routes are programmed.",
    fix="Add the missing side: a `route_servers[].peerings` entry for the NVA's NIC "
    "address, or `neighbor <instance> remote-as 65515` for both instances on the NVA.",
    source="route-server-spec §1.2 Peer config",
)
def unmatched_peering(ctx: LintContext) -> Iterator[Hit]:
    """Spec §1.2: the peer "must be configured in ARS before the session can come up";
    the NVA must peer both instance IPs."""
    reported: set[tuple[str, str]] = set()
    for n in ctx.rs_neighbors:
        key = (n.nva.name, n.rs.name)
        if key not in reported and not ctx.peered(n):
            reported.add(key)
            yield Hit(
                n.path,
                f"route server {n.rs.name!r} has no peering for {n.nva.nic.ip}; "
                "its sessions will never come up",
                n.neighbor.line,
            )
    talking = {(n.nva.nic.ip, n.rs.name) for n in ctx.rs_neighbors}
    for i, rs in enumerate(ctx.topology.route_servers):
        for j, peering in enumerate(rs.peerings):
            nva = ctx.nva_by_ip.get(peering.peer_ip)
            if peering.external or nva is None or (peering.peer_ip, rs.name) in talking:
                continue
            yield Hit(
                ("route_servers", i, "peerings", j),
                f"NVA {nva.name!r} has no neighbor statement for either instance of "
                f"{rs.name!r}; this peering will never come up",
            )


@rule(
    "different-routes",
    Severity.WARNING,
    summary="An NVA advertises different routes to the two instances.",
    azure="Each instance programs a share of the VMs with what it learned: VMs see "
    "inconsistent routes (some take the NVA, others do not, or with another next hop).",
    fix="Apply the same outbound route-map and prefixes to both instance neighbors.",
    source="route-server-spec §1.2 Peer config; §1.6 Consistency",
)
def different_routes(ctx: LintContext) -> Iterator[Hit]:
    """Spec §1.2: "The NVA must peer both ARS IPs and send the same routes to both";
    computed with ``NvaSpeaker.outbound`` per instance."""
    by_pair: dict[tuple[str, str], list[RsNeighbor]] = {}
    for n in ctx.sessions():
        by_pair.setdefault((n.nva.name, n.rs.name), []).append(n)
    for found in by_pair.values():
        if len(found) < 2:
            continue
        a, b = found[0], found[1]
        ra, rb = ctx.advertised(a), ctx.advertised(b)
        diffs: list[str] = []
        for prefix in dict.fromkeys((*ra, *rb)):
            if prefix not in rb:
                diffs.append(f"{prefix} only to {a.instance_ip}")
            elif prefix not in ra:
                diffs.append(f"{prefix} only to {b.instance_ip}")
            elif ra[prefix] != rb[prefix]:
                diffs.append(f"{prefix} with other attributes ({_differ(ra[prefix], rb[prefix])})")
        if diffs:
            more = f" and {len(diffs) - EXAMPLES} more" if len(diffs) > EXAMPLES else ""
            yield Hit(
                a.path,
                f"NVA {a.nva.name!r} advertises different routes to {a.instance_ip} and "
                f"{b.instance_ip}: {'; '.join(diffs[:EXAMPLES])}{more}",
                b.neighbor.line,
            )


def _differ(a: object, b: object) -> str:
    names = ("next_hop", "as_path", "communities", "med", "origin")
    out = [n for n in names if getattr(a, n, None) != getattr(b, n, None)]
    return ", ".join(n.replace("_", " ") for n in out) or "other attributes"


@rule(
    "nva-asn",
    Severity.ERROR,
    summary="An NVA that peers the route server runs a reserved or 4-byte ASN.",
    azure="Route Server accepts NVA ASNs that are 2-byte and not reserved (8074, 8075, "
    "12076, 65515, 65517-65520, 23456, 64496-64511, 65535-65551): with another ASN the "
    "peering is refused and no session comes up.",
    fix="Run `router bgp` with a private 2-byte ASN (64512-65514, except the reserved "
    "ones) and use it as the peering's peer_asn.",
    source="route-server-spec §1.1 Reserved ASNs, ASN size; §1.9 2-byte ASNs only",
)
def nva_asn(ctx: LintContext) -> Iterator[Hit]:
    """Spec §1.1: reserved ASNs (FAQ list) and "16-bit (2-byte) ASNs only"."""
    reported: set[str] = set()
    for n in ctx.rs_neighbors:
        config = n.nva.bgp
        if config is None or config.bgp is None or n.nva.name in reported:
            continue
        asn = config.bgp.asn
        why = None
        if asn == AZURE_ASN:
            why = f"ASN {asn} is the route server's own (eBGP only)"
        elif is_reserved_asn(asn):
            why = f"ASN {asn} is reserved by Azure or IANA"
        elif asn > MAX_16BIT_ASN:
            why = f"ASN {asn} is a 4-byte ASN; Route Server peers with 2-byte ASNs only"
        if why is not None:
            reported.add(n.nva.name)
            yield Hit(n.path, f"NVA {n.nva.name!r}: {why}", config.bgp.line)


@rule(
    "ebgp-multihop",
    Severity.WARNING,
    summary="A neighbor statement for a route server instance has no ebgp-multihop.",
    azure="The route server sits in RouteServerSubnet, never on the NVA's subnet: "
    "without multihop the NVA sends its eBGP packets with TTL 1 and treats the peer as "
    "directly connected, so most NVAs (FRR's connected check) never open the session, "
    "or it flaps.",
    fix="`neighbor <instance> ebgp-multihop 2` (any TTL from 2) for both instances; "
    "some NVAs also need a static route to RouteServerSubnet via the subnet gateway.",
    source="route-server-spec §1.2 Multihop, NVA static routes",
)
def ebgp_multihop(ctx: LintContext) -> Iterator[Hit]:
    """Spec §1.2: "NVA must use eBGP multihop"."""
    for n in ctx.rs_neighbors:
        if n.neighbor.ebgp_multihop is None:
            yield Hit(
                n.path,
                f"neighbor {n.instance_ip} (route server {n.rs.name!r}) has no ebgp-multihop",
                n.neighbor.line,
            )


def _peak(n: RsNeighbor, ctx: LintContext) -> tuple[int, int, int]:
    """(routes sent, largest held + incoming at any UPDATE, largest UPDATE) for the
    initial table, counted as the route server counts (§1.3, §1.11)."""
    held = peak = largest = 0
    for update in ctx.outbound(n).updates:
        count = _nlri_count(update)
        peak = max(peak, held + count)
        largest = max(largest, count)
        held += count
    return held, peak, largest


@rule(
    "route-limit",
    Severity.ERROR,
    summary="An NVA advertises more routes than the route server's per-peer limit "
    "(4,000), counted as Azure counts: routes held plus those in the incoming UPDATE.",
    azure="Route Server tears the BGP session down (Cease, maximum number of prefixes) "
    "when the routes it holds from the peer plus those in the incoming UPDATE exceed "
    "the limit; the NVA's routes are withdrawn and the session keeps being reset.",
    fix="Summarise (aggregate prefixes, filter with an outbound prefix-list) to stay "
    "within the limit per peer.",
    source="route-server-spec §1.3 Routes each BGP peer can advertise, How the limit is "
    "counted; §1.11",
)
def route_limit(ctx: LintContext) -> Iterator[Hit]:
    """Spec §1.3/§1.11: ``learned_count[peer] + len(update.nlri) > 4000: teardown``."""
    for n in ctx.sessions():
        limit = n.rs.limits.max_routes_per_peer
        sent, peak, _ = _peak(n, ctx)
        if peak > limit:
            yield Hit(
                n.path,
                f"NVA {n.nva.name!r} sends {sent} routes to {n.instance_ip}: held plus "
                f"incoming reaches {peak}, over the limit of {limit}",
                n.neighbor.line,
            )


@rule(
    "route-limit-refresh",
    Severity.WARNING,
    summary="An NVA's routes fit the per-peer limit once but not when re-advertised.",
    azure="Re-advertising the same prefixes counts them again (FAQ: 2,001 routes, then "
    "the same 2,001 = 4,002): a ROUTE-REFRESH, which Route Server sends every NVA when a "
    "hub-spoke VNet peering is created, or a soft reset then tears the session down.",
    fix="Keep the table well below the limit (held plus the largest UPDATE), e.g. by summarising.",
    source="route-server-spec §1.2 Route refresh; §1.3 How the limit is counted",
)
def route_limit_refresh(ctx: LintContext) -> Iterator[Hit]:
    """Spec §1.3: held routes plus the re-sent UPDATE; the initial table fits."""
    for n in ctx.sessions():
        limit = n.rs.limits.max_routes_per_peer
        sent, peak, largest = _peak(n, ctx)
        if peak <= limit < sent + largest:
            yield Hit(
                n.path,
                f"NVA {n.nva.name!r} sends {sent} routes to {n.instance_ip}; re-sent, "
                f"{sent} held plus an UPDATE of {largest} is {sent + largest}, over the "
                f"limit of {limit}",
                n.neighbor.line,
            )


@rule(
    "expressroute-limit",
    Severity.ERROR,
    summary="With branch-to-branch and an ExpressRoute gateway, more than 1,000 routes "
    "go towards the circuit.",
    azure="Everything Route Server sends towards ExpressRoute (VNet address spaces plus "
    "the NVA routes, with branch-to-branch on) counts against the circuit's private "
    "peering limit of 1,000: over it the gateway-circuit BGP session drops and "
    "on-premises loses every Azure route.",
    fix="Summarise what the NVAs advertise (aggregates, route maps) or turn branch_to_branch off.",
    source="route-server-spec §1.3 Routes ARS -> ExpressRoute / VPN gateway; §5 Route limits",
)
def expressroute_limit(ctx: LintContext) -> Iterator[Hit]:
    """Spec §1.3: VNet address space + ARS-learned routes <= 1,000 towards ER; the
    learned ones are the NVAs' advertised prefixes the route server keeps (no 65515
    in the AS_PATH, §1.4) and may pass on (not NO_ADVERTISE, §1.4), and the prefixes
    of branches behind a VPN gateway in the VNet (§1.7: with branch-to-branch the
    route server passes gateway routes on)."""
    t = ctx.topology
    for i, rs in enumerate(t.route_servers):
        has_er = any(
            g.vnet == rs.vnet and g.type is GatewayType.EXPRESSROUTE
            for g in t.virtual_network_gateways
        )
        if not (rs.branch_to_branch and has_er):
            continue
        learned: set[Prefix] = set()
        for n in ctx.sessions():
            if n.rs.name != rs.name:
                continue
            for prefix, attrs in ctx.advertised(n).items():
                if AZURE_ASN not in as_path_asns(attrs) and not is_no_advertise(attrs):
                    learned.add(prefix)
        vpn = {
            g.name
            for g in t.virtual_network_gateways
            if g.vnet == rs.vnet and g.type is GatewayType.VPN
        }
        branches = {to_prefix(p) for b in t.branches if b.behind_gateway in vpn for p in b.prefixes}
        spaces = ctx.local_spaces(rs)
        count = len(set(spaces) | learned | branches)
        if count > EXPRESSROUTE_ROUTE_LIMIT:
            vpn_part = f", {len(branches)} from VPN branches" if branches else ""
            yield Hit(
                ("route_servers", i, "branch_to_branch"),
                f"{count} routes go towards ExpressRoute ({len(spaces)} address spaces, "
                f"{len(learned)} from NVAs{vpn_part}), over the limit of "
                f"{EXPRESSROUTE_ROUTE_LIMIT}",
            )

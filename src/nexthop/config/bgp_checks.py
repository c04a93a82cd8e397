"""Route server and NVA BGP checks: peerings, ASNs, neighbors and next hops.

Rules (route-server spec): §1.1 reserved ASNs (8074, 8075, 12076, 65515,
65517-65520, 23456, 64496-64511, 65535-65551), one route server per VNet in a
RouteServerSubnet, NVAs in the same or a directly peered VNet; §1.2 eBGP only
(peers use another ASN than 65515), 2-byte ASNs, at most 8 peers, both instances
peered. What Azure accepts but will not carry as intended (one instance peered,
a next hop in another region, ...) is a ``nexthop.lint`` rule.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from nexthop.config.issues import Path, format_path
from nexthop.config.types import (
    MAX_16BIT_ASN,
    ROUTE_SERVER_ASN,
    ROUTE_SERVER_SUBNET,
    is_reserved_asn,
    route_server_instance_ips,
)

if TYPE_CHECKING:
    from nexthop.config.checks import Checker
    from nexthop.config.schema import Nva, RouteServer

__all__ = ["check_nva_bgp", "check_route_servers"]


def check_route_servers(c: Checker) -> None:
    t = c.topo
    per_vnet: dict[str, int] = {}
    for i, rs in enumerate(t.route_servers):
        base: Path = ("route_servers", i)
        if t.vnet(rs.vnet) is None:
            c.error((*base, "vnet"), f"vnet {rs.vnet!r} is not declared")
            continue
        if rs.vnet in per_vnet:
            first = format_path(("route_servers", per_vnet[rs.vnet]))
            c.error((*base, "vnet"), f"vnet {rs.vnet!r} already has a route server ({first})")
            continue
        per_vnet[rs.vnet] = i
        subnet = t.subnet(rs.vnet, ROUTE_SERVER_SUBNET)
        if subnet is None:
            c.error((*base, "vnet"), f"vnet {rs.vnet!r} has no subnet named RouteServerSubnet")
            continue
        for ip in route_server_instance_ips(subnet.prefix):
            c.claim(rs.vnet, ip, (*base, "vnet"), f"route server {rs.name!r}")
        if len(rs.peerings) > rs.limits.max_peers:
            c.error(
                (*base, "peerings"),
                f"{len(rs.peerings)} peerings exceed the limit of {rs.limits.max_peers}",
            )
        seen: dict[ipaddress.IPv4Address, int] = {}
        for j, peering in enumerate(rs.peerings):
            path: Path = (*base, "peerings", j)
            if peering.peer_ip in seen:
                first = format_path((*base, "peerings", seen[peering.peer_ip]))
                c.error((*path, "peer_ip"), f"{peering.peer_ip} is already peered ({first})")
            seen.setdefault(peering.peer_ip, j)
            _peer_asn(c, (*path, "peer_asn"), peering.peer_asn)
            if not peering.external:
                _peering_nva(c, path, rs, peering.peer_ip, peering.peer_asn)


def _peer_asn(c: Checker, path: Path, asn: int) -> None:
    if asn == ROUTE_SERVER_ASN:
        c.error(path, f"{asn} is the route server's own ASN; peers must use another (eBGP only)")
    elif is_reserved_asn(asn):
        c.error(path, f"ASN {asn} is reserved by Azure or IANA and cannot peer with a route server")
    elif asn > MAX_16BIT_ASN:
        c.error(path, f"route server peers need a 2-byte ASN (1-65535), got {asn}")


def _peering_nva(
    c: Checker, path: Path, rs: RouteServer, peer_ip: ipaddress.IPv4Address, peer_asn: int
) -> None:
    t = c.topo
    found = [(k, n) for k, n in enumerate(t.nvas) if n.nic.ip == peer_ip]
    if not found:
        c.error(
            (*path, "peer_ip"),
            f"{peer_ip} is not the NIC address of any NVA (set external: true for a peer "
            "outside the topology)",
        )
        return
    _, nva = found[0]
    if nva.nic.vnet != rs.vnet and not c.peered(nva.nic.vnet, rs.vnet):
        c.error(
            (*path, "peer_ip"),
            f"NVA {nva.name!r} is in vnet {nva.nic.vnet!r}, which is neither {rs.vnet!r} "
            "nor directly peered with it",
        )
    bgp = nva.bgp
    if bgp is None or bgp.bgp is None:
        c.error((*path, "peer_ip"), f"NVA {nva.name!r} has no 'router bgp' in its bgp_config")
    elif bgp.bgp.asn != peer_asn:
        c.error(
            (*path, "peer_asn"),
            f"NVA {nva.name!r} runs router bgp {bgp.bgp.asn}, not {peer_asn}",
        )


def _instance_owner(c: Checker) -> dict[ipaddress.IPv4Address, RouteServer]:
    owners: dict[ipaddress.IPv4Address, RouteServer] = {}
    for rs in c.topo.route_servers:
        ips = c.topo.route_server_ips(rs.name)
        for ip in ips or ():
            owners.setdefault(ip, rs)
    return owners


def check_nva_bgp(c: Checker, i: int, nva: Nva) -> None:
    config = nva.bgp
    if config is None or config.bgp is None:
        return
    t = c.topo
    path: Path = ("nvas", i, "bgp_config")
    owners = _instance_owner(c)
    nva_ips = {n.nic.ip: n for n in t.nvas}
    branch_peers = {b.peer_ip: b for b in t.branches if b.peer_ip is not None}
    for neighbor in config.bgp.neighbors:
        address = ipaddress.IPv4Address(neighbor.address)
        rs = owners.get(address)
        if rs is not None:
            if neighbor.remote_as != ROUTE_SERVER_ASN:
                c.error(
                    path,
                    f"neighbor {address} is route server {rs.name!r}, whose ASN is "
                    f"{ROUTE_SERVER_ASN}, not {neighbor.remote_as}",
                    neighbor.line,
                )
        elif address in nva_ips and address != nva.nic.ip:
            continue
        elif address in branch_peers:
            branch = branch_peers[address]
            if branch.asn is not None and branch.asn != neighbor.remote_as:
                c.error(
                    path,
                    f"neighbor {address} is branch {branch.name!r} in AS {branch.asn}, "
                    f"not {neighbor.remote_as}",
                    neighbor.line,
                )
        else:
            known = ", ".join(str(ip) for ip in owners) or "none declared"
            c.error(
                path,
                f"neighbor {address} is neither a route server instance ({known}) "
                "nor a declared NVA or branch peer",
                neighbor.line,
            )

"""Cross-resource checks of a topology: references, addressing, ASNs, NVA BGP sessions.

Sources for the rules (route-server spec): §1.1 reserved ASNs, RouteServerSubnet
of at least /26 with instances at the 4th and 5th address, one route server per
VNet, NVAs in the same or a directly peered VNet; §1.2 2-byte ASNs, eBGP to ASN
65515, both instances peered, at most 8 peers; §1.8 and §3 load balancer next
hop in the route server's region, probe interval >= 5 s, idle timeout 4-100
min, HA ports; §2 UDR next-hop types. Azure reserves the first four and the
last address of every subnet. Errors make a topology invalid; warnings flag
designs Azure accepts but that will not carry traffic as intended.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nexthop.config.types import (
    MAX_16BIT_ASN,
    ROUTE_SERVER_ASN,
    HaRole,
    LbProtocol,
    NextHopType,
    ProbeProtocol,
    is_reserved_asn,
    route_server_instance_ips,
)

if TYPE_CHECKING:
    from nexthop.config.schema import LoadBalancer, Nic, Nva, RouteServer, Topology, VirtualNetwork

__all__ = ["Issue", "Path", "TopologyInvalid", "check_topology", "format_path"]

Path = tuple[str | int, ...]
ROUTE_SERVER_SUBNET = "RouteServerSubnet"
GATEWAY_SUBNET = "GatewaySubnet"
DEDICATED_SUBNETS = (ROUTE_SERVER_SUBNET, GATEWAY_SUBNET)
MIN_ROUTE_SERVER_SUBNET_LENGTH = 26
MIN_PROBE_INTERVAL_S = 5
IDLE_TIMEOUT_MIN, IDLE_TIMEOUT_MAX = 4, 100
AZURE_RESERVED_HEAD = 4  # network address, default gateway, two DNS addresses


def format_path(path: Path) -> str:
    """``("load_balancers", 0, "frontend", "ip")`` -> ``load_balancers[0].frontend.ip``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem at a field path. ``text_line`` is the 1-based line inside a
    multi-line value (an NVA's ``bgp_config``) when the problem sits on one line."""

    path: Path
    message: str
    text_line: int | None = None

    def __str__(self) -> str:
        return f"{format_path(self.path)}: {self.message}"


class TopologyInvalid(Exception):  # noqa: N818 - reads better than TopologyInvalidError
    """Raised by ``Topology`` validation when cross-resource checks fail."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


@dataclass(slots=True)
class _Checker:
    topo: Topology
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    # (vnet, address) -> (path, owner) of the first user of an address
    addresses: dict[tuple[str, ipaddress.IPv4Address], tuple[Path, str]] = field(
        default_factory=dict
    )

    def error(self, path: Path, message: str, text_line: int | None = None) -> None:
        self.errors.append(Issue(path, message, text_line))

    def warn(self, path: Path, message: str, text_line: int | None = None) -> None:
        self.warnings.append(Issue(path, message, text_line))

    # -- helpers -----------------------------------------------------------------------

    def unique(self, items: Sequence[object], base: Path, what: str) -> None:
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            name = str(getattr(item, "name", ""))
            if name in seen:
                first = format_path((*base, seen[name]))
                self.error((*base, i, "name"), f"duplicate {what} name {name!r} (first at {first})")
            else:
                seen[name] = i

    def claim(self, vnet: str, ip: ipaddress.IPv4Address, path: Path, owner: str) -> None:
        first = self.addresses.get((vnet, ip))
        if first is not None:
            where = format_path(first[0])
            self.error(path, f"{ip} is already used by {first[1]} ({where})")
        else:
            self.addresses[(vnet, ip)] = (path, owner)

    def placed(self, path: Path, vnet: str, subnet: str, ip: ipaddress.IPv4Address) -> bool:
        """Check that vnet/subnet exist and ``ip`` is a usable address in the subnet."""
        v = self.topo.vnet(vnet)
        if v is None:
            self.error((*path, "vnet"), f"vnet {vnet!r} is not declared")
            return False
        s = self.topo.subnet(vnet, subnet)
        if s is None:
            self.error((*path, "subnet"), f"vnet {vnet!r} has no subnet {subnet!r}")
            return False
        if subnet in DEDICATED_SUBNETS:
            self.error((*path, "subnet"), f"subnet {subnet!r} is reserved for Azure use")
            return False
        if ip not in s.prefix:
            self.error((*path, "ip"), f"{ip} is not inside subnet {subnet!r} ({s.prefix})")
            return False
        offset = int(ip) - int(s.prefix.network_address)
        if offset < AZURE_RESERVED_HEAD or ip == s.prefix.broadcast_address:
            self.error(
                (*path, "ip"),
                f"{ip} is reserved by Azure in subnet {subnet!r} ({s.prefix}): "
                "the first four addresses and the last are not assignable",
            )
            return False
        return True

    def nic(self, path: Path, nic: Nic, owner: str) -> None:
        if self.placed(path, nic.vnet, nic.subnet, nic.ip):
            self.claim(nic.vnet, nic.ip, (*path, "ip"), owner)

    def peered(self, a: str, b: str) -> bool:
        return any({p.local_vnet, p.remote_vnet} == {a, b} for p in self.topo.peerings)

    # -- sections --------------------------------------------------------------------------

    def nonempty(self, path: Path, items: Sequence[object], what: str) -> None:
        if not items:
            self.error(path, f"needs at least one {what}")

    def required_lists(self) -> None:
        t = self.topo
        self.nonempty(("vnets",), t.vnets, "vnet")
        for i, v in enumerate(t.vnets):
            self.nonempty(("vnets", i, "address_space"), v.address_space, "address range")
        for i, lb in enumerate(t.load_balancers):
            base: Path = ("load_balancers", i)
            self.nonempty((*base, "backend_pool", "members"), lb.backend_pool.members, "member")
            self.nonempty((*base, "probes"), lb.probes, "probe")
            self.nonempty((*base, "rules"), lb.rules, "rule")
        for i, b in enumerate(t.branches):
            self.nonempty(("branches", i, "prefixes"), b.prefixes, "prefix")

    def names(self) -> None:
        t = self.topo
        for attr, what in (
            ("vnets", "vnet"),
            ("peerings", "peering"),
            ("route_tables", "route table"),
            ("route_servers", "route server"),
            ("load_balancers", "load balancer"),
            ("nvas", "NVA"),
            ("vms", "VM"),
            ("branches", "branch"),
            ("virtual_network_gateways", "gateway"),
        ):
            self.unique(getattr(t, attr), (attr,), what)
        compute = {n.name for n in t.nvas}
        for i, vm in enumerate(t.vms):
            if vm.name in compute:
                self.error(("vms", i, "name"), f"{vm.name!r} is already the name of an NVA")
        for i, v in enumerate(t.vnets):
            self.unique(v.subnets, ("vnets", i, "subnets"), "subnet")
        for i, rt in enumerate(t.route_tables):
            self.unique(rt.routes, ("route_tables", i, "routes"), "route")
        for i, rs in enumerate(t.route_servers):
            self.unique(rs.peerings, ("route_servers", i, "peerings"), "peering")
        for i, lb in enumerate(t.load_balancers):
            self.unique(lb.probes, ("load_balancers", i, "probes"), "probe")
            self.unique(lb.rules, ("load_balancers", i, "rules"), "rule")

    def vnets(self) -> None:
        tables = {rt.name for rt in self.topo.route_tables}
        for i, v in enumerate(self.topo.vnets):
            self.vnet(i, v, tables)

    def vnet(self, i: int, v: VirtualNetwork, tables: set[str]) -> None:
        base: Path = ("vnets", i)
        for j, space in enumerate(v.address_space):
            for other in v.address_space[:j]:
                if space.overlaps(other):
                    self.error((*base, "address_space", j), f"{space} overlaps {other}")
        for j, s in enumerate(v.subnets):
            path: Path = (*base, "subnets", j)
            if v.address_space and not any(s.prefix.subnet_of(sp) for sp in v.address_space):
                spaces = ", ".join(str(a) for a in v.address_space)
                self.error(
                    (*path, "prefix"),
                    f"{s.prefix} is not inside the address space of vnet {v.name!r} ({spaces})",
                )
            for earlier in v.subnets[:j]:
                if s.prefix.overlaps(earlier.prefix):
                    self.error(
                        (*path, "prefix"),
                        f"{s.prefix} overlaps subnet {earlier.name!r} ({earlier.prefix})",
                    )
            if s.route_table is not None:
                if s.route_table not in tables:
                    self.error(
                        (*path, "route_table"), f"route table {s.route_table!r} is not declared"
                    )
                elif s.name == ROUTE_SERVER_SUBNET:
                    self.error(
                        (*path, "route_table"), "RouteServerSubnet cannot have a route table"
                    )
            if (
                s.name == ROUTE_SERVER_SUBNET
                and s.prefix.prefixlen > MIN_ROUTE_SERVER_SUBNET_LENGTH
            ):
                self.error(
                    (*path, "prefix"),
                    f"RouteServerSubnet must be /26 or larger, got /{s.prefix.prefixlen}",
                )

    def peerings(self) -> None:
        t = self.topo
        pairs: dict[frozenset[str], int] = {}
        for i, p in enumerate(t.peerings):
            base: Path = ("peerings", i)
            ends = []
            for attr in ("local_vnet", "remote_vnet"):
                name = getattr(p, attr)
                v = t.vnet(name)
                if v is None:
                    self.error((*base, attr), f"vnet {name!r} is not declared")
                else:
                    ends.append(v)
            if len(ends) != 2:
                continue
            local, remote = ends
            if local.name == remote.name:
                self.error((*base, "remote_vnet"), "a vnet cannot peer with itself")
                continue
            pair = frozenset((local.name, remote.name))
            if pair in pairs:
                first = format_path(("peerings", pairs[pair]))
                self.error(
                    (*base, "remote_vnet"),
                    f"{local.name!r} and {remote.name!r} are already peered ({first})",
                )
                continue
            pairs[pair] = i
            for a in local.address_space:
                for b in remote.address_space:
                    if a.overlaps(b):
                        self.error(
                            (*base, "remote_vnet"),
                            f"address space {a} of {local.name!r} overlaps {b} of {remote.name!r}; "
                            "peered vnets need disjoint address spaces",
                        )
            if p.use_remote_gateways:
                has_rs = any(rs.vnet == remote.name for rs in t.route_servers)
                has_gw = any(g.vnet == remote.name for g in t.virtual_network_gateways)
                if not (has_rs or has_gw):
                    self.error(
                        (*base, "use_remote_gateways"),
                        f"vnet {remote.name!r} has no route server or gateway to use",
                    )
                elif not p.allow_gateway_transit:
                    self.error(
                        (*base, "allow_gateway_transit"),
                        "use_remote_gateways needs allow_gateway_transit: true on the remote side",
                    )

    def route_tables(self) -> None:
        for i, rt in enumerate(self.topo.route_tables):
            for j, r in enumerate(rt.routes):
                path: Path = ("route_tables", i, "routes", j)
                if r.next_hop_type is NextHopType.VIRTUAL_APPLIANCE and r.next_hop_ip is None:
                    self.error(
                        (*path, "next_hop_ip"), "virtual_appliance routes need a next_hop_ip"
                    )
                elif r.next_hop_type is not NextHopType.VIRTUAL_APPLIANCE and r.next_hop_ip:
                    self.error(
                        (*path, "next_hop_ip"),
                        f"only virtual_appliance routes take a next_hop_ip, not {r.next_hop_type}",
                    )

    def route_servers(self) -> None:
        t = self.topo
        per_vnet: dict[str, int] = {}
        for i, rs in enumerate(t.route_servers):
            base: Path = ("route_servers", i)
            if t.vnet(rs.vnet) is None:
                self.error((*base, "vnet"), f"vnet {rs.vnet!r} is not declared")
                continue
            if rs.vnet in per_vnet:
                first = format_path(("route_servers", per_vnet[rs.vnet]))
                self.error(
                    (*base, "vnet"), f"vnet {rs.vnet!r} already has a route server ({first})"
                )
                continue
            per_vnet[rs.vnet] = i
            subnet = t.subnet(rs.vnet, ROUTE_SERVER_SUBNET)
            if subnet is None:
                self.error(
                    (*base, "vnet"), f"vnet {rs.vnet!r} has no subnet named RouteServerSubnet"
                )
                continue
            for ip in route_server_instance_ips(subnet.prefix):
                self.claim(rs.vnet, ip, (*base, "vnet"), f"route server {rs.name!r}")
            if len(rs.peerings) > rs.limits.max_peers:
                self.error(
                    (*base, "peerings"),
                    f"{len(rs.peerings)} peerings exceed the limit of {rs.limits.max_peers}",
                )
            seen: dict[ipaddress.IPv4Address, int] = {}
            for j, peering in enumerate(rs.peerings):
                path: Path = (*base, "peerings", j)
                if peering.peer_ip in seen:
                    first = format_path((*base, "peerings", seen[peering.peer_ip]))
                    self.error((*path, "peer_ip"), f"{peering.peer_ip} is already peered ({first})")
                seen.setdefault(peering.peer_ip, j)
                self.peer_asn((*path, "peer_asn"), peering.peer_asn)
                if not peering.external:
                    self.peering_nva(path, rs, peering.peer_ip, peering.peer_asn)

    def peer_asn(self, path: Path, asn: int) -> None:
        if asn == ROUTE_SERVER_ASN:
            self.error(
                path, f"{asn} is the route server's own ASN; peers must use another (eBGP only)"
            )
        elif is_reserved_asn(asn):
            self.error(
                path, f"ASN {asn} is reserved by Azure or IANA and cannot peer with a route server"
            )
        elif asn > MAX_16BIT_ASN:
            self.error(path, f"route server peers need a 2-byte ASN (1-65535), got {asn}")

    def peering_nva(
        self, path: Path, rs: RouteServer, peer_ip: ipaddress.IPv4Address, peer_asn: int
    ) -> None:
        t = self.topo
        found = [(k, n) for k, n in enumerate(t.nvas) if n.nic.ip == peer_ip]
        if not found:
            self.error(
                (*path, "peer_ip"),
                f"{peer_ip} is not the NIC address of any NVA (set external: true for a peer "
                "outside the topology)",
            )
            return
        _, nva = found[0]
        if nva.nic.vnet != rs.vnet and not self.peered(nva.nic.vnet, rs.vnet):
            self.error(
                (*path, "peer_ip"),
                f"NVA {nva.name!r} is in vnet {nva.nic.vnet!r}, which is neither {rs.vnet!r} "
                "nor directly peered with it",
            )
        bgp = nva.bgp
        if bgp is None or bgp.bgp is None:
            self.error(
                (*path, "peer_ip"), f"NVA {nva.name!r} has no 'router bgp' in its bgp_config"
            )
        elif bgp.bgp.asn != peer_asn:
            self.error(
                (*path, "peer_asn"),
                f"NVA {nva.name!r} runs router bgp {bgp.bgp.asn}, not {peer_asn}",
            )

    def instance_owner(self) -> dict[ipaddress.IPv4Address, RouteServer]:
        owners: dict[ipaddress.IPv4Address, RouteServer] = {}
        for rs in self.topo.route_servers:
            ips = self.topo.route_server_ips(rs.name)
            for ip in ips or ():
                owners.setdefault(ip, rs)
        return owners

    def nvas(self) -> None:
        t = self.topo
        for i, nva in enumerate(t.nvas):
            base: Path = ("nvas", i)
            self.nic((*base, "nic"), nva.nic, f"NVA {nva.name!r}")
            hb = nva.ha.heartbeat
            if hb is not None:
                peer = t.nva(hb.peer)
                if peer is None or peer.name == nva.name:
                    self.error(
                        (*base, "ha", "heartbeat", "peer"), f"{hb.peer!r} is not another NVA"
                    )
                elif nva.ha.role is HaRole.STANDBY and peer.ha.role is not HaRole.ACTIVE:
                    self.error(
                        (*base, "ha", "heartbeat", "peer"),
                        f"a standby NVA must watch an active NVA; {peer.name!r} is {peer.ha.role}",
                    )
            elif nva.ha.role is HaRole.STANDBY:
                self.error(
                    (*base, "ha", "heartbeat"), "a standby NVA needs a heartbeat to its active peer"
                )
            responder = nva.probe_responder
            if responder is not None:
                self.probe_path(
                    (*base, "probe_responder", "path"), responder.protocol, responder.path
                )
            self.nva_bgp(i, nva)

    def nva_bgp(self, i: int, nva: Nva) -> None:
        config = nva.bgp
        if config is None or config.bgp is None:
            return
        t = self.topo
        path: Path = ("nvas", i, "bgp_config")
        owners = self.instance_owner()
        nva_ips = {n.nic.ip: n for n in t.nvas}
        branch_peers = {b.peer_ip: b for b in t.branches if b.peer_ip is not None}
        rs_seen: dict[str, list[ipaddress.IPv4Address]] = {}
        next_hops_checked: set[tuple[str, str | None]] = set()
        for neighbor in config.bgp.neighbors:
            address = ipaddress.IPv4Address(neighbor.address)
            rs = owners.get(address)
            if rs is not None:
                if neighbor.remote_as != ROUTE_SERVER_ASN:
                    self.error(
                        path,
                        f"neighbor {address} is route server {rs.name!r}, whose ASN is "
                        f"{ROUTE_SERVER_ASN}, not {neighbor.remote_as}",
                        neighbor.line,
                    )
                first_to_rs = rs.name not in rs_seen
                if first_to_rs and not any(p.peer_ip == nva.nic.ip for p in rs.peerings):
                    self.warn(
                        path,
                        f"route server {rs.name!r} has no peering for {nva.nic.ip}; "
                        "its sessions will never come up",
                        neighbor.line,
                    )
                rs_seen.setdefault(rs.name, []).append(address)
                if (rs.name, neighbor.route_map_out) not in next_hops_checked:
                    next_hops_checked.add((rs.name, neighbor.route_map_out))
                    self.next_hops(i, nva, rs, neighbor.route_map_out)
            elif address in nva_ips and address != nva.nic.ip:
                continue
            elif address in branch_peers:
                branch = branch_peers[address]
                if branch.asn is not None and branch.asn != neighbor.remote_as:
                    self.error(
                        path,
                        f"neighbor {address} is branch {branch.name!r} in AS {branch.asn}, "
                        f"not {neighbor.remote_as}",
                        neighbor.line,
                    )
            else:
                known = ", ".join(str(ip) for ip in owners) or "none declared"
                self.error(
                    path,
                    f"neighbor {address} is neither a route server instance ({known}) "
                    "nor a declared NVA or branch peer",
                    neighbor.line,
                )
        for name, seen in rs_seen.items():
            expected = self.topo.route_server_ips(name) or ()
            missing = [ip for ip in expected if ip not in seen]
            if missing:
                self.warn(
                    path,
                    f"NVA peers route server {name!r} at {', '.join(map(str, seen))} only; "
                    f"peer {', '.join(map(str, missing))} too or some VMs miss its routes",
                    config.bgp.line,
                )

    def next_hops(self, i: int, nva: Nva, rs: RouteServer, route_map: str | None) -> None:
        """Warn about ``set ip next-hop`` targets that cannot work toward ``rs``."""
        config = nva.bgp
        if route_map is None or config is None or route_map not in config.route_maps:
            return
        path: Path = ("nvas", i, "bgp_config")
        rs_region = self.topo.region_of(rs.vnet)
        frontends = {lb.frontend.ip: lb for lb in self.topo.load_balancers}
        nva_ips = {n.nic.ip for n in self.topo.nvas}
        for entry in config.route_maps[route_map].entries:
            for action in entry.sets:
                address = getattr(action, "address", None)
                if address is None:
                    continue
                ip = ipaddress.IPv4Address(address)
                lb = frontends.get(ip)
                if lb is not None:
                    lb_region = self.topo.region_of(lb.frontend.vnet)
                    if lb_region != rs_region:
                        self.warn(
                            path,
                            f"next hop {ip} is load balancer {lb.name!r} in region {lb_region!r}, "
                            f"but route server {rs.name!r} is in {rs_region!r}: the load "
                            "balancer must be in the route server's region; traffic to these "
                            "routes will fail",
                            action.line,
                        )
                    if nva.name not in lb.backend_pool.members:
                        self.warn(
                            path,
                            f"next hop {ip} is load balancer {lb.name!r}, whose backend pool "
                            f"does not contain {nva.name!r}",
                            action.line,
                        )
                elif ip not in nva_ips:
                    self.warn(
                        path,
                        f"next hop {ip} is neither a load balancer frontend nor an NVA address",
                        action.line,
                    )

    def probe_path(self, path: Path, protocol: ProbeProtocol, value: str | None) -> None:
        if protocol is ProbeProtocol.TCP and value is not None:
            self.error(path, "tcp probes take no path")
        elif protocol is not ProbeProtocol.TCP and not value:
            self.error(path, f"{protocol} probes need a path (like /health)")

    def load_balancers(self) -> None:
        for i, lb in enumerate(self.topo.load_balancers):
            self.load_balancer(i, lb)

    def load_balancer(self, i: int, lb: LoadBalancer) -> None:
        t = self.topo
        base: Path = ("load_balancers", i)
        fe = lb.frontend
        if self.placed((*base, "frontend"), fe.vnet, fe.subnet, fe.ip):
            self.claim(fe.vnet, fe.ip, (*base, "frontend", "ip"), f"load balancer {lb.name!r}")
        for j, member in enumerate(lb.backend_pool.members):
            path: Path = (*base, "backend_pool", "members", j)
            nics = {n.name: n.nic for n in t.nvas} | {m.name: m.nic for m in t.vms}
            nic = nics.get(member)
            if nic is None:
                self.error(path, f"{member!r} is not a declared NVA or VM")
            elif nic.vnet != fe.vnet:
                self.error(
                    path,
                    f"{member!r} is in vnet {nic.vnet!r}; backends must be in the frontend's "
                    f"vnet {fe.vnet!r}",
                )
        probes = {p.name: p for p in lb.probes}
        for j, probe in enumerate(lb.probes):
            path = (*base, "probes", j)
            if probe.interval_s < MIN_PROBE_INTERVAL_S and not lb.fast_probes:
                self.error(
                    (*path, "interval_s"),
                    f"{probe.interval_s} s is below the {MIN_PROBE_INTERVAL_S} s minimum "
                    "(set fast_probes: true to allow it)",
                )
            self.probe_path((*path, "path"), probe.protocol, probe.path)
            self.responders(i, lb, j)
        for j, rule in enumerate(lb.rules):
            path = (*base, "rules", j)
            if rule.probe not in probes:
                self.error((*path, "probe"), f"probe {rule.probe!r} is not declared in {lb.name!r}")
            if not IDLE_TIMEOUT_MIN <= rule.idle_timeout_min <= IDLE_TIMEOUT_MAX:
                self.error(
                    (*path, "idle_timeout_min"),
                    f"{rule.idle_timeout_min} min is outside {IDLE_TIMEOUT_MIN}-{IDLE_TIMEOUT_MAX}",
                )
            ha_ports = rule.protocol is LbProtocol.ALL
            if ha_ports != (rule.frontend_port == 0 and rule.backend_port == 0):
                self.error(
                    (*path, "protocol"),
                    "HA ports rules use protocol all with frontend_port and backend_port 0; "
                    "other rules need tcp or udp and non-zero ports",
                )

    def responders(self, i: int, lb: LoadBalancer, j: int) -> None:
        probe = lb.probes[j]
        for member in lb.backend_pool.members:
            nva = self.topo.nva(member)
            if nva is None:
                continue
            r = nva.probe_responder
            if r is None or r.port != probe.port or r.protocol is not probe.protocol:
                self.warn(
                    ("load_balancers", i, "probes", j),
                    f"NVA {member!r} has no probe responder on {probe.protocol}/{probe.port}; "
                    "the probe will always mark it down",
                )

    def compute(self) -> None:
        for i, vm in enumerate(self.topo.vms):
            self.nic(("vms", i, "nic"), vm.nic, f"VM {vm.name!r}")

    def branches(self) -> None:
        t = self.topo
        gateways = {g.name for g in t.virtual_network_gateways}
        for i, b in enumerate(t.branches):
            base: Path = ("branches", i)
            if bool(b.behind_nvas) == (b.behind_gateway is not None):
                self.error(base, "set exactly one of behind_nvas or behind_gateway")
            for j, name in enumerate(b.behind_nvas):
                if t.nva(name) is None:
                    self.error((*base, "behind_nvas", j), f"NVA {name!r} is not declared")
            if b.behind_gateway is not None and b.behind_gateway not in gateways:
                self.error(
                    (*base, "behind_gateway"), f"gateway {b.behind_gateway!r} is not declared"
                )
            if (b.peer_ip is None) != (b.asn is None):
                self.error(base, "peer_ip and asn go together (the branch's BGP speaker)")
            for j, prefix in enumerate(b.prefixes):
                for v in t.vnets:
                    for space in v.address_space:
                        if prefix.overlaps(space):
                            self.warn(
                                (*base, "prefixes", j),
                                f"{prefix} overlaps the address space {space} of vnet {v.name!r}",
                            )

    def gateways(self) -> None:
        for i, g in enumerate(self.topo.virtual_network_gateways):
            path: Path = ("virtual_network_gateways", i, "vnet")
            if self.topo.vnet(g.vnet) is None:
                self.error(path, f"vnet {g.vnet!r} is not declared")
            elif self.topo.subnet(g.vnet, GATEWAY_SUBNET) is None:
                self.error(path, f"vnet {g.vnet!r} has no subnet named GatewaySubnet")


def check_topology(topo: Topology) -> tuple[list[Issue], list[Issue]]:
    """Run every cross-resource check; return ``(errors, warnings)``."""
    checker = _Checker(topo)
    checker.required_lists()
    checker.names()
    checker.vnets()
    checker.peerings()
    checker.route_tables()
    checker.route_servers()
    checker.load_balancers()
    checker.nvas()
    checker.compute()
    checker.branches()
    checker.gateways()
    return checker.errors, checker.warnings

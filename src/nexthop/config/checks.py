"""Cross-resource checks of a topology: references, addressing, load balancers, HA.

Sources for the rules (route-server spec): §1.1 RouteServerSubnet of at least
/26 and dedicated (no route table, no NICs); §2 UDR next-hop types; §3 probe
interval >= 5 s (unless fast probes), idle timeout 4-100 min, HA ports rules,
backends in the frontend's VNet. Azure reserves the first four and the last
address of every subnet. The route server and NVA BGP rules are in
``bgp_checks``. These are errors: they make a topology invalid. Designs Azure
accepts but that will not carry traffic as intended are ``nexthop.lint`` rules.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nexthop.config.bgp_checks import check_nva_bgp, check_route_servers
from nexthop.config.issues import Issue, Path, format_path
from nexthop.config.types import (
    GATEWAY_SUBNET,
    ROUTE_SERVER_SUBNET,
    HaRole,
    LbProtocol,
    NextHopType,
    ProbeProtocol,
)
from nexthop.lb.model import (
    AZURE_MIN_PROBE_INTERVAL,
    MAX_IDLE_TIMEOUT_MINUTES,
    MIN_IDLE_TIMEOUT_MINUTES,
)
from nexthop.vnet.model import ROUTE_SERVER_SUBNET_MAX_LENGTH

if TYPE_CHECKING:
    from nexthop.config.schema import LoadBalancer, Nic, Topology, VirtualNetwork

__all__ = ["Checker", "check_topology"]

DEDICATED_SUBNETS = (ROUTE_SERVER_SUBNET, GATEWAY_SUBNET)
AZURE_RESERVED_HEAD = 4  # network address, default gateway, two DNS addresses


@dataclass(slots=True)
class Checker:
    """Collects errors; the address registry finds IP conflicts."""

    topo: Topology
    errors: list[Issue] = field(default_factory=list)
    # (vnet, address) -> (path, owner) of the first user of an address
    addresses: dict[tuple[str, ipaddress.IPv4Address], tuple[Path, str]] = field(
        default_factory=dict
    )

    def error(self, path: Path, message: str, text_line: int | None = None) -> None:
        self.errors.append(Issue(path, message, text_line))

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
                and s.prefix.prefixlen > ROUTE_SERVER_SUBNET_MAX_LENGTH
            ):
                self.error(
                    (*path, "prefix"),
                    f"RouteServerSubnet must be /{ROUTE_SERVER_SUBNET_MAX_LENGTH} or larger, "
                    f"got /{s.prefix.prefixlen}",
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
            check_nva_bgp(self, i, nva)

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
            if probe.interval_s < AZURE_MIN_PROBE_INTERVAL and not lb.fast_probes:
                self.error(
                    (*path, "interval_s"),
                    f"{probe.interval_s} s is below the {AZURE_MIN_PROBE_INTERVAL:g} s minimum "
                    "(set fast_probes: true to allow it)",
                )
            self.probe_path((*path, "path"), probe.protocol, probe.path)
        for j, rule in enumerate(lb.rules):
            path = (*base, "rules", j)
            if rule.probe not in probes:
                self.error((*path, "probe"), f"probe {rule.probe!r} is not declared in {lb.name!r}")
            if not MIN_IDLE_TIMEOUT_MINUTES <= rule.idle_timeout_min <= MAX_IDLE_TIMEOUT_MINUTES:
                self.error(
                    (*path, "idle_timeout_min"),
                    f"{rule.idle_timeout_min} min is outside "
                    f"{MIN_IDLE_TIMEOUT_MINUTES}-{MAX_IDLE_TIMEOUT_MINUTES}",
                )
            ha_ports = rule.protocol is LbProtocol.ALL
            if ha_ports != (rule.frontend_port == 0 and rule.backend_port == 0):
                self.error(
                    (*path, "protocol"),
                    "HA ports rules use protocol all with frontend_port and backend_port 0; "
                    "other rules need tcp or udp and non-zero ports",
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

    def gateways(self) -> None:
        for i, g in enumerate(self.topo.virtual_network_gateways):
            path: Path = ("virtual_network_gateways", i, "vnet")
            if self.topo.vnet(g.vnet) is None:
                self.error(path, f"vnet {g.vnet!r} is not declared")
            elif self.topo.subnet(g.vnet, GATEWAY_SUBNET) is None:
                self.error(path, f"vnet {g.vnet!r} has no subnet named GatewaySubnet")


def check_topology(topo: Topology) -> list[Issue]:
    """Run every cross-resource check; return the errors."""
    checker = Checker(topo)
    checker.required_lists()
    checker.names()
    checker.vnets()
    checker.peerings()
    checker.route_tables()
    check_route_servers(checker)
    checker.load_balancers()
    checker.nvas()
    checker.compute()
    checker.branches()
    checker.gateways()
    return checker.errors

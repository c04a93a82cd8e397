"""Azure resources (ARM shape, ``nexthop.importer.arm``) -> a topology document.

What maps (Azure name -> topology key, docs/topology.md):

* ``virtualNetworks`` -> ``vnets`` (address space, subnets with their route
  table) and ``peerings`` (one per pair; the flags of the side listed first);
* ``routeTables`` -> ``route_tables`` (routes, ``disableBgpRoutePropagation``);
* ``virtualHubs`` (Route Server) and their ``bgpConnections`` -> ``route_servers``
  (the vnet is the one whose ``RouteServerSubnet`` holds ``virtualRouterIps``);
* ``networkInterfaces``: with IP forwarding -> ``nvas`` (named after their VM, or
  the NIC), otherwise -> ``vms``; an NVA's BGP configuration comes from
  ``<bgp_dir>/<nva>.conf`` (or ``.cfg``/``.txt``);
* ``loadBalancers`` (internal, first private frontend) -> ``load_balancers``
  (backend pool members by NIC or address, probes, rules);
* ``virtualNetworkGateways`` -> ``virtual_network_gateways``.

Everything else (NSGs, public IPs, a second frontend, a peering to an NVA with
no BGP configuration, …) is listed in ``unmapped`` with the reason, never
dropped silently.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexthop.importer.arm import Resource, parse_id

__all__ = ["Mapped", "map_resources"]

ROUTE_SERVER_SUBNET = "RouteServerSubnet"
_KNOWN = {
    "virtualnetworks",
    "routetables",
    "virtualhubs",
    "bgpconnections",
    "networkinterfaces",
    "loadbalancers",
    "virtualnetworkgateways",
    "virtualmachines",
    "subnets",
}
_NEXT_HOP = {
    "virtualappliance": "virtual_appliance",
    "virtualnetworkgateway": "virtual_network_gateway",
    "vnetlocal": "vnet_local",
    "internet": "internet",
    "none": "none",
}
_PREFERENCE = {"expressroute": "expressroute", "vpngateway": "vpn_gateway", "aspath": "as_path"}
_DISTRIBUTION = {
    "default": "default",
    "sourceip": "source_ip",
    "sourceipprotocol": "source_ip_protocol",
}
_CONFIG_SUFFIXES = (".conf", ".cfg", ".txt")


@dataclass(slots=True)
class Mapped:
    """The topology document (plain data, as YAML would load), what was not mapped,
    and what was assumed where Azure's description is silent."""

    document: dict[str, Any]
    unmapped: list[str] = field(default_factory=list)
    assumed: list[str] = field(default_factory=list)


def _name(value: str) -> str:
    return value.rsplit("/", 1)[-1]  # ARM template child names read "parent/child"


def _lower(value: object) -> str:
    return str(value or "").replace(" ", "").replace("_", "").lower()


def _prefixes(body: dict[str, Any], many: str, one: str) -> list[str]:
    values = body.get(many) or ([body[one]] if body.get(one) else [])
    return [str(v) for v in values]


class _Mapper:
    def __init__(self, resources: Iterable[Resource], bgp_dir: Path | None) -> None:
        self.by_kind: dict[str, list[Resource]] = {}
        for r in resources:
            self.by_kind.setdefault(r.kind, []).append(r)
        self.bgp_dir = bgp_dir
        self.unmapped: list[str] = []
        self.subnet_of_table: dict[tuple[str, str], str] = {}  # (vnet, subnet) -> table
        self.nic_owner: dict[str, str] = {}  # NIC name -> NVA/VM name
        self.address_owner: dict[str, str] = {}  # NIC address -> NVA/VM name
        self.nva_asn: dict[str, int | None] = {}  # NVA name -> its router bgp ASN
        self.subnets: list[tuple[str, str, ipaddress.IPv4Network]] = []

    def of(self, kind: str) -> list[Resource]:
        return self.by_kind.get(kind, [])

    def note(self, resource: Resource, reason: str) -> None:
        self.unmapped.append(f"{resource.source}: {resource.type} {resource.name!r}: {reason}")

    # --- vnets, route tables -------------------------------------------------------

    def route_tables(self) -> list[dict[str, Any]]:
        tables = []
        for r in self.of("routetables"):
            name = _name(r.name)
            routes = []
            for route in r.body.get("routes") or []:
                hop = _NEXT_HOP.get(_lower(route.get("nextHopType")))
                if hop is None:
                    self.note(r, f"route {route.get('name')!r}: next hop type not modelled")
                    continue
                row: dict[str, Any] = {
                    "name": _name(str(route.get("name"))),
                    "prefix": str(route.get("addressPrefix")),
                    "next_hop_type": hop,
                }
                if route.get("nextHopIpAddress"):
                    row["next_hop_ip"] = str(route["nextHopIpAddress"])
                routes.append(row)
            tables.append(
                {
                    "name": name,
                    "disable_bgp_route_propagation": bool(
                        r.body.get("disableBgpRoutePropagation", False)
                    ),
                    "routes": routes,
                }
            )
            for subnet in r.body.get("subnets") or []:
                parsed = parse_id(subnet.get("id"))
                if parsed is not None:
                    vnet, sub = parsed.name_of("virtualNetworks"), parsed.name_of("subnets")
                    if vnet and sub:
                        self.subnet_of_table[(vnet, sub)] = name
        return tables

    def vnets(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
        vnets: list[dict[str, Any]] = []
        sides: dict[frozenset[str], dict[str, tuple[str, dict[str, Any]]]] = {}
        locations = Counter(str(r.body.get("location", "")) for r in self.of("virtualnetworks"))
        region = locations.most_common(1)[0][0] if locations else "westeurope"
        separate: dict[str, list[dict[str, Any]]] = {}  # ``az network vnet subnet list``
        for r in self.of("subnets"):
            parent = r.parent.name_of("virtualNetworks") if r.parent else None
            separate.setdefault(parent or r.name.split("/")[0], []).append(r.body)
        for r in self.of("virtualnetworks"):
            name = _name(r.name)
            subnets = []
            listed = {_name(str(s.get("name"))) for s in r.body.get("subnets") or []}
            extra = [s for s in separate.pop(name, []) if _name(str(s.get("name"))) not in listed]
            for s in [*(r.body.get("subnets") or []), *extra]:
                sub = _name(str(s.get("name")))
                prefixes = _prefixes(s, "addressPrefixes", "addressPrefix")
                if not prefixes:
                    self.note(r, f"subnet {sub!r} has no address prefix")
                    continue
                entry: dict[str, Any] = {"name": sub, "prefix": prefixes[0]}
                table = parse_id((s.get("routeTable") or {}).get("id"))
                table_name = table.name_of("routeTables") if table else None
                table_name = table_name or self.subnet_of_table.get((name, sub))
                if table_name:
                    entry["route_table"] = table_name
                subnets.append(entry)
                self.subnets.append((name, sub, ipaddress.IPv4Network(prefixes[0])))
            space = r.body.get("addressSpace") or {}
            vnet: dict[str, Any] = {
                "name": name,
                "address_space": _prefixes(space, "addressPrefixes", "_"),
                "subnets": subnets,
            }
            location = str(r.body.get("location", ""))
            if location and location != region:
                vnet["region"] = location
            vnets.append(vnet)
            for p in r.body.get("virtualNetworkPeerings") or []:
                remote = parse_id((p.get("remoteVirtualNetwork") or {}).get("id"))
                remote_name = remote.name_of("virtualNetworks") if remote else None
                if remote_name is None:
                    self.note(r, f"peering {p.get('name')!r}: remote vnet not resolvable")
                    continue
                sides.setdefault(frozenset((name, remote_name)), {})[name] = (remote_name, p)
        for parent, orphans in separate.items():
            for body in orphans:
                self.unmapped.append(
                    f"subnet {body.get('name')!r}: its vnet {parent!r} was not imported"
                )
        return vnets, [_peering(pair) for pair in sides.values()], region

    def locate(self, address: str) -> tuple[str, str] | None:
        """The (vnet, subnet) holding ``address``."""
        ip = ipaddress.IPv4Address(address)
        for vnet, subnet, network in self.subnets:
            if ip in network:
                return vnet, subnet
        return None

    # --- NICs: NVAs and VMs ----------------------------------------------------------

    def _bgp_config(self, nva: str) -> str | None:
        if self.bgp_dir is None:
            return None
        for suffix in _CONFIG_SUFFIXES:
            path = self.bgp_dir / f"{nva}{suffix}"
            if path.is_file():
                return path.read_text(encoding="utf-8")
        return None

    def nics(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        nvas, vms = [], []
        for r in self.of("networkinterfaces"):
            configs = r.body.get("ipConfigurations") or []
            primary = next(
                (c for c in configs if c.get("primary")), configs[0] if configs else None
            )
            if primary is None or not primary.get("privateIPAddress"):
                self.note(r, "no private IP address")
                continue
            address = str(primary["privateIPAddress"])
            subnet = parse_id((primary.get("subnet") or {}).get("id"))
            where = (
                (subnet.name_of("virtualNetworks"), subnet.name_of("subnets")) if subnet else None
            )
            if where is None or None in where:
                where = self.locate(address)
            if where is None:
                self.note(r, f"{address} is in no imported subnet")
                continue
            vm = parse_id((r.body.get("virtualMachine") or {}).get("id"))
            nic_name = _name(r.name)
            owner = (vm.name_of("virtualMachines") if vm else None) or nic_name.removesuffix("-nic")
            self.nic_owner[nic_name] = owner
            self.address_owner[address] = owner
            nic = {"vnet": where[0], "subnet": where[1], "ip": address}
            if len(configs) > 1:
                self.note(r, "only the primary IP configuration is modelled")
            if r.body.get("enableIPForwarding") or r.body.get("enableIpForwarding"):
                nva: dict[str, Any] = {"name": owner, "nic": nic}
                config = self._bgp_config(owner)
                if config is not None:
                    nva["bgp_config"] = config
                    self.nva_asn[owner] = _router_asn(config)
                nvas.append(nva)
            else:
                vms.append({"name": owner, "nic": nic})
        return nvas, vms

    # --- route servers -----------------------------------------------------------------

    def route_servers(self) -> list[dict[str, Any]]:
        servers = []
        connections: dict[str, list[Resource]] = {}
        for c in self.of("bgpconnections"):
            parent = c.parent.name_of("virtualHubs") if c.parent else None
            parent = parent or (c.name.split("/")[0] if "/" in c.name else None)
            connections.setdefault(parent or "", []).append(c)
        for r in self.of("virtualhubs"):
            name = _name(r.name)
            ips = [str(ip) for ip in r.body.get("virtualRouterIps") or []]
            where = self.locate(ips[0]) if ips else None
            if where is None:  # a plan knows the subnet, not yet the router IPs
                where = self._subnet_ref(r)
            if where is None or where[1] != ROUTE_SERVER_SUBNET:
                self.note(r, "no imported RouteServerSubnet holds its virtualRouterIps")
                continue
            peerings = []
            for c in connections.pop(name, []):
                peer_ip = str(c.body.get("peerIp"))
                peering: dict[str, Any] = {
                    "name": _name(c.name),
                    "peer_ip": peer_ip,
                    "peer_asn": int(c.body.get("peerAsn", 0)),
                }
                owner = self.address_owner.get(peer_ip)
                if owner is None or self.nva_asn.get(owner) is None:
                    peering["external"] = True
                    why = (
                        "no NVA NIC has that address"
                        if owner is None
                        else (f"no BGP configuration for NVA {owner!r} (give --bgp-config-dir)")
                    )
                    self.note(c, f"peering kept external: {why}")
                peerings.append(peering)
            server: dict[str, Any] = {
                "name": name,
                "vnet": where[0],
                "branch_to_branch": bool(r.body.get("allowBranchToBranchTraffic", False)),
                "peerings": peerings,
            }
            preference = _PREFERENCE.get(_lower(r.body.get("hubRoutingPreference")))
            if preference:
                server["hub_routing_preference"] = preference
            servers.append(server)
        for parent, left in connections.items():
            for c in left:
                self.note(c, f"its route server {parent!r} was not imported")
        return servers

    @staticmethod
    def _subnet_ref(r: Resource) -> tuple[str, str] | None:
        refs = [r.body.get("subnetId")] + [
            (c.get("subnet") or {}).get("id") for c in r.body.get("ipConfigurations") or []
        ]
        for ref in refs:
            parsed = parse_id(ref)
            vnet = parsed.name_of("virtualNetworks") if parsed else None
            subnet = parsed.name_of("subnets") if parsed else None
            if vnet and subnet:
                return vnet, subnet
        return None

    # --- load balancers ----------------------------------------------------------------

    def load_balancers(self) -> list[dict[str, Any]]:
        balancers = []
        for r in self.of("loadbalancers"):
            fronts = [
                f for f in r.body.get("frontendIPConfigurations") or [] if f.get("privateIPAddress")
            ]
            if not fronts:
                self.note(r, "no private frontend (a public load balancer is not modelled)")
                continue
            front = fronts[0]
            if len(fronts) > 1:
                self.note(r, "only the first private frontend is modelled")
            address = str(front["privateIPAddress"])
            where = self.locate(address)
            if where is None:
                self.note(r, f"frontend {address} is in no imported subnet")
                continue
            pools = r.body.get("backendAddressPools") or []
            pool = pools[0] if pools else {}
            if len(pools) > 1:
                self.note(r, "only the first backend pool is modelled")
            members = self._members(r, pool)
            probes = [self._probe(p) for p in r.body.get("probes") or []]
            rules = [self._rule(r, rule) for rule in r.body.get("loadBalancingRules") or []]
            balancers.append(
                {
                    "name": _name(r.name),
                    "frontend": {
                        "name": _name(str(front.get("name", "frontend"))),
                        "vnet": where[0],
                        "subnet": where[1],
                        "ip": address,
                    },
                    "backend_pool": {
                        "name": _name(str(pool.get("name", "backend"))),
                        "members": members,
                    },
                    "probes": probes,
                    "rules": rules,
                }
            )
        return balancers

    def _members(self, lb: Resource, pool: dict[str, Any]) -> list[str]:
        members: list[str] = []
        for config in pool.get("backendIPConfigurations") or []:
            parsed = parse_id(config.get("id"))
            nic = parsed.name_of("networkInterfaces") if parsed else None
            owner = self.nic_owner.get(nic or "")
            if owner is None:
                self.note(lb, f"backend {config.get('id')!r}: its NIC was not imported")
            elif owner not in members:
                members.append(owner)
        for address in pool.get("loadBalancerBackendAddresses") or []:
            ip = address.get("ipAddress")
            owner = self.address_owner.get(str(ip))
            if owner is None:
                self.note(lb, f"backend address {ip!r}: no imported NIC has it")
            elif owner not in members:
                members.append(owner)
        return members

    @staticmethod
    def _probe(p: dict[str, Any]) -> dict[str, Any]:
        probe: dict[str, Any] = {
            "name": _name(str(p.get("name"))),
            "protocol": _lower(p.get("protocol")) or "tcp",
            "port": int(p.get("port", 0)),
            "interval_s": int(p.get("intervalInSeconds", 5)),
            # Azure acts on probeThreshold (default 1); numberOfProbes is ignored (spec §3)
            "threshold": int(p.get("probeThreshold") or 1),
        }
        if p.get("requestPath"):
            probe["path"] = str(p["requestPath"])
        return probe

    def _rule(self, lb: Resource, rule: dict[str, Any]) -> dict[str, Any]:
        probe = parse_id((rule.get("probe") or {}).get("id"))
        probe_name = probe.name_of("probes") if probe else None
        if probe_name is None:
            self.note(lb, f"rule {rule.get('name')!r} has no probe; the topology needs one")
        out: dict[str, Any] = {
            "name": _name(str(rule.get("name"))),
            "protocol": _lower(rule.get("protocol")) or "all",
            "frontend_port": int(rule.get("frontendPort", 0)),
            "backend_port": int(rule.get("backendPort", 0)),
            "probe": probe_name or "",
            "floating_ip": bool(rule.get("enableFloatingIP", False)),
            "idle_timeout_min": int(rule.get("idleTimeoutInMinutes", 4)),
            "enable_tcp_reset": bool(rule.get("enableTcpReset", False)),
        }
        distribution = _DISTRIBUTION.get(_lower(rule.get("loadDistribution")))
        if distribution:
            out["distribution"] = distribution
        return out

    # --- gateways, the rest ----------------------------------------------------------------

    def gateways(self) -> list[dict[str, Any]]:
        gateways = []
        for r in self.of("virtualnetworkgateways"):
            vnet = None
            for config in r.body.get("ipConfigurations") or []:
                parsed = parse_id((config.get("subnet") or {}).get("id"))
                vnet = vnet or (parsed.name_of("virtualNetworks") if parsed else None)
            kind = _lower(r.body.get("gatewayType"))
            if vnet is None or kind not in ("vpn", "expressroute"):
                self.note(r, "gateway vnet or type not resolvable")
                continue
            gateway: dict[str, Any] = {"name": _name(r.name), "vnet": vnet, "type": kind}
            asn = (r.body.get("bgpSettings") or {}).get("asn")
            if asn:
                gateway["asn"] = int(asn)
            gateway["active_active"] = bool(r.body.get("activeActive", True))
            gateways.append(gateway)
        return gateways

    def leftovers(self) -> None:
        for kind, resources in sorted(self.by_kind.items()):
            if kind not in _KNOWN:
                for r in resources:
                    self.note(r, "resource type not modelled")


def _peering(sides: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """One topology peering from the one or two ARM sides of a vnet pair: the local
    vnet is the side that uses the remote's gateways (route server), if any; gateway
    transit comes from the other side; forwarded traffic needs both (docs/topology.md)."""
    ordered = sorted(sides.items(), key=lambda item: not item[1][1].get("useRemoteGateways"))
    local, (remote, near) = ordered[0]
    far = sides.get(remote, (local, {}))[1]
    both = [near, far] if far else [near]
    return {
        "name": _name(str(near.get("name") or f"{local}-{remote}")),
        "local_vnet": local,
        "remote_vnet": remote,
        "allow_forwarded_traffic": all(bool(s.get("allowForwardedTraffic", True)) for s in both),
        "allow_gateway_transit": bool(far.get("allowGatewayTransit", False)),
        "use_remote_gateways": bool(near.get("useRemoteGateways", False)),
    }


def _router_asn(config: str) -> int | None:
    for line in config.splitlines():
        words = line.split()
        if len(words) >= 3 and words[0] == "router" and words[1] == "bgp":
            try:
                return int(words[2])
            except ValueError:
                return None
    return None


def map_resources(
    resources: Iterable[Resource], *, bgp_dir: Path | None = None, name: str | None = None
) -> Mapped:
    """The topology document for ``resources`` and the list of what was not mapped."""
    m = _Mapper(resources, bgp_dir)
    tables = m.route_tables()
    vnets, peerings, region = m.vnets()
    nvas, vms = m.nics()
    document: dict[str, Any] = {"name": name or "imported", "region": region, "vnets": vnets}
    sections = {
        "peerings": peerings,
        "route_tables": tables,
        "route_servers": m.route_servers(),
        "load_balancers": m.load_balancers(),
        "nvas": nvas,
        "vms": vms,
        "virtual_network_gateways": m.gateways(),
    }
    document.update({key: value for key, value in sections.items() if value})
    m.leftovers()
    assumed = _probe_responders(document)
    return Mapped(document, m.unmapped, assumed)


def _probe_responders(document: dict[str, Any]) -> list[str]:
    """Each NVA in a backend pool answers its load balancer's probe (Azure's
    description of a VM does not say what it listens on; a pool member that Azure
    shows healthy does answer). Returns what was assumed."""
    assumed: list[str] = []
    nvas = {nva["name"]: nva for nva in document.get("nvas", [])}
    for lb in document.get("load_balancers", []):
        probes = {p["name"]: p for p in lb["probes"]}
        used = [probes[r["probe"]] for r in lb["rules"] if r["probe"] in probes]
        if not used:
            continue
        probe = used[0]
        for member in lb["backend_pool"]["members"]:
            nva = nvas.get(member)
            if nva is None or "probe_responder" in nva:
                continue
            responder = {"protocol": probe["protocol"], "port": probe["port"]}
            if probe.get("path"):
                responder["path"] = probe["path"]
            nva["probe_responder"] = responder
            assumed.append(
                f"NVA {member!r} answers probe {probe['name']!r} of {lb['name']!r}"
                f" ({probe['protocol']}/{probe['port']})"
            )
    return assumed

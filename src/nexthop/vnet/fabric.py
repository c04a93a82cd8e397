"""The fabric: every region, VNet, subnet, NIC, peering and route table, kept consistent.

Each ``add_*``/``remove_*``/``replace_*`` method validates the whole change against
the current state before touching anything, so a rejected change leaves the fabric
as it was. Rejections raise ``ValueError`` naming the object and field; asking for
(or removing) something by a name that does not exist raises ``KeyError``.

BGP routes come from the route server through ``set_bgp_routes(vnet, routes)``. They
reach the NICs of that VNet and of every VNet whose peering to it uses "the remote
virtual network's gateway or Route Server" while the reverse link allows gateway
transit (route-server-spec §1.1, §1.6 "Scope"). The route server does not inject a
route equal to or more specific than the address space of its VNet or of those
peered VNets (spec §1.4 "Prefix acceptance", §1.11 ``program``); supernets pass.

Effective routes and the compiled lookup table are cached per subnet (all NICs in a
subnet share them) and invalidated by any change that can affect them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TypeVar

from nexthop.net.prefix import Afi, Prefix, format_address, parse_address
from nexthop.net.trie import PrefixTrie
from nexthop.vnet.effective import compute_effective_routes, to_az_json
from nexthop.vnet.lookup import LookupIndex, RouteDecision, next_hop
from nexthop.vnet.model import (
    GATEWAY_SUBNET,
    BgpRoute,
    EffectiveRoute,
    Nic,
    Region,
    RouteTable,
    Subnet,
    VirtualNetwork,
    VnetPeering,
)

__all__ = ["Fabric", "filter_injectable"]

_SubnetKey = tuple[str, str]
_T = TypeVar("_T")


def _fail(owner: str, field: str, problem: str) -> ValueError:
    return ValueError(f"{owner}: {field}: {problem}")


def filter_injectable(routes: Iterable[BgpRoute], ranges: Iterable[Prefix]) -> list[BgpRoute]:
    """Drop routes equal to or more specific than any of ``ranges`` (spec §1.4)."""
    guard: PrefixTrie[None] = PrefixTrie()
    for prefix in ranges:
        guard.insert(prefix, None)
    if not guard:
        return list(routes)
    return [route for route in routes if not guard.covering(route.prefix)]


def _check_gateway_subnet_table(subnet: Subnet, table: RouteTable) -> None:
    """Azure does not support disabling BGP route propagation on GatewaySubnet
    [Azure VPN gateway docs; not in the spec]."""
    if subnet.name == GATEWAY_SUBNET and table.disable_bgp_route_propagation:
        raise _fail(
            f"Subnet {subnet.vnet}/{subnet.name}",
            "route_table",
            f"route table {table.name!r} disables BGP route propagation, "
            f"which {GATEWAY_SUBNET} does not support",
        )


class _Compiled:
    __slots__ = ("index", "routes")

    def __init__(self, routes: list[EffectiveRoute]) -> None:
        self.routes = tuple(routes)
        self.index: LookupIndex | None = None


class Fabric:
    """The virtual network control plane state (sans-IO, no clock)."""

    def __init__(self) -> None:
        self._regions: dict[str, Region] = {}
        self._vnets: dict[str, VirtualNetwork] = {}
        self._subnets: dict[_SubnetKey, Subnet] = {}
        self._nics: dict[str, Nic] = {}
        self._peerings: dict[tuple[str, str], VnetPeering] = {}
        self._route_tables: dict[str, RouteTable] = {}
        self._bgp: dict[str, tuple[BgpRoute, ...]] = {}
        self._cache: dict[_SubnetKey, _Compiled] = {}

    # -- queries -----------------------------------------------------------------

    def region(self, name: str) -> Region:
        return self._get(self._regions, name, "region")

    def vnet(self, name: str) -> VirtualNetwork:
        return self._get(self._vnets, name, "virtual network")

    def subnet(self, vnet: str, name: str) -> Subnet:
        subnet = self._subnets.get((vnet, name))
        if subnet is None:
            msg = f"unknown subnet {vnet}/{name}"
            raise KeyError(msg)
        return subnet

    def nic(self, name: str) -> Nic:
        return self._get(self._nics, name, "NIC")

    def route_table(self, name: str) -> RouteTable:
        return self._get(self._route_tables, name, "route table")

    def peering(self, local: str, remote: str) -> VnetPeering:
        peering = self._peerings.get((local, remote))
        if peering is None:
            msg = f"unknown peering {local}->{remote}"
            raise KeyError(msg)
        return peering

    @staticmethod
    def _get(table: dict[str, _T], name: str, kind: str) -> _T:
        item = table.get(name)
        if item is None:
            msg = f"unknown {kind} {name!r}"
            raise KeyError(msg)
        return item

    def regions(self) -> list[Region]:
        return list(self._regions.values())

    def vnets(self) -> list[VirtualNetwork]:
        return list(self._vnets.values())

    def subnets(self, vnet: str | None = None) -> list[Subnet]:
        return [s for (v, _), s in self._subnets.items() if vnet is None or v == vnet]

    def nics(self) -> list[Nic]:
        return list(self._nics.values())

    def peerings(self) -> list[VnetPeering]:
        return list(self._peerings.values())

    def route_tables(self) -> list[RouteTable]:
        return list(self._route_tables.values())

    def bgp_routes(self, vnet: str) -> tuple[BgpRoute, ...]:
        """The routes last set for ``vnet`` by ``set_bgp_routes``."""
        self.vnet(vnet)
        return self._bgp.get(vnet, ())

    def _linked(self, vnet: str) -> set[str]:
        """VNets with a peering link to or from ``vnet`` (connected or not)."""
        linked = {remote for (local, remote) in self._peerings if local == vnet}
        return linked | {local for (local, remote) in self._peerings if remote == vnet}

    def peered_vnets(self, vnet: str) -> list[VirtualNetwork]:
        """VNets peered with ``vnet`` in both directions ("Connected")."""
        self.vnet(vnet)
        return [
            self._vnets[remote]
            for (local, remote) in self._peerings
            if local == vnet and (remote, local) in self._peerings
        ]

    def _transit_hubs(self, vnet: str) -> list[str]:
        """VNets whose route server routes reach ``vnet`` through gateway transit."""
        return [
            remote
            for (local, remote), link in self._peerings.items()
            if local == vnet
            and link.use_remote_gateways
            and (back := self._peerings.get((remote, local))) is not None
            and back.allow_gateway_transit
        ]

    def _transit_spokes(self, hub: str) -> list[str]:
        return [
            local
            for (local, remote) in self._peerings
            if remote == hub and hub in self._transit_hubs(local)
        ]

    def programmed_bgp_routes(self, vnet: str) -> list[BgpRoute]:
        """BGP routes programmed for the NICs of ``vnet``: its own route server's
        routes and those of gateway-transit hubs, each after the injection filter."""
        self.vnet(vnet)
        routes: list[BgpRoute] = []
        for source in (vnet, *self._transit_hubs(vnet)):
            learned = self._bgp.get(source, ())
            if not learned:
                continue
            ranges = [
                space
                for name in (source, *self._transit_spokes(source))
                for space in self._vnets[name].address_spaces
            ]
            routes.extend(filter_injectable(learned, ranges))
        return routes

    # -- effective routes and lookup ---------------------------------------------

    def _compiled(self, vnet: str, subnet: str) -> _Compiled:
        key = (vnet, subnet)
        compiled = self._cache.get(key)
        if compiled is None:
            record = self.subnet(vnet, subnet)
            table = self._route_tables[record.route_table] if record.route_table else None
            routes = compute_effective_routes(
                vnet=self._vnets[vnet],
                peered_vnets=self.peered_vnets(vnet),
                route_table=table,
                bgp_routes=()
                if table and table.disable_bgp_route_propagation
                else self.programmed_bgp_routes(vnet),
            )
            compiled = self._cache[key] = _Compiled(routes)
        return compiled

    def effective_routes(self, nic_name: str) -> list[EffectiveRoute]:
        """The effective routes of a NIC (spec §2), Active and Invalid."""
        nic = self.nic(nic_name)
        return list(self._compiled(nic.vnet, nic.subnet).routes)

    def effective_route_table(self, nic_name: str) -> dict[str, list[dict[str, object]]]:
        """``az network nic show-effective-route-table`` JSON for a NIC."""
        return to_az_json(self.effective_routes(nic_name))

    def lookup_index(self, nic_name: str) -> LookupIndex:
        nic = self.nic(nic_name)
        compiled = self._compiled(nic.vnet, nic.subnet)
        if compiled.index is None:
            compiled.index = LookupIndex(compiled.routes)
        return compiled.index

    def lookup(self, nic_name: str, destination_ip: str | tuple[int, int]) -> RouteDecision:
        """Where a packet from ``nic_name`` to ``destination_ip`` goes."""
        return next_hop(self.lookup_index(nic_name), destination_ip)

    def _invalidate_all(self) -> None:
        self._cache.clear()

    def _invalidate_vnets(self, names: Iterable[str]) -> None:
        names = set(names)
        for key in [key for key in self._cache if key[0] in names]:
            del self._cache[key]

    # -- regions and VNets -------------------------------------------------------

    def add_region(self, region: Region) -> None:
        if region.name in self._regions:
            raise _fail(f"Region {region.name!r}", "name", "already exists")
        self._regions[region.name] = region

    def remove_region(self, name: str) -> None:
        self.region(name)
        users = [v.name for v in self._vnets.values() if v.region == name] + [
            t.name for t in self._route_tables.values() if t.region == name
        ]
        if users:
            raise _fail(f"Region {name!r}", "name", f"still used by {', '.join(sorted(users))}")
        del self._regions[name]

    def add_vnet(self, vnet: VirtualNetwork) -> None:
        owner = f"VirtualNetwork {vnet.name!r}"
        if vnet.name in self._vnets:
            raise _fail(owner, "name", "already exists")
        if vnet.region not in self._regions:
            raise _fail(owner, "region", f"unknown region {vnet.region!r}")
        self._vnets[vnet.name] = vnet

    def remove_vnet(self, name: str) -> None:
        self.vnet(name)
        owner = f"VirtualNetwork {name!r}"
        if self.subnets(name):
            raise _fail(owner, "subnets", "remove its subnets first")
        if self._linked(name):
            raise _fail(owner, "peerings", "remove its peerings first")
        del self._vnets[name]
        self._bgp.pop(name, None)
        self._invalidate_all()

    # -- subnets -----------------------------------------------------------------

    def _check_route_table_for(self, subnet: Subnet) -> None:
        owner, table_name = f"Subnet {subnet.vnet}/{subnet.name}", subnet.route_table
        if table_name is None:
            return
        table = self._route_tables.get(table_name)
        if table is None:
            raise _fail(owner, "route_table", f"unknown route table {table_name!r}")
        _check_gateway_subnet_table(subnet, table)
        region = self._vnets[subnet.vnet].region
        if table.region != region:
            raise _fail(
                owner,
                "route_table",
                f"route table {table_name!r} is in region {table.region!r}, "
                f"the virtual network in {region!r}",
            )

    def add_subnet(self, subnet: Subnet) -> None:
        owner = f"Subnet {subnet.vnet}/{subnet.name}"
        vnet = self._vnets.get(subnet.vnet)
        if vnet is None:
            raise _fail(owner, "vnet", f"unknown virtual network {subnet.vnet!r}")
        if (subnet.vnet, subnet.name) in self._subnets:
            raise _fail(owner, "name", "already exists in the virtual network")
        if not any(space.contains(subnet.prefix) for space in vnet.address_spaces):
            spaces = ", ".join(str(space) for space in vnet.address_spaces)
            raise _fail(owner, "prefix", f"{subnet.prefix} is outside the address space ({spaces})")
        for other in self.subnets(subnet.vnet):
            if other.prefix.overlaps(subnet.prefix):
                raise _fail(
                    owner,
                    "prefix",
                    f"{subnet.prefix} overlaps subnet {other.name!r} ({other.prefix})",
                )
        self._check_route_table_for(subnet)
        self._subnets[(subnet.vnet, subnet.name)] = subnet
        self._cache.pop((subnet.vnet, subnet.name), None)

    def remove_subnet(self, vnet: str, name: str) -> None:
        self.subnet(vnet, name)
        in_use = sorted(n.name for n in self._nics.values() if (n.vnet, n.subnet) == (vnet, name))
        if in_use:
            raise _fail(f"Subnet {vnet}/{name}", "nics", f"still used by {', '.join(in_use)}")
        del self._subnets[(vnet, name)]
        self._cache.pop((vnet, name), None)

    def associate_route_table(self, vnet: str, subnet: str, route_table: str | None) -> None:
        """Associate ``route_table`` (or none) with a subnet."""
        updated = replace(self.subnet(vnet, subnet), route_table=route_table)
        self._check_route_table_for(updated)
        self._subnets[(vnet, subnet)] = updated
        self._cache.pop((vnet, subnet), None)

    # -- NICs --------------------------------------------------------------------

    def add_nic(self, nic: Nic) -> None:
        owner = f"Nic {nic.name!r}"
        if nic.name in self._nics:
            raise _fail(owner, "name", "already exists")
        subnet = self._subnets.get((nic.vnet, nic.subnet))
        if subnet is None:
            raise _fail(owner, "subnet", f"unknown subnet {nic.vnet}/{nic.subnet}")
        if not subnet.prefix.contains_address(subnet.prefix.afi, nic.private_ip):
            raise _fail(
                owner,
                "private_ip",
                f"{self._ip_text(subnet.prefix.afi, nic.private_ip)} is outside "
                f"subnet {subnet.name!r} ({subnet.prefix})",
            )
        if not subnet.usable(nic.private_ip):
            raise _fail(
                owner,
                "private_ip",
                f"{format_address(subnet.prefix.afi, nic.private_ip)} is reserved by Azure "
                f"in {subnet.prefix}",
            )
        for other in self._nics.values():
            if other.vnet == nic.vnet and other.private_ip == nic.private_ip:
                same_family = self._subnets[(other.vnet, other.subnet)].prefix.afi
                if same_family == subnet.prefix.afi:
                    raise _fail(
                        owner,
                        "private_ip",
                        f"{format_address(subnet.prefix.afi, nic.private_ip)} is already "
                        f"used by NIC {other.name!r}",
                    )
        self._nics[nic.name] = nic

    @staticmethod
    def _ip_text(afi: int, value: int) -> str:
        width = 32 if afi == Afi.IPV4 else 128
        return format_address(afi, value) if not value >> width else str(value)

    def remove_nic(self, name: str) -> None:
        self.nic(name)
        del self._nics[name]

    def nic_by_ip(self, vnet: str, address: str | int) -> Nic | None:
        """The NIC holding ``address`` in ``vnet``, if any."""
        value = parse_address(address)[1] if isinstance(address, str) else address
        for nic in self._nics.values():
            if nic.vnet == vnet and nic.private_ip == value:
                return nic
        return None

    # -- route tables ------------------------------------------------------------

    def add_route_table(self, table: RouteTable) -> None:
        owner = f"RouteTable {table.name!r}"
        if table.name in self._route_tables:
            raise _fail(owner, "name", "already exists")
        if table.region not in self._regions:
            raise _fail(owner, "region", f"unknown region {table.region!r}")
        self._route_tables[table.name] = table

    def _table_users(self, name: str) -> list[Subnet]:
        return [s for s in self._subnets.values() if s.route_table == name]

    def replace_route_table(self, table: RouteTable) -> None:
        """Replace a route table's routes or settings (same name)."""
        old = self.route_table(table.name)
        if table.region != old.region:
            raise _fail(f"RouteTable {table.name!r}", "region", "cannot change the region")
        for subnet in self._table_users(table.name):
            _check_gateway_subnet_table(subnet, table)
        self._route_tables[table.name] = table
        for subnet in self._table_users(table.name):
            self._cache.pop((subnet.vnet, subnet.name), None)

    def remove_route_table(self, name: str) -> None:
        self.route_table(name)
        users = sorted(f"{s.vnet}/{s.name}" for s in self._table_users(name))
        if users:
            raise _fail(
                f"RouteTable {name!r}", "subnets", f"still associated with {', '.join(users)}"
            )
        del self._route_tables[name]

    # -- peerings ----------------------------------------------------------------

    def add_peering(self, peering: VnetPeering) -> None:
        """Add one direction of a peering; routes flow once both directions exist."""
        owner = f"VnetPeering {peering.local}->{peering.remote}"
        for field in ("local", "remote"):
            name = getattr(peering, field)
            if name not in self._vnets:
                raise _fail(owner, field, f"unknown virtual network {name!r}")
        if (peering.local, peering.remote) in self._peerings:
            raise _fail(owner, "remote", "this peering already exists")
        local, remote = self._vnets[peering.local], self._vnets[peering.remote]
        self._check_no_overlap(owner, "remote", remote, local)
        for other in self._linked(peering.local) - {peering.remote}:
            self._check_no_overlap(owner, "remote", remote, self._vnets[other])
        for other in self._linked(peering.remote) - {peering.local}:
            self._check_no_overlap(owner, "local", local, self._vnets[other])
        if peering.use_remote_gateways:
            for (src, dst), link in self._peerings.items():
                if src == peering.local and link.use_remote_gateways:
                    raise _fail(
                        owner,
                        "use_remote_gateways",
                        f"already enabled on the peering to {dst!r}; only one is allowed",
                    )
            back = self._peerings.get((peering.remote, peering.local))
            if back is not None and back.use_remote_gateways:
                raise _fail(
                    owner,
                    "use_remote_gateways",
                    "the reverse link already uses this VNet's gateway",
                )
        self._peerings[(peering.local, peering.remote)] = peering
        self._invalidate_all()

    def _check_no_overlap(
        self, owner: str, field: str, new: VirtualNetwork, existing: VirtualNetwork
    ) -> None:
        for space in new.address_spaces:
            for other in existing.address_spaces:
                if space.overlaps(other):
                    raise _fail(
                        owner,
                        field,
                        f"address space {space} of {new.name!r} overlaps {other} "
                        f"of peered virtual network {existing.name!r}",
                    )

    def remove_peering(self, local: str, remote: str) -> None:
        self.peering(local, remote)
        del self._peerings[(local, remote)]
        self._invalidate_all()

    # -- BGP routes from the route server ----------------------------------------

    def set_bgp_routes(self, vnet_name: str, routes: Iterable[BgpRoute]) -> None:
        """Replace the routes the route server in ``vnet_name`` programs (spec §1.6)."""
        self.vnet(vnet_name)
        stored = tuple(routes)
        for route in stored:
            if not isinstance(route, BgpRoute):
                raise _fail(
                    f"set_bgp_routes({vnet_name!r})", "routes", f"not a BgpRoute: {route!r}"
                )
        self._bgp[vnet_name] = stored
        affected = {vnet_name, *self._transit_spokes(vnet_name)}
        self._invalidate_vnets(affected)

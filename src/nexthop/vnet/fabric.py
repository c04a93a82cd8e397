"""The fabric: every region, VNet, subnet, NIC, peering and route table, kept consistent.

Each ``add_*``/``remove_*``/``replace_*`` method validates the whole change against
the current state before touching anything, so a rejected change leaves the fabric
as it was. Rejections raise ``ValueError`` naming the object and field; asking for
(or removing) something by a name that does not exist raises ``KeyError``.

BGP routes come from a source per VNet, the route server that programs them
(``attach_bgp_source(vnet, source)``; ``set_bgp_routes`` attaches a fixed list).
The fabric keeps no copy of them, only a per-prefix index over the source
(``nexthop.vnet.bgp_index``) that ``bgp_routes_changed(vnet, prefixes)`` marks for
exactly the prefixes one UPDATE changed and that the next query brings up to date
(lazy: an UPDATE costs O(len(prefixes)) here and nothing is re-read twice). They
reach the NICs of that VNet and of every VNet whose peering to it uses "the remote
virtual network's gateway or Route Server" while the reverse link allows gateway
transit (route-server-spec §1.1, §1.6 "Scope"). The route server does not inject a
route equal to or more specific than the address space of its VNet or of those
peered VNets (spec §1.4 "Prefix acceptance", §1.11 ``program``); supernets pass.

Per subnet only the small static part (system and user routes) is cached
(``nexthop.vnet.subnet_routes``), rebuilt by structural changes (peerings, route
tables, subnets, sources); effective routes, pages and lookups combine it with the
BGP indexes at query time, so a BGP change invalidates nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TypeVar

from nexthop.net.prefix import Afi, Prefix, format_address, parse_address
from nexthop.net.trie import PrefixTrie
from nexthop.vnet.bgp_index import BgpIndex, BgpSource, StaticBgpSource
from nexthop.vnet.effective import merge_bgp_routes, to_az_json
from nexthop.vnet.lookup import NO_ROUTE, LookupIndex, RouteDecision, parse_destination
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
from nexthop.vnet.subnet_routes import SubnetRoutes

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


class Fabric:
    """The virtual network control plane state (sans-IO, no clock)."""

    def __init__(self) -> None:
        self._regions: dict[str, Region] = {}
        self._vnets: dict[str, VirtualNetwork] = {}
        self._subnets: dict[_SubnetKey, Subnet] = {}
        self._nics: dict[str, Nic] = {}
        self._peerings: dict[tuple[str, str], VnetPeering] = {}
        self._route_tables: dict[str, RouteTable] = {}
        self._bgp: dict[str, BgpIndex] = {}
        self._cache: dict[_SubnetKey, SubnetRoutes] = {}

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
        """What the source attached to ``vnet`` programs now, before the injection
        filter (reads the whole source: a view, not for the hot path)."""
        self.vnet(vnet)
        index = self._bgp.get(vnet)
        if index is None:
            return ()
        return tuple(
            BgpRoute(prefix=prefix, next_hops=hops)
            for prefix, hops in index.source.vnet_routes()
            if hops
        )

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

    def _injection_ranges(self, source: str) -> list[Prefix]:
        """The address spaces a route server in ``source`` does not inject into
        (its VNet's and its gateway-transit spokes', spec §1.4)."""
        return [
            space
            for name in (source, *self._transit_spokes(source))
            for space in self._vnets[name].address_spaces
        ]

    def programmed_bgp_routes(self, vnet: str) -> list[BgpRoute]:
        """BGP routes programmed for the NICs of ``vnet``, computed from scratch: its
        own route server's routes and those of gateway-transit hubs, each after the
        injection filter, merged per prefix, sorted by prefix. The reference for the
        incremental index (reads every source in full)."""
        self.vnet(vnet)
        routes: list[BgpRoute] = []
        for source in (vnet, *self._transit_hubs(vnet)):
            index = self._bgp.get(source)
            if index is None:
                continue
            learned = [
                BgpRoute(prefix=prefix, next_hops=hops)
                for prefix, hops in index.source.vnet_routes()
                if hops
            ]
            routes.extend(filter_injectable(learned, self._injection_ranges(source)))
        return [
            BgpRoute(prefix=prefix, next_hops=hops)
            for prefix, hops in sorted(merge_bgp_routes(routes).items())
        ]

    # -- effective routes and lookup ---------------------------------------------

    def _routes_of(self, vnet: str, subnet: str) -> SubnetRoutes:
        """The subnet's routes, its BGP indexes brought up to date."""
        key = (vnet, subnet)
        view = self._cache.get(key)
        if view is None:
            record = self.subnet(vnet, subnet)
            table = self._route_tables[record.route_table] if record.route_table else None
            sources = tuple(
                self._bgp[name] for name in (vnet, *self._transit_hubs(vnet)) if name in self._bgp
            )
            view = self._cache[key] = SubnetRoutes(
                self._vnets[vnet], self.peered_vnets(vnet), table, sources
            )
        for index in view.sources:
            index.settle()
        return view

    def _nic_routes(self, nic_name: str) -> SubnetRoutes:
        nic = self.nic(nic_name)
        return self._routes_of(nic.vnet, nic.subnet)

    def effective_routes(self, nic_name: str) -> list[EffectiveRoute]:
        """The effective routes of a NIC (spec §2), Active and Invalid: system,
        BGP (sorted by prefix), user."""
        return self._nic_routes(nic_name).rows()

    def effective_routes_page(
        self, nic_name: str, *, prefix: Prefix | None = None, skip: int = 0, top: int | None = None
    ) -> tuple[list[EffectiveRoute], int]:
        """A page of ``effective_routes``: the rows whose prefix lies inside
        ``prefix`` (equal or more specific; all rows when None), from position
        ``skip``, at most ``top``; and how many such rows there are. The BGP part
        costs O(log n + top), not the table."""
        if skip < 0:
            raise _fail(f"effective_routes_page({nic_name!r})", "skip", f"must be >= 0, got {skip}")
        if top is not None and top < 0:
            raise _fail(f"effective_routes_page({nic_name!r})", "top", f"must be >= 0, got {top}")
        return self._nic_routes(nic_name).page(prefix, skip, top)

    def effective_route_table(self, nic_name: str) -> dict[str, list[dict[str, object]]]:
        """``az network nic show-effective-route-table`` JSON for a NIC."""
        return to_az_json(self.effective_routes(nic_name))

    def lookup_index(self, nic_name: str) -> LookupIndex:
        """A compiled whole-table index of the NIC's effective routes (O(table) to
        build; ``lookup`` does not need it)."""
        return LookupIndex(self.effective_routes(nic_name))

    def lookup(self, nic_name: str, destination_ip: str | tuple[int, int]) -> RouteDecision:
        """Where a packet from ``nic_name`` to ``destination_ip`` goes (spec §2)."""
        afi, address = parse_destination(destination_ip)
        decision = self._nic_routes(nic_name).decide(afi, address)
        return NO_ROUTE if decision is None else decision

    def _invalidate_all(self) -> None:
        self._cache.clear()

    def _invalidate_vnets(self, names: Iterable[str]) -> None:
        names = set(names)
        for key in [key for key in self._cache if key[0] in names]:
            del self._cache[key]

    def _peerings_changed(self) -> None:
        """Transit and peered ranges may have changed: every static part is rebuilt
        and each BGP index gets its injection ranges (only routes inside ranges
        that changed move)."""
        self._invalidate_all()
        for vnet, index in self._bgp.items():
            index.set_ranges(self._injection_ranges(vnet))

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
        self._peerings_changed()

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
        self._peerings_changed()

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
        self._peerings_changed()

    # -- BGP routes from the route server ----------------------------------------

    def attach_bgp_source(self, vnet_name: str, source: BgpSource) -> None:
        """``source`` (a ``RouteServer``) programs ``vnet_name``'s BGP routes from now
        on (spec §1.6); it is read in full once, at the next query, and then only
        for the prefixes ``bgp_routes_changed`` names. Replaces any earlier source."""
        self.vnet(vnet_name)
        self._bgp[vnet_name] = BgpIndex(source, self._injection_ranges(vnet_name))
        self._invalidate_vnets({vnet_name, *self._transit_spokes(vnet_name)})

    def detach_bgp_source(self, vnet_name: str) -> None:
        """``vnet_name`` has no BGP routes any more."""
        self.vnet(vnet_name)
        if self._bgp.pop(vnet_name, None) is not None:
            self._invalidate_vnets({vnet_name, *self._transit_spokes(vnet_name)})

    def bgp_source(self, vnet_name: str) -> BgpSource | None:
        self.vnet(vnet_name)
        index = self._bgp.get(vnet_name)
        return None if index is None else index.source

    def bgp_routes_changed(self, vnet_name: str, prefixes: Iterable[Prefix]) -> None:
        """The source of ``vnet_name`` changed its programming of ``prefixes``
        (``RoutesChanged.prefixes``). O(len(prefixes)): recorded, applied at the
        next query or ``settle_bgp``."""
        index = self._bgp.get(vnet_name)
        if index is None:
            self.vnet(vnet_name)
            msg = f"virtual network {vnet_name!r} has no BGP source attached"
            raise KeyError(msg)
        index.mark(prefixes)

    def pending_bgp(self) -> int:
        """Changed prefixes recorded but not yet applied, over every VNet."""
        return sum(max(index.pending, 0) for index in self._bgp.values())

    def settle_bgp(self, limit: int | None = None) -> int:
        """Apply recorded BGP changes, at most ``limit`` prefixes in all (a runtime
        can drain a large backlog in slices between event-loop turns so that the
        first query after a full table does not pay for it at once); returns how
        many are left. Queries settle what they read by themselves."""
        left = 0
        for index in self._bgp.values():
            if limit is not None and limit <= 0:
                left += max(index.pending, 0)
                continue
            before = index.pending if index.pending >= 0 else index.settle(0)  # full read due
            remaining = index.settle(limit)
            if limit is not None:
                limit -= before - remaining
            left += remaining
        return left

    def set_bgp_routes(self, vnet_name: str, routes: Iterable[BgpRoute]) -> None:
        """Attach a fixed list of routes as ``vnet_name``'s source (tests, models
        without a route server); repeated prefixes merge their next hops."""
        self.vnet(vnet_name)
        stored = tuple(routes)
        for route in stored:
            if not isinstance(route, BgpRoute):
                raise _fail(
                    f"set_bgp_routes({vnet_name!r})", "routes", f"not a BgpRoute: {route!r}"
                )
        self.attach_bgp_source(vnet_name, StaticBgpSource(merge_bgp_routes(stored)))

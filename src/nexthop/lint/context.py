"""``LintContext``: one topology and what the rules compute from it, computed once.

What an NVA advertises to a route server instance is what ``NvaSpeaker.outbound``
says (its ``network`` statements and fronted branch prefixes through the neighbor's
outbound route-map, RFC 4271 §5.1, route-server-spec §1.8): the one NVA speaker
the model and the lab run, so lint predicts what they do. Each speaker and each
outbound table is built at most once per run.

Field paths are the pydantic ``loc`` shape the config errors use; ``name_path``
replaces each list index by the item's name (``route_servers[rs].peerings[fw-a]``),
``position`` places a path in the file when the topology came from one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from nexthop.config import LoadedTopology, Topology, to_prefix
from nexthop.config.issues import Path
from nexthop.config.schema import LoadBalancer, Nva, RouteServer
from nexthop.net.prefix import Prefix
from nexthop.nva.model import Neighbor
from nexthop.nva.speaker import NvaSpeaker, Outbound
from nexthop.world.convert import spoke_spaces

if TYPE_CHECKING:
    from nexthop.bgp.wire.messages import PathAttributes

__all__ = ["DEFAULT_FAILOVER_TARGET_S", "LintContext", "LintOptions", "RsNeighbor"]

DEFAULT_FAILOVER_TARGET_S = 15.0
"""Azure's own figure for NVAs behind a load balancer: "probes every five seconds,
and it takes three failed probes", 10-15 s (Microsoft NVA HA guide, quoted in
load-balancing-notes.md §4, "the customer's mental model")."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LintOptions:
    failover_target_s: float = DEFAULT_FAILOVER_TARGET_S


@dataclass(frozen=True, slots=True, kw_only=True)
class RsNeighbor:
    """A ``neighbor`` statement of NVA ``nva`` (index ``index``) naming instance
    ``instance_ip`` of route server ``rs``."""

    nva: Nva
    index: int
    rs: RouteServer
    instance_ip: ipaddress.IPv4Address
    neighbor: Neighbor

    @property
    def path(self) -> Path:
        return ("nvas", self.index, "bgp_config")


class LintContext:
    """The topology under lint and its derived facts (each computed once)."""

    def __init__(
        self,
        topology: Topology,
        loaded: LoadedTopology | None = None,
        options: LintOptions | None = None,
    ) -> None:
        self.topology = topology
        self.loaded = loaded
        self.options = options or LintOptions()
        self._speakers: dict[str, NvaSpeaker | None] = {}
        self._outbound: dict[tuple[str, int], Outbound] = {}

    # --- paths ----------------------------------------------------------------------

    def name_path(self, path: Path) -> str:
        """``("nvas", 1, "bgp_config")`` -> ``nvas[fw-b].bgp_config``: each index
        replaced by the item's name (or its text for addresses and prefixes)."""
        out = ""
        node: Any = self.topology
        for part in path:
            if isinstance(part, int):
                label: str = str(part)
                item: Any = None
                if isinstance(node, tuple) and 0 <= part < len(node):
                    item = node[part]
                    name = getattr(item, "name", None)
                    label = name if isinstance(name, str) else str(item)
                out += f"[{label}]"
                node = item
            else:
                out += f".{part}" if out else part
                node = getattr(node, part, None)
        return out

    def position(self, path: Path, text_line: int | None) -> str | None:
        return None if self.loaded is None else self.loaded.position(path, text_line)

    # --- lookups ----------------------------------------------------------------------

    @cached_property
    def instance_owner(self) -> dict[ipaddress.IPv4Address, RouteServer]:
        owners: dict[ipaddress.IPv4Address, RouteServer] = {}
        for rs in self.topology.route_servers:
            for ip in self.topology.route_server_ips(rs.name) or ():
                owners.setdefault(ip, rs)
        return owners

    @cached_property
    def frontends(self) -> dict[ipaddress.IPv4Address, LoadBalancer]:
        return {lb.frontend.ip: lb for lb in self.topology.load_balancers}

    @cached_property
    def nva_by_ip(self) -> dict[ipaddress.IPv4Address, Nva]:
        return {n.nic.ip: n for n in self.topology.nvas}

    def pools_of(self, nva: str) -> list[LoadBalancer]:
        """The load balancers whose backend pool holds ``nva``."""
        return [lb for lb in self.topology.load_balancers if nva in lb.backend_pool.members]

    def nva_index(self, name: str) -> int:
        return next(i for i, n in enumerate(self.topology.nvas) if n.name == name)

    def rs_index(self, name: str) -> int:
        return next(i for i, r in enumerate(self.topology.route_servers) if r.name == name)

    def local_spaces(self, rs: RouteServer) -> tuple[Prefix, ...]:
        """The route server's VNet address space plus the spokes that use it (§1.6)."""
        vnet = self.topology.vnet(rs.vnet)
        own = tuple(to_prefix(p) for p in vnet.address_space) if vnet is not None else ()
        return tuple(dict.fromkeys((*own, *spoke_spaces(self.topology, rs.vnet))))

    @cached_property
    def rs_neighbors(self) -> tuple[RsNeighbor, ...]:
        """Every NVA ``neighbor`` statement that names a route server instance."""
        found: list[RsNeighbor] = []
        for i, nva in enumerate(self.topology.nvas):
            config = nva.bgp
            if config is None or config.bgp is None:
                continue
            for neighbor in config.bgp.neighbors:
                address = ipaddress.IPv4Address(neighbor.address)
                rs = self.instance_owner.get(address)
                if rs is not None:
                    found.append(
                        RsNeighbor(nva=nva, index=i, rs=rs, instance_ip=address, neighbor=neighbor)
                    )
        return tuple(found)

    def peered(self, n: RsNeighbor) -> bool:
        """The route server has a peering for the NVA's address (its session can come up)."""
        return any(p.peer_ip == n.nva.nic.ip for p in n.rs.peerings)

    # --- what NVAs advertise ---------------------------------------------------------

    def branch_prefixes(self, nva: str) -> tuple[Prefix, ...]:
        """The prefixes of the branches behind ``nva``, which it originates (the model's
        and the lab's convention)."""
        return tuple(
            to_prefix(p) for b in self.topology.branches if nva in b.behind_nvas for p in b.prefixes
        )

    def speaker(self, nva: Nva) -> NvaSpeaker | None:
        if nva.name not in self._speakers:
            config = nva.bgp
            self._speakers[nva.name] = (
                None
                if config is None or config.bgp is None
                else NvaSpeaker(
                    config, int(nva.nic.ip), extra_prefixes=self.branch_prefixes(nva.name)
                )
            )
        return self._speakers[nva.name]

    def outbound(self, n: RsNeighbor) -> Outbound:
        """What NVA ``n.nva`` sends instance ``n.instance_ip`` on Established."""
        key = (n.nva.name, int(n.instance_ip))
        if key not in self._outbound:
            speaker = self.speaker(n.nva)
            assert speaker is not None  # rs_neighbors only lists NVAs with router bgp
            self._outbound[key] = speaker.outbound(int(n.instance_ip))
        return self._outbound[key]

    def advertised(self, n: RsNeighbor) -> dict[Prefix, PathAttributes]:
        return self.outbound(n).routes

    def sessions(self) -> Iterator[RsNeighbor]:
        """The neighbor statements whose session can come up (the route server has a
        peering for the NVA), first per (NVA, instance)."""
        seen: set[tuple[str, ipaddress.IPv4Address]] = set()
        for n in self.rs_neighbors:
            key = (n.nva.name, n.instance_ip)
            if key not in seen and self.peered(n):
                seen.add(key)
                yield n

    def next_hop_line(self, n: RsNeighbor, address: int) -> int:
        """The line of the ``set ip next-hop <address>`` in the neighbor's outbound
        route-map, else the neighbor's own line (for positions, not policy)."""
        config = n.nva.bgp
        name = n.neighbor.route_map_out
        if config is not None and name is not None and name in config.route_maps:
            for entry in config.route_maps[name].entries:
                for action in entry.sets:
                    if getattr(action, "address", None) == address:
                        return action.line
        return n.neighbor.line

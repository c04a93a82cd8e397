"""Typed model of the FRR/Cisco-style BGP configuration subset an NVA runs.

The statements are the ones the Azure Route Server next hop IP article uses
(route-server spec §1.8): ``router bgp``, ``neighbor X remote-as``,
``neighbor X route-map NAME out``, ``route-map NAME permit N`` with
``set ip next-hop``, plus prefix-lists and the usual ``set`` clauses. Every
object keeps the 1-based line it came from so errors and policy decisions can
point back at the text. Prefix-list semantics follow FRR ``lib/plist.c``
(ordered by sequence, first match wins, implicit deny); route-map semantics
follow FRR ``lib/routemap.c`` (see ``nexthop.nva.policy``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from nexthop.net.prefix import Prefix

__all__ = [
    "Action",
    "BgpRouter",
    "Direction",
    "FrrConfig",
    "Neighbor",
    "PrefixList",
    "PrefixListEntry",
    "RouteMap",
    "RouteMapEntry",
    "SetAction",
    "SetAsPathPrepend",
    "SetCommunity",
    "SetNextHop",
]


class Action(Enum):
    """``permit`` or ``deny`` in a prefix-list or route-map entry."""

    PERMIT = "permit"
    DENY = "deny"


class Direction(Enum):
    """Which way a neighbor's route-map applies."""

    IN = "in"
    OUT = "out"


@dataclass(frozen=True, slots=True, kw_only=True)
class PrefixListEntry:
    """``ip prefix-list NAME seq N permit|deny PREFIX [ge G] [le L]``.

    Without ``ge``/``le`` only the exact prefix length matches; ``ge`` alone
    means ``ge G le 32``; ``le`` alone means ``ge len le L``.
    """

    sequence: int
    action: Action
    prefix: Prefix
    ge: int | None = None
    le: int | None = None
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PrefixList:
    """Entries sorted by sequence number."""

    name: str
    entries: tuple[PrefixListEntry, ...] = ()
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SetNextHop:
    """``set ip next-hop A.B.C.D``: a third-party NEXT_HOP (e.g. an ILB frontend)."""

    address: int
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SetAsPathPrepend:
    """``set as-path prepend ASN...``: the ASNs go in front, in the order written."""

    asns: tuple[int, ...]
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SetCommunity:
    """``set community C... [additive]`` or ``set community none`` (empty, not additive)."""

    communities: tuple[int, ...]
    additive: bool = False
    line: int = 0


SetAction = SetNextHop | SetAsPathPrepend | SetCommunity


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteMapEntry:
    """``route-map NAME permit|deny SEQ`` and its clauses. No match clause
    matches every route; ``sets`` apply in the order written, only on permit."""

    sequence: int
    action: Action
    match_prefix_list: str | None = None
    sets: tuple[SetAction, ...] = ()
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteMap:
    """Entries sorted by sequence number."""

    name: str
    entries: tuple[RouteMapEntry, ...] = ()
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Neighbor:
    """One ``neighbor X ...`` peer of ``router bgp`` (IPv4 address as int)."""

    address: int
    remote_as: int
    ebgp_multihop: int | None = None  # TTL; 255 when written without a value
    next_hop_self: bool = False
    route_map_in: str | None = None
    route_map_out: str | None = None
    activated: bool = False  # ``neighbor X activate`` under ``address-family ipv4``
    description: str | None = None
    line: int = 0

    def route_map(self, direction: Direction) -> str | None:
        return self.route_map_in if direction is Direction.IN else self.route_map_out


@dataclass(frozen=True, slots=True, kw_only=True)
class BgpRouter:
    """``router bgp ASN`` with its neighbors (in declaration order) and ``network`` statements."""

    asn: int
    router_id: int | None = None
    neighbors: tuple[Neighbor, ...] = ()
    networks: tuple[Prefix, ...] = ()
    line: int = 0

    def neighbor(self, address: int) -> Neighbor | None:
        for n in self.neighbors:
            if n.address == address:
                return n
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class FrrConfig:
    """A parsed configuration: at most one BGP router, named prefix-lists and route-maps."""

    bgp: BgpRouter | None = None
    prefix_lists: dict[str, PrefixList] = field(default_factory=dict)
    route_maps: dict[str, RouteMap] = field(default_factory=dict)

"""Pure evaluation of prefix-lists and route-maps over BGP path attributes.

Prefix-lists (FRR ``lib/plist.c``): entries in sequence order, the first entry
whose prefix covers the route and whose length range admits it decides; no
matching entry means deny.

Route-maps (FRR ``lib/routemap.c``, Cisco IOS semantics): entries in sequence
order; an entry matches when all its match clauses match (no clause matches
everything). The first matching ``permit`` entry applies its ``set`` clauses
and accepts; the first matching ``deny`` entry rejects; when no entry matches
the route is rejected (implicit deny). A match on an undefined prefix-list does
not match, as in FRR.

Set clauses: NEXT_HOP (RFC 4271 §5.1.3, third-party next hop), AS_PATH prepend
(RFC 4271 §5.1.2: leftmost AS_SEQUENCE, at most 255 ASNs per segment), and
COMMUNITIES (RFC 1997; kept sorted and unique like FRR, ``additive`` merges).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from nexthop.bgp.rib.path import prepend_as
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes
from nexthop.net.prefix import Prefix
from nexthop.nva.model import (
    Action,
    Direction,
    FrrConfig,
    PrefixList,
    PrefixListEntry,
    RouteMap,
    RouteMapEntry,
    SetAction,
    SetAsPathPrepend,
    SetCommunity,
    SetNextHop,
)

__all__ = [
    "Accepted",
    "Rejected",
    "apply_sets",
    "entry_matches",
    "evaluate_neighbor",
    "evaluate_route_map",
    "match_prefix_list",
    "prefix_list_permits",
    "prepend_as_path",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Accepted:
    """The route passes with ``attributes`` (modified by the deciding entry's sets).

    ``route_map``/``sequence``/``line`` name the deciding entry; all three are None
    when no route-map applies to the neighbor in that direction.
    """

    attributes: PathAttributes
    route_map: str | None = None
    sequence: int | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejected:
    """The route is filtered. ``sequence``/``line`` are None for the implicit deny."""

    route_map: str
    sequence: int | None = None
    line: int | None = None

    @property
    def implicit(self) -> bool:
        return self.sequence is None


# --- prefix-lists ---------------------------------------------------------------


def entry_matches(entry: PrefixListEntry, prefix: Prefix) -> bool:
    """Does ``prefix`` fall inside ``entry.prefix`` with an admitted length?"""
    if not entry.prefix.contains(prefix):
        return False
    if entry.ge is None and entry.le is None:
        return prefix.length == entry.prefix.length
    low = entry.ge if entry.ge is not None else entry.prefix.length
    high = entry.le if entry.le is not None else entry.prefix.max_length
    return low <= prefix.length <= high


def match_prefix_list(plist: PrefixList, prefix: Prefix) -> PrefixListEntry | None:
    """The first entry (by sequence) that matches ``prefix``, or None."""
    for entry in plist.entries:
        if entry_matches(entry, prefix):
            return entry
    return None


def prefix_list_permits(plist: PrefixList, prefix: Prefix) -> bool:
    """True when the deciding entry permits; no matching entry denies."""
    entry = match_prefix_list(plist, prefix)
    return entry is not None and entry.action is Action.PERMIT


# --- set clauses -----------------------------------------------------------------


def prepend_as_path(
    as_path: tuple[AsPathSegment, ...], asns: tuple[int, ...]
) -> tuple[AsPathSegment, ...]:
    """Put ``asns`` (in order) at the front of the path, merging into a leading AS_SEQUENCE.

    One ``prepend_as`` per ASN, rightmost first, so only the leftmost segment can be short.
    """
    for asn in reversed(asns):
        as_path = prepend_as(as_path, asn)
    return as_path


def apply_sets(attributes: PathAttributes, sets: tuple[SetAction, ...]) -> PathAttributes:
    """Apply the ``set`` clauses of one route-map entry."""
    for action in sets:
        match action:
            case SetNextHop(address=address):
                attributes = replace(attributes, next_hop=address)
            case SetAsPathPrepend(asns=asns):
                attributes = replace(attributes, as_path=prepend_as_path(attributes.as_path, asns))
            case SetCommunity(communities=communities, additive=True):
                merged = tuple(sorted(set(attributes.communities) | set(communities)))
                attributes = replace(attributes, communities=merged)
            case SetCommunity(communities=communities):
                attributes = replace(attributes, communities=communities)
    return attributes


# --- route-maps ------------------------------------------------------------------


def _entry_matches_route(
    entry: RouteMapEntry, prefix_lists: Mapping[str, PrefixList], prefix: Prefix
) -> bool:
    if entry.match_prefix_list is None:
        return True
    plist = prefix_lists.get(entry.match_prefix_list)
    return plist is not None and prefix_list_permits(plist, prefix)


def evaluate_route_map(
    route_map: RouteMap,
    prefix_lists: Mapping[str, PrefixList],
    prefix: Prefix,
    attributes: PathAttributes,
) -> Accepted | Rejected:
    """Run ``route_map`` on one route; see the module docstring for the rules."""
    for entry in route_map.entries:
        if not _entry_matches_route(entry, prefix_lists, prefix):
            continue
        if entry.action is Action.DENY:
            return Rejected(route_map=route_map.name, sequence=entry.sequence, line=entry.line)
        return Accepted(
            attributes=apply_sets(attributes, entry.sets),
            route_map=route_map.name,
            sequence=entry.sequence,
            line=entry.line,
        )
    return Rejected(route_map=route_map.name)


def evaluate_neighbor(
    config: FrrConfig,
    neighbor: int,
    direction: Direction,
    prefix: Prefix,
    attributes: PathAttributes,
) -> Accepted | Rejected:
    """Apply the route-map a neighbor has in ``direction``; none configured accepts as is.

    Raises ``KeyError`` when ``neighbor`` is not configured under ``router bgp``.
    """
    peer = config.bgp.neighbor(neighbor) if config.bgp is not None else None
    if peer is None:
        msg = f"no neighbor {neighbor} in this configuration"
        raise KeyError(msg)
    name = peer.route_map(direction)
    if name is None:
        return Accepted(attributes=attributes)
    route_map = config.route_maps.get(name)
    if route_map is None:  # FRR: a missing route-map denies everything
        return Rejected(route_map=name)
    return evaluate_route_map(route_map, config.prefix_lists, prefix, attributes)

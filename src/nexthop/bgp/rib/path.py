"""One path to one prefix, as the RIBs hold it (RFC 4271 §3.2, §9).

A ``Path`` ties a prefix to the attributes it was learned with, the next hop(s)
to use (the IPv4 NEXT_HOP attribute, or the MP_REACH_NLRI next hops of
RFC 4760 §3), and where it came from. Paths are small frozen records; the
``PathAttributes`` they point to are interned by an ``AttributeInterner`` so the
thousands of NLRI of one UPDATE share a single attributes object.

The AS_PATH helpers implement the counting rules the decision process needs:
RFC 4271 §9.1.2.2 a) (an AS_SET counts as one AS) and RFC 5065 §5.3
(confederation segments do not count).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from nexthop.bgp.constants import AsPathSegmentType
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes
from nexthop.fastinit import slot_setters
from nexthop.net.prefix import Prefix

__all__ = [
    "AttributeInterner",
    "Path",
    "PeerType",
    "Route",
    "as_path_asns",
    "as_path_length",
    "format_as_path",
    "make_path",
    "make_route",
    "neighbour_as",
    "prepend_as",
]


class PeerType(Enum):
    """How a path entered the RIB (RFC 4271 §9.1.2.2 d compares EBGP with IBGP)."""

    LOCAL = "local"  # originated here (network statement, VNet address space)
    EBGP = "ebgp"
    IBGP = "ibgp"


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """Everything a path says except its prefix: what the decision process
    compares. One ``Route`` is shared by all the NLRI of an UPDATE (same
    attributes, next hops, sender and path id), so a RIB can hold prefix ->
    ``Route`` and build a ``Path`` only when a view asks (``at``).

    ``source`` names the peer (or local origin) it came from; ``source_address``
    is the peer's transport address as an int (0 for local paths) and
    ``router_id`` its BGP Identifier, both used as the last tie-breaks.
    ``weight`` is the local-only preference of RFC 4271 §9.1.1 implementations
    (Cisco/FRR "weight"): never sent on the wire.
    """

    attributes: PathAttributes
    next_hops: tuple[int, ...]
    source: str
    source_address: int = 0
    source_asn: int = 0
    router_id: int = 0
    peer_type: PeerType = PeerType.EBGP
    path_id: int = 0
    learned_at: float = 0.0
    weight: int = 0

    def at(self, prefix: Prefix) -> Path:
        """This route as the ``Path`` to ``prefix`` (itself if it is that path)."""
        if type(self) is Path and self.prefix == prefix:
            return self
        return make_path(
            prefix,
            self.attributes,
            self.next_hops,
            self.source,
            self.source_address,
            self.source_asn,
            self.router_id,
            self.peer_type,
            self.path_id,
            self.learned_at,
            self.weight,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Path(Route):
    """A path as learned: a ``Route`` to one prefix; the attributes stay exactly
    as received."""

    prefix: Prefix


_ROUTE_FIELDS = (
    "attributes",
    "next_hops",
    "source",
    "source_address",
    "source_asn",
    "router_id",
    "peer_type",
    "path_id",
    "learned_at",
    "weight",
)
_ROUTE_SETTERS = slot_setters(Route, _ROUTE_FIELDS)
_PATH_SETTERS = slot_setters(Path, (*_ROUTE_FIELDS, "prefix"))
_new_object = object.__new__


def make_route(  # noqa: PLR0917 - positional on purpose: one call per UPDATE
    attributes: PathAttributes,
    next_hops: tuple[int, ...],
    source: str,
    source_address: int,
    source_asn: int,
    router_id: int,
    peer_type: PeerType,
    path_id: int,
    learned_at: float,
    weight: int = 0,
) -> Route:
    """``Route(...)`` with every field given positionally and the slots set
    directly."""
    route: Route = _new_object(Route)
    s0, s1, s2, s3, s4, s5, s6, s7, s8, s9 = _ROUTE_SETTERS
    s0(route, attributes)
    s1(route, next_hops)
    s2(route, source)
    s3(route, source_address)
    s4(route, source_asn)
    s5(route, router_id)
    s6(route, peer_type)
    s7(route, path_id)
    s8(route, learned_at)
    s9(route, weight)
    return route


def make_path(  # noqa: PLR0917 - positional on purpose: one call per received prefix
    prefix: Prefix,
    attributes: PathAttributes,
    next_hops: tuple[int, ...],
    source: str,
    source_address: int,
    source_asn: int,
    router_id: int,
    peer_type: PeerType,
    path_id: int,
    learned_at: float,
    weight: int = 0,
) -> Path:
    """``Path(...)`` with every field given positionally and the slots set
    directly (about twice as fast)."""
    path: Path = _new_object(Path)
    s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10 = _PATH_SETTERS
    s0(path, attributes)
    s1(path, next_hops)
    s2(path, source)
    s3(path, source_address)
    s4(path, source_asn)
    s5(path, router_id)
    s6(path, peer_type)
    s7(path, path_id)
    s8(path, learned_at)
    s9(path, weight)
    s10(path, prefix)
    return path


class AttributeInterner:
    """Hands out one shared ``PathAttributes`` object per distinct value.

    Owned by a RIB (not process-global), so two speakers never share state.
    """

    __slots__ = ("_table",)

    def __init__(self) -> None:
        self._table: dict[PathAttributes, PathAttributes] = {}

    def intern(self, attributes: PathAttributes) -> PathAttributes:
        return self._table.setdefault(attributes, attributes)

    def prune(self, live: Iterable[PathAttributes]) -> int:
        """Forget every entry not in ``live`` (the attributes still referenced by
        the owner's paths); returns how many were dropped. The owner calls this
        when the table has grown well past its live set."""
        keep = {id(a) for a in live}
        before = len(self._table)
        self._table = {k: v for k, v in self._table.items() if id(v) in keep}
        return before - len(self._table)

    def __len__(self) -> int:
        return len(self._table)


_CONFED = frozenset({AsPathSegmentType.AS_CONFED_SEQUENCE, AsPathSegmentType.AS_CONFED_SET})


def as_path_length(attributes: PathAttributes) -> int:
    """RFC 4271 §9.1.2.2 a): an AS_SET counts 1 however many ASes it holds;
    RFC 5065 §5.3: AS_CONFED_SEQUENCE / AS_CONFED_SET count 0."""
    length = 0
    for segment in attributes.as_path:
        if segment.type in _CONFED:
            continue
        length += 1 if segment.type == AsPathSegmentType.AS_SET else len(segment.asns)
    return length


def as_path_asns(attributes: PathAttributes) -> tuple[int, ...]:
    """Every AS number in the AS_PATH, in order (sets and confederations included)."""
    return tuple(asn for segment in attributes.as_path for asn in segment.asns)


def neighbour_as(attributes: PathAttributes) -> int | None:
    """The AS the path was received from: the first AS of a leading AS_SEQUENCE
    (RFC 4271 §9.1.2.2 c). None for an empty path or one starting with a set."""
    for segment in attributes.as_path:
        if segment.type in _CONFED:
            continue
        if segment.type == AsPathSegmentType.AS_SEQUENCE and segment.asns:
            return segment.asns[0]
        return None
    return None


def prepend_as(as_path: tuple[AsPathSegment, ...], asn: int) -> tuple[AsPathSegment, ...]:
    """RFC 4271 §5.1.2 b): prepend our AS when sending to an external peer.

    Joins a leading AS_SEQUENCE, otherwise starts a new one; a full segment
    (255 ASes) also starts a new one.
    """
    if as_path:
        first = as_path[0]
        if first.type == AsPathSegmentType.AS_SEQUENCE and len(first.asns) < 255:
            return (AsPathSegment(first.type, (asn, *first.asns)), *as_path[1:])
    return (AsPathSegment(AsPathSegmentType.AS_SEQUENCE, (asn,)), *as_path)


def format_as_path(attributes: PathAttributes) -> str:
    """Space-separated like the Azure CLI (``"65515 65001"``); sets in braces,
    confederation segments in parentheses."""
    parts: list[str] = []
    for segment in attributes.as_path:
        asns = " ".join(str(asn) for asn in segment.asns)
        if segment.type == AsPathSegmentType.AS_SET:
            parts.append("{" + asns + "}")
        elif segment.type in _CONFED:
            parts.append("(" + asns + ")")
        elif asns:
            parts.append(asns)
    return " ".join(parts)

"""Outbound UPDATE packing (RFC 4271 §4.3, §9.2; RFC 4760 §3-4; RFC 8654; RFC 4724 §2).

NLRI that share one ``Advertisement`` (same attributes and next hops) travel in
as few UPDATEs as the maximum message size allows: 4096 octets, or 65535 with
the Extended Message capability (RFC 8654). Sizes are computed without encoding:
19 header octets + 2 + 2 length fields; the path attributes exactly as the codec
writes them for the peer's AS number width (RFC 6793 §4: 4-octet AS_PATH to a
NEW speaker; 2-octet AS_PATH plus AS4_PATH to an OLD one when a number needs
it; segments of at most 255 numbers; a 3-octet attribute header, 4 with
Extended Length); 5 octets per IPv4 prefix and 17 per IPv6 prefix (the longest
encodings); MP_REACH_NLRI with a 4-octet header and 16 octets per next hop.
Without a width (``asn4=None``) the larger of the two sizes is used.

An attribute set that leaves no room for one prefix within the peer's maximum
message is not sent (RFC 4271 §9.2: "If due to the limits on the maximum size
of an UPDATE message, a single route doesn't fit into the message, the BGP
speaker MUST NOT advertise the route"; RFC 8654 §4 for a peer without the
Extended Message capability): ``pack_updates`` hands its prefixes back in
``unsendable`` and packs every other group. IPv4 unicast uses the classic
NLRI/Withdrawn fields; every other family goes in MP_REACH_NLRI /
MP_UNREACH_NLRI. ``end_of_rib`` builds the RFC 4724 §2 marker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from nexthop.bgp.constants import HEADER_LENGTH, MAX_MESSAGE_LENGTH, AsPathSegmentType
from nexthop.bgp.rib.adj_rib_out import Advertisement
from nexthop.bgp.wire.messages import (
    AsPathSegment,
    MpReach,
    MpUnreach,
    PathAttributes,
    Update,
)
from nexthop.net.prefix import Afi, Prefix, Safi

__all__ = [
    "attributes_size",
    "end_of_rib",
    "estimate_update_size",
    "pack_updates",
    "prefix_size",
]

_ATTR_HEADER = 4  # flags, type, 2-octet (extended) length: MP_(UN)REACH_NLRI, bounded
_UPDATE_FIXED = HEADER_LENGTH + 2 + 2  # withdrawn routes length, total path attribute length
_MP_REACH_FIXED = _ATTR_HEADER + 2 + 1 + 1 + 1  # AFI, SAFI, next hop length, reserved
_MP_UNREACH_FIXED = _ATTR_HEADER + 2 + 1
_MP_NEXT_HOP = 16  # an IPv6 address, the longest we send
_LONGEST_PREFIX = 1 + 128 // 8  # an IPv6 prefix: length octet and 16 address octets
_CONFED = (AsPathSegmentType.AS_CONFED_SEQUENCE, AsPathSegmentType.AS_CONFED_SET)


def prefix_size(prefix: Prefix) -> int:
    """Upper bound for one encoded prefix: 5 octets for IPv4, 17 for IPv6."""
    return 1 + (32 if prefix.afi == Afi.IPV4 else 128) // 8


def _attr(value_length: int) -> int:
    """One attribute on the wire: flags, type, a 1-octet length (2 with the
    Extended Length bit once the value exceeds 255 octets, RFC 4271 §4.3), value."""
    return value_length + (4 if value_length > 255 else 3)


def _segments_size(segments: Iterable[AsPathSegment], asn_size: int) -> int:
    """AS_PATH/AS4_PATH value octets: a type and count octet per segment of at
    most 255 numbers (a longer segment is written as several), ``asn_size`` per
    number (RFC 4271 §4.3, RFC 6793 §3-4)."""
    size = 0
    for segment in segments:
        count = len(segment.asns)
        size += 2 * -(-count // 255) + asn_size * count
    return size


def attributes_size(attributes: PathAttributes, asn4: bool | None = None) -> int:
    """Encoded size of the path attributes (without MP_REACH) towards a peer that
    negotiated 4-octet AS numbers (``asn4``) or not; ``None``: the larger of both."""
    if asn4 is None:
        return max(attributes_size(attributes, True), attributes_size(attributes, False))
    a = attributes
    size = _attr(1)  # ORIGIN
    size += _attr(_segments_size(a.as_path, 4 if asn4 else 2))
    if not asn4 and any(asn > 0xFFFF for seg in a.as_path for asn in seg.asns):
        # RFC 6793 §4.2.2: AS4_PATH (no confederation segments) for an OLD speaker.
        size += _attr(_segments_size((s for s in a.as_path if s.type not in _CONFED), 4))
    if a.next_hop is not None:
        size += _attr(4)
    if a.med is not None:
        size += _attr(4)
    if a.local_pref is not None:
        size += _attr(4)
    if a.atomic_aggregate:
        size += _attr(0)
    if a.aggregator is not None:
        size += _attr(8 if asn4 else 6)
        if not asn4 and a.aggregator[0] > 0xFFFF:
            size += _attr(8)  # AS4_AGGREGATOR (RFC 6793 §4.2.2)
    if a.communities:
        size += _attr(4 * len(a.communities))
    if a.originator_id is not None:
        size += _attr(4)
    if a.cluster_list:
        size += _attr(4 * len(a.cluster_list))
    if a.extended_communities:
        size += _attr(8 * len(a.extended_communities))
    if a.large_communities:
        size += _attr(12 * len(a.large_communities))
    size += sum(_attr(len(raw.value)) for raw in a.unknown)
    return size


def estimate_update_size(update: Update, asn4: bool | None = None) -> int:
    """Size of ``update`` on the wire, never below the encoded one (what the
    packer bounds; exact for the attributes, see the module docstring)."""
    size = _UPDATE_FIXED + sum(prefix_size(p) for p in (*update.withdrawn, *update.nlri))
    if update.attributes is not None:
        size += attributes_size(update.attributes, asn4)
    if update.mp_reach is not None:
        size += _MP_REACH_FIXED + _MP_NEXT_HOP * len(update.mp_reach.next_hops)
        size += sum(prefix_size(p) for p in update.mp_reach.nlri)
    if update.mp_unreach is not None:
        size += _MP_UNREACH_FIXED + sum(prefix_size(p) for p in update.mp_unreach.withdrawn)
    return size


def end_of_rib(afi: int, safi: int = Safi.UNICAST) -> Update:
    """RFC 4724 §2: an empty UPDATE for IPv4 unicast, else an empty MP_UNREACH_NLRI."""
    if (afi, safi) == (Afi.IPV4, Safi.UNICAST):
        return Update()
    return Update(mp_unreach=MpUnreach(afi=afi, safi=safi))


def _chunks(prefixes: list[Prefix], room: int) -> Iterable[tuple[Prefix, ...]]:
    """Split ``prefixes`` so each chunk's encoded NLRI fit in ``room`` octets."""
    if not prefixes:
        return []
    if len(prefixes) * _LONGEST_PREFIX <= room:
        return [tuple(prefixes)]  # all in one (the usual case for an incremental change)
    if all(p.afi == prefixes[0].afi for p in prefixes):
        # One family, one size bound per prefix: fixed-count slices (``_room``
        # guarantees room for at least one prefix).
        step = max(1, room // prefix_size(prefixes[0]))
        return [tuple(prefixes[i : i + step]) for i in range(0, len(prefixes), step)]
    return _mixed_chunks(prefixes, room)


def _mixed_chunks(prefixes: list[Prefix], room: int) -> Iterable[tuple[Prefix, ...]]:
    chunk: list[Prefix] = []
    used = 0
    for prefix in prefixes:
        size = prefix_size(prefix)
        if chunk and used + size > room:
            yield tuple(chunk)
            chunk, used = [], 0
        chunk.append(prefix)
        used += size
    if chunk:
        yield tuple(chunk)


def _room(max_length: int, overhead: int, what: str) -> int:
    room = max_length - overhead
    if room < prefix_size(Prefix(Afi.IPV6, 0, 0)):
        msg = f"{what} leave no room for NLRI within {max_length} octets"
        raise ValueError(msg)
    return room


def _group(
    announce: Mapping[Prefix, Advertisement],
) -> dict[tuple[int, Advertisement], list[Prefix]]:
    """Prefixes by (family, advertisement), each list sorted. Grouped by object
    identity first (a route server hands one shared object to every prefix of
    an attribute set), so equal advertisements are hashed once per object,
    not once per prefix."""
    adverts = iter(announce.values())
    first = next(adverts, None)
    if first is not None and all(advert is first for advert in adverts):
        ordered = sorted(announce)
        afi = ordered[0].afi
        if ordered[-1].afi == afi:  # sorted by family first: one family
            return {(afi, first): ordered}
    by_id: dict[tuple[int, int], tuple[Advertisement, list[Prefix]]] = {}
    for prefix in sorted(announce):
        advert = announce[prefix]
        entry = by_id.get((prefix.afi, id(advert)))
        if entry is None:
            by_id[(prefix.afi, id(advert))] = (advert, [prefix])
        else:
            entry[1].append(prefix)
    groups: dict[tuple[int, Advertisement], list[Prefix]] = {}
    merged_keys: set[tuple[int, Advertisement]] = set()
    for (afi, _), (advert, prefixes) in by_id.items():
        merged = groups.setdefault((afi, advert), prefixes)
        if merged is not prefixes:  # an equal advertisement held as another object
            merged += prefixes
            merged_keys.add((afi, advert))
    for group in merged_keys:  # sorted once, not once per merge (was quadratic)
        groups[group].sort()
    return groups


def pack_updates(
    announce: Mapping[Prefix, Advertisement],
    withdraw: Iterable[Prefix] = (),
    *,
    max_message_length: int = MAX_MESSAGE_LENGTH,
    asn4: bool | None = None,
    unsendable: list[Prefix] | None = None,
) -> list[Update]:
    """UPDATEs carrying ``withdraw`` (first) and ``announce``, each within
    ``max_message_length`` for a peer with AS number width ``asn4`` (``None``:
    either). Deterministic order: withdrawals by family, then groups ordered by
    their first prefix.

    A group whose attributes leave no room for one of its prefixes is not
    packed (RFC 4271 §9.2): its prefixes are appended to ``unsendable``; without
    that list a ``ValueError`` names the group instead."""
    updates: list[Update] = []
    if withdraw:
        _pack_withdrawals(updates, withdraw, max_message_length)
    if announce:
        _pack_announcements(updates, announce, max_message_length, asn4, unsendable)
    return updates


def _pack_withdrawals(
    updates: list[Update], withdraw: Iterable[Prefix], max_message_length: int
) -> None:
    withdraw = list(withdraw)
    ipv4 = Afi.IPV4
    v4_withdrawn = [p for p in withdraw if p.afi == ipv4]  # one pass, usually all of them
    v4_withdrawn.sort()
    mp_withdrawn: dict[int, list[Prefix]] = {}
    if len(v4_withdrawn) != len(withdraw):
        for prefix in sorted(p for p in withdraw if p.afi != ipv4):
            mp_withdrawn.setdefault(prefix.afi, []).append(prefix)
    room = _room(max_message_length, _UPDATE_FIXED, "withdrawals")
    updates.extend(Update(withdrawn=chunk) for chunk in _chunks(v4_withdrawn, room))
    for afi, prefixes in sorted(mp_withdrawn.items()):
        room = _room(max_message_length, _UPDATE_FIXED + _MP_UNREACH_FIXED, "withdrawals")
        updates.extend(
            Update(mp_unreach=MpUnreach(afi=afi, safi=Safi.UNICAST, withdrawn=chunk))
            for chunk in _chunks(prefixes, room)
        )


def _pack_announcements(
    updates: list[Update],
    announce: Mapping[Prefix, Advertisement],
    max_message_length: int,
    asn4: bool | None,
    unsendable: list[Prefix] | None,
) -> None:
    for (afi, advert), prefixes in sorted(_group(announce).items(), key=lambda item: item[1][0]):
        if afi == Afi.IPV4:
            attrs = advert.attributes
            if attrs.next_hop != advert.next_hops[0]:
                attrs = replace(attrs, next_hop=advert.next_hops[0])
            overhead = _UPDATE_FIXED + attributes_size(attrs, asn4)
        else:
            attrs = replace(advert.attributes, next_hop=None)
            overhead = (
                _UPDATE_FIXED
                + attributes_size(attrs, asn4)
                + _MP_REACH_FIXED
                + _MP_NEXT_HOP * len(advert.next_hops)
            )
        room = max_message_length - overhead
        if room < prefix_size(prefixes[0]):  # the group is one family: one bound
            if unsendable is None:
                msg = (
                    f"the path attributes of {prefixes[0]} ({overhead} octets with the"
                    f" UPDATE header) leave no room for NLRI within {max_message_length} octets"
                )
                raise ValueError(msg)
            unsendable += prefixes
            continue
        if afi == Afi.IPV4:
            updates.extend(
                Update(attributes=attrs, nlri=chunk) for chunk in _chunks(prefixes, room)
            )
        else:
            updates.extend(
                Update(
                    attributes=attrs,
                    mp_reach=MpReach(
                        afi=afi, safi=Safi.UNICAST, next_hops=advert.next_hops, nlri=chunk
                    ),
                )
                for chunk in _chunks(prefixes, room)
            )

"""Outbound UPDATE packing (RFC 4271 §4.3, §9.2; RFC 4760 §3-4; RFC 8654; RFC 4724 §2).

NLRI that share one ``Advertisement`` (same attributes and next hops) travel in
as few UPDATEs as the maximum message size allows: 4096 octets, or 65535 with
the Extended Message capability (RFC 8654). Sizes are estimated conservatively
instead of encoding: 19 header octets + 2 + 2 length fields, every attribute
counted with a 4-octet header (extended length), 5 octets per IPv4 prefix and
17 per IPv6 prefix (the longest encodings). IPv4 unicast uses the classic
NLRI/Withdrawn fields; every other family goes in MP_REACH_NLRI /
MP_UNREACH_NLRI. ``end_of_rib`` builds the RFC 4724 §2 marker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from nexthop.bgp.constants import HEADER_LENGTH, MAX_MESSAGE_LENGTH
from nexthop.bgp.rib.adj_rib_out import Advertisement
from nexthop.bgp.wire.messages import MpReach, MpUnreach, PathAttributes, Update
from nexthop.net.prefix import Afi, Prefix, Safi

__all__ = [
    "attributes_size",
    "end_of_rib",
    "estimate_update_size",
    "pack_updates",
    "prefix_size",
]

_ATTR_HEADER = 4  # flags, type, 2-octet (extended) length
_UPDATE_FIXED = HEADER_LENGTH + 2 + 2  # withdrawn routes length, total path attribute length
_MP_REACH_FIXED = _ATTR_HEADER + 2 + 1 + 1 + 1  # AFI, SAFI, next hop length, reserved
_MP_UNREACH_FIXED = _ATTR_HEADER + 2 + 1
_MP_NEXT_HOP = 16  # an IPv6 address, the longest we send
_LONGEST_PREFIX = 1 + 128 // 8  # an IPv6 prefix: length octet and 16 address octets


def prefix_size(prefix: Prefix) -> int:
    """Upper bound for one encoded prefix: 5 octets for IPv4, 17 for IPv6."""
    return 1 + (32 if prefix.afi == Afi.IPV4 else 128) // 8


def attributes_size(attributes: PathAttributes) -> int:
    """Conservative encoded size of the path attributes (without MP_REACH)."""
    size = _ATTR_HEADER + 1  # ORIGIN
    as_path = sum(2 + 4 * len(seg.asns) for seg in attributes.as_path)
    size += _ATTR_HEADER + as_path
    if any(asn > 0xFFFF for seg in attributes.as_path for asn in seg.asns):
        size += _ATTR_HEADER + as_path  # AS4_PATH for a 2-octet peer (RFC 6793 §4.2.2)
    if attributes.next_hop is not None:
        size += _ATTR_HEADER + 4
    if attributes.med is not None:
        size += _ATTR_HEADER + 4
    if attributes.local_pref is not None:
        size += _ATTR_HEADER + 4
    if attributes.atomic_aggregate:
        size += _ATTR_HEADER
    if attributes.aggregator is not None:
        size += 2 * (_ATTR_HEADER + 8)  # AGGREGATOR, maybe AS4_AGGREGATOR too
    if attributes.communities:
        size += _ATTR_HEADER + 4 * len(attributes.communities)
    if attributes.extended_communities:
        size += _ATTR_HEADER + 8 * len(attributes.extended_communities)
    if attributes.large_communities:
        size += _ATTR_HEADER + 12 * len(attributes.large_communities)
    if attributes.originator_id is not None:
        size += _ATTR_HEADER + 4
    if attributes.cluster_list:
        size += _ATTR_HEADER + 4 * len(attributes.cluster_list)
    size += sum(_ATTR_HEADER + len(raw.value) for raw in attributes.unknown)
    return size


def estimate_update_size(update: Update) -> int:
    """Conservative size of ``update`` on the wire (what the packer bounds)."""
    size = _UPDATE_FIXED + sum(prefix_size(p) for p in (*update.withdrawn, *update.nlri))
    if update.attributes is not None:
        size += attributes_size(update.attributes)
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
) -> list[Update]:
    """UPDATEs carrying ``withdraw`` (first) and ``announce``, each within
    ``max_message_length`` by the conservative estimate. Deterministic order:
    withdrawals by family, then groups ordered by their first prefix."""
    updates: list[Update] = []
    if withdraw:
        _pack_withdrawals(updates, withdraw, max_message_length)
    if announce:
        _pack_announcements(updates, announce, max_message_length)
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
    updates: list[Update], announce: Mapping[Prefix, Advertisement], max_message_length: int
) -> None:
    for (afi, advert), prefixes in sorted(_group(announce).items(), key=lambda item: item[1][0]):
        if afi == Afi.IPV4:
            attrs = advert.attributes
            if attrs.next_hop != advert.next_hops[0]:
                attrs = replace(attrs, next_hop=advert.next_hops[0])
            overhead = _UPDATE_FIXED + attributes_size(attrs)
            room = _room(max_message_length, overhead, "the path attributes")
            updates.extend(
                Update(attributes=attrs, nlri=chunk) for chunk in _chunks(prefixes, room)
            )
        else:
            attrs = replace(advert.attributes, next_hop=None)
            overhead = (
                _UPDATE_FIXED
                + attributes_size(attrs)
                + _MP_REACH_FIXED
                + _MP_NEXT_HOP * len(advert.next_hops)
            )
            room = _room(max_message_length, overhead, "the path attributes")
            updates.extend(
                Update(
                    attributes=attrs,
                    mp_reach=MpReach(
                        afi=afi, safi=Safi.UNICAST, next_hops=advert.next_hops, nlri=chunk
                    ),
                )
                for chunk in _chunks(prefixes, room)
            )

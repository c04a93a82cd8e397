"""MRT (RFC 6396) records the route server writes: TABLE_DUMP_V2 RIB dumps.

Sans-IO: functions take the table and return the bytes of each record; the
caller writes them where it likes (a file, an HTTP response).

A dump is one PEER_INDEX_TABLE (§4.3.1) followed by one RIB_IPV4_UNICAST or
RIB_IPV6_UNICAST record per prefix (§4.3.2), in ascending prefix order, each with
one RIB entry per path held for it (§4.3.4). As the RFC requires for
TABLE_DUMP_V2, AS numbers in the attributes are 4 octets whatever the peer
negotiated, and an IPv6 entry's MP_REACH_NLRI holds only the next hop length and
next hop(s) (§4.3.4: "only the next hop address length and next hop address
fields are included"). ``originated`` is the time the path was learned, in
seconds since the Unix epoch.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

from nexthop.bgp.constants import AttrFlag, AttrType
from nexthop.bgp.wire.attributes import encode_attribute
from nexthop.bgp.wire.messages import PathAttributes
from nexthop.bgp.wire.negotiated import Negotiated
from nexthop.bgp.wire.update import encode_path_attributes
from nexthop.net.prefix import Afi, Prefix

__all__ = [
    "TABLE_DUMP_V2",
    "MrtPeer",
    "RibEntry",
    "peer_index_table",
    "rib_record",
    "table_dump_v2",
]

TABLE_DUMP_V2 = 13
PEER_INDEX_TABLE = 1
RIB_IPV4_UNICAST = 2
RIB_IPV6_UNICAST = 4
_PEER_IPV6 = 0x01  # §4.3.1 peer type bit 0: the peer IP address is IPv6
_PEER_AS4 = 0x02  # bit 1: the peer AS is 4 octets
_AS4 = Negotiated(asn4=True)  # §4.3.4: attributes always carry 4-octet ASNs
_HEADER = struct.Struct("!IHHI")  # timestamp, type, subtype, length (§2)


@dataclass(frozen=True, slots=True)
class MrtPeer:
    """One row of the PEER_INDEX_TABLE: the peer's BGP Identifier, transport
    address (family ``afi``) and AS number."""

    bgp_id: int
    address: int
    asn: int
    afi: int = Afi.IPV4


@dataclass(frozen=True, slots=True)
class RibEntry:
    """One path to a prefix: which peer (index into the table), when it was
    learned (Unix seconds), its attributes and the next hop(s) it uses."""

    peer_index: int
    originated: int
    attributes: PathAttributes
    next_hops: tuple[int, ...]


def _record(timestamp: int, subtype: int, body: bytes) -> bytes:
    return _HEADER.pack(timestamp, TABLE_DUMP_V2, subtype, len(body)) + body


def peer_index_table(
    timestamp: int, collector_id: int, view_name: str, peers: Sequence[MrtPeer]
) -> bytes:
    """The PEER_INDEX_TABLE record (§4.3.1); peer ``i`` of ``peers`` is index ``i``."""
    name = view_name.encode()
    parts = [struct.pack("!IH", collector_id, len(name)), name, struct.pack("!H", len(peers))]
    for peer in peers:
        v6 = peer.afi == Afi.IPV6
        as4 = peer.asn > 0xFFFF
        parts.append(bytes(((_PEER_IPV6 if v6 else 0) | (_PEER_AS4 if as4 else 0),)))
        parts.append(peer.bgp_id.to_bytes(4, "big"))
        parts.append(peer.address.to_bytes(16 if v6 else 4, "big"))
        parts.append(peer.asn.to_bytes(4 if as4 else 2, "big"))
    return _record(timestamp, PEER_INDEX_TABLE, b"".join(parts))


def _entry_attributes(prefix: Prefix, entry: RibEntry) -> bytes:
    attributes = entry.attributes
    if prefix.afi == Afi.IPV4:
        hop = entry.next_hops[0] if entry.next_hops else attributes.next_hop
        if hop != attributes.next_hop:
            attributes = replace(attributes, next_hop=hop)
        return encode_path_attributes(attributes, _AS4)
    if attributes.next_hop is not None:
        attributes = replace(attributes, next_hop=None)  # IPv6: the hop is in MP_REACH
    hops = b"".join(hop.to_bytes(16, "big") for hop in entry.next_hops)
    mp_reach = encode_attribute(
        AttrFlag.OPTIONAL, AttrType.MP_REACH_NLRI, bytes((len(hops),)) + hops
    )
    # MP_REACH_NLRI (14) goes after the lower type codes, before the higher ones
    return _in_type_order(encode_path_attributes(attributes, _AS4), mp_reach)


def _in_type_order(encoded: bytes, extra: bytes) -> bytes:
    """``extra`` (one attribute) inserted into ``encoded`` by ascending type code."""
    at, code = 0, extra[1]
    while at < len(encoded):
        flags, type_code = encoded[at], encoded[at + 1]
        if type_code > code:
            break
        if flags & AttrFlag.EXTENDED_LENGTH:
            at += 4 + int.from_bytes(encoded[at + 2 : at + 4], "big")
        else:
            at += 3 + encoded[at + 2]
    return encoded[:at] + extra + encoded[at:]


def rib_record(timestamp: int, sequence: int, prefix: Prefix, entries: Sequence[RibEntry]) -> bytes:
    """The RIB_IPV4_UNICAST / RIB_IPV6_UNICAST record of ``prefix`` (§4.3.2)."""
    subtype = RIB_IPV4_UNICAST if prefix.afi == Afi.IPV4 else RIB_IPV6_UNICAST
    octets = (prefix.length + 7) // 8
    address = prefix.value.to_bytes(prefix.max_length // 8, "big")[:octets]
    parts = [struct.pack("!IB", sequence, prefix.length), address, struct.pack("!H", len(entries))]
    for entry in entries:
        attributes = _entry_attributes(prefix, entry)
        parts.append(struct.pack("!HIH", entry.peer_index, entry.originated, len(attributes)))
        parts.append(attributes)
    return _record(timestamp, subtype, b"".join(parts))


def table_dump_v2(
    timestamp: int,
    collector_id: int,
    view_name: str,
    peers: Sequence[MrtPeer],
    rib: Iterable[tuple[Prefix, Sequence[RibEntry]]],
) -> Iterator[bytes]:
    """A whole dump: the peer index table, then one record per prefix of ``rib``
    (given in ascending order), sequence numbers from 0 (§4.3.2)."""
    yield peer_index_table(timestamp, collector_id, view_name, peers)
    for sequence, (prefix, entries) in enumerate(rib):
        yield rib_record(timestamp, sequence & 0xFFFFFFFF, prefix, entries)

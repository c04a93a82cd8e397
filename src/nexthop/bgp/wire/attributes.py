"""The path attribute table: flags, decode, encode and RFC 7606 handling per type.

RFC 4271 §4.3/§5 (attributes and their flags), RFC 6793 (4-octet AS_PATH and
AGGREGATOR; AS4_PATH/AS4_AGGREGATOR towards and from 2-octet peers, §4.2.3 merge),
RFC 1997 (COMMUNITIES), RFC 4360 (EXTENDED COMMUNITIES), RFC 8092 (LARGE
COMMUNITY), RFC 4456 (ORIGINATOR_ID, CLUSTER_LIST), RFC 4760 (MP_REACH/UNREACH,
value codec in ``mp.py``), RFC 7606 §3 and §7 (the error handling of each
attribute: treat-as-withdraw, attribute-discard or session reset), like BIRD's
``bgp_attr_table[]``.

    +---------------+---------------+-------------------------------+
    | Attr. Flags   |Attr. Type Code| Length (1 or 2 octets)  Value |
    +---------------+---------------+-------------------------------+
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nexthop.bgp.constants import AS_TRANS, AsPathSegmentType, AttrFlag, AttrType, Origin
from nexthop.bgp.wire.errors import AttributeMalformedError, ErrorHandling
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes
from nexthop.bgp.wire.mp import decode_mp_reach, decode_mp_unreach
from nexthop.bgp.wire.negotiated import Negotiated

__all__ = [
    "ATTRIBUTES",
    "AttrSpec",
    "encode_attribute",
    "merge_as4",
]

_OPTIONAL = int(AttrFlag.OPTIONAL)
_EXTENDED = int(AttrFlag.EXTENDED_LENGTH)
_NOT_EXTENDED = 0xFF & ~_EXTENDED
_TRANSITIVE = int(AttrFlag.TRANSITIVE)
_CONFED = frozenset((AsPathSegmentType.AS_CONFED_SEQUENCE, AsPathSegmentType.AS_CONFED_SET))
_SEGMENT_TYPES = frozenset(AsPathSegmentType)
_AS_SEQUENCE = int(AsPathSegmentType.AS_SEQUENCE)
_INCOMPLETE = int(Origin.INCOMPLETE)
# struct formats of a segment of 0..255 AS numbers, 2 or 4 octets each.
_ASN2_FORMATS = tuple(f"!{count}H" for count in range(256))
_ASN4_FORMATS = tuple(f"!{count}I" for count in range(256))
_new_tuple = tuple.__new__  # AsPathSegment(...) without the NamedTuple constructor


def _fail(reason: str) -> AttributeMalformedError:
    return AttributeMalformedError(reason)


def _fixed(value: bytes, length: int, name: str) -> None:
    if len(value) != length:
        msg = f"{name} length {len(value)} != {length}"
        raise _fail(msg)


def _multiple(value: bytes, unit: int, name: str) -> int:
    """RFC 7606: list attributes must have a non-zero multiple of ``unit`` octets."""
    if not value or len(value) % unit:
        msg = f"{name} length {len(value)} is not a non-zero multiple of {unit}"
        raise _fail(msg)
    return len(value) // unit


# --- decoders: (value, negotiated) -> field value; raise AttributeMalformedError -------


def _decode_origin(value: bytes, _n: Negotiated) -> int:
    if len(value) != 1:
        _fixed(value, 1, "ORIGIN")
    if value[0] > _INCOMPLETE:
        msg = f"ORIGIN value {value[0]} undefined"
        raise _fail(msg)
    return value[0]


def decode_segments(value: bytes, asn_size: int, name: str) -> tuple[AsPathSegment, ...]:
    """AS_PATH/AS4_PATH segments (RFC 7606 §7.2: overrun, underrun, zero length or
    unknown segment type make the attribute malformed)."""
    end = len(value)
    if end > 2 and value[0] == _AS_SEQUENCE and 2 + value[1] * asn_size == end:
        # The usual AS_PATH: one AS_SEQUENCE filling the attribute.
        formats = _ASN4_FORMATS if asn_size == 4 else _ASN2_FORMATS
        asns = struct.unpack(formats[value[1]], value[2:])
        return (_new_tuple(AsPathSegment, (_AS_SEQUENCE, asns)),)
    code = "H" if asn_size == 2 else "I"
    segments: list[AsPathSegment] = []
    i = 0
    while i < end:
        if i + 2 > end:
            msg = f"{name} segment header underrun"
            raise _fail(msg)
        stype, count = value[i], value[i + 1]
        if stype not in _SEGMENT_TYPES:
            msg = f"{name} segment type {stype} unknown"
            raise _fail(msg)
        if count == 0:
            msg = f"{name} segment of length zero"
            raise _fail(msg)
        stop = i + 2 + count * asn_size
        if stop > end:
            msg = f"{name} segment overruns the attribute"
            raise _fail(msg)
        segments.append(AsPathSegment(stype, struct.unpack(f"!{count}{code}", value[i + 2 : stop])))
        i = stop
    return tuple(segments)


def _decode_as_path(value: bytes, n: Negotiated) -> tuple[AsPathSegment, ...]:
    segments = decode_segments(value, 4 if n.asn4 else 2, "AS_PATH")
    if n.external:
        for seg in segments:
            if seg.type in _CONFED:
                # RFC 5065 §5.3 / RFC 7606 §7.2: confederation segments from outside.
                msg = "AS_PATH from an external peer carries confederation segments"
                raise _fail(msg)
    return segments


def _decode_as4_path(value: bytes, _n: Negotiated) -> tuple[AsPathSegment, ...]:
    segments = decode_segments(value, 4, "AS4_PATH")
    if any(seg.type in _CONFED for seg in segments):
        # RFC 6793 §6: confederation segments in AS4_PATH make it unusable.
        msg = "AS4_PATH carries confederation segments"
        raise _fail(msg)
    return segments


def _decode_u32(name: str) -> Callable[[bytes, Negotiated], int]:
    def decode(value: bytes, _n: Negotiated) -> int:
        if len(value) != 4:
            _fixed(value, 4, name)
        return int.from_bytes(value, "big")

    return decode


def _decode_local_pref(value: bytes, n: Negotiated) -> int:
    _fixed(value, 4, "LOCAL_PREF")
    if n.external:
        # RFC 7606 §7.5 / RFC 4271 §5.1.5: ignored when received from an external peer.
        msg = "LOCAL_PREF from an external peer"
        raise AttributeMalformedError(msg, ErrorHandling.ATTRIBUTE_DISCARD)
    return int.from_bytes(value, "big")


def _decode_atomic_aggregate(value: bytes, _n: Negotiated) -> bool:
    _fixed(value, 0, "ATOMIC_AGGREGATE")
    return True


def _decode_aggregator(value: bytes, n: Negotiated) -> tuple[int, int]:
    size = 4 if n.asn4 else 2
    _fixed(value, size + 4, "AGGREGATOR")
    return int.from_bytes(value[:size], "big"), int.from_bytes(value[size:], "big")


def _decode_as4_aggregator(value: bytes, _n: Negotiated) -> tuple[int, int]:
    _fixed(value, 8, "AS4_AGGREGATOR")
    return int.from_bytes(value[:4], "big"), int.from_bytes(value[4:], "big")


def _decode_u32_list(name: str) -> Callable[[bytes, Negotiated], tuple[int, ...]]:
    def decode(value: bytes, _n: Negotiated) -> tuple[int, ...]:
        return struct.unpack(f"!{_multiple(value, 4, name)}I", value)

    return decode


def _decode_extended_communities(value: bytes, _n: Negotiated) -> tuple[bytes, ...]:
    count = _multiple(value, 8, "EXTENDED_COMMUNITIES")
    return tuple(bytes(value[i * 8 : i * 8 + 8]) for i in range(count))


def _decode_large_communities(value: bytes, _n: Negotiated) -> tuple[tuple[int, int, int], ...]:
    _multiple(value, 12, "LARGE_COMMUNITY")
    return tuple(struct.iter_unpack("!III", value))


# --- encoders: (attributes, negotiated) -> value or None when absent -----------


def _big(asn: int) -> bool:
    return asn > 0xFFFF


def encode_segments(segments: tuple[AsPathSegment, ...], asn_size: int) -> bytes:
    out = bytearray()
    code = "H" if asn_size == 2 else "I"
    for stype, asns in segments:
        chunks = [asns[i : i + 255] for i in range(0, len(asns), 255)]
        for chunk in chunks:
            if asn_size == 2:
                chunk = tuple(AS_TRANS if _big(a) else a for a in chunk)  # noqa: PLW2901
            out += bytes((stype, len(chunk))) + struct.pack(f"!{len(chunk)}{code}", *chunk)
    return bytes(out)


def _encode_origin(a: PathAttributes, _n: Negotiated) -> bytes:
    return bytes((a.origin,))


def _encode_as_path(a: PathAttributes, n: Negotiated) -> bytes:
    return encode_segments(a.as_path, 4 if n.asn4 else 2)


def _encode_as4_path(a: PathAttributes, n: Negotiated) -> bytes | None:
    # RFC 6793 §4.2.2: only towards a 2-octet peer, and only when a number needs it.
    if n.asn4 or not any(_big(asn) for seg in a.as_path for asn in seg.asns):
        return None
    return encode_segments(tuple(s for s in a.as_path if s.type not in _CONFED), 4)


def _encode_u32(field: str) -> Callable[[PathAttributes, Negotiated], bytes | None]:
    def encode(a: PathAttributes, _n: Negotiated) -> bytes | None:
        value: int | None = getattr(a, field)
        return None if value is None else value.to_bytes(4, "big")

    return encode


def _encode_atomic_aggregate(a: PathAttributes, _n: Negotiated) -> bytes | None:
    return b"" if a.atomic_aggregate else None


def _encode_aggregator(a: PathAttributes, n: Negotiated) -> bytes | None:
    if a.aggregator is None:
        return None
    asn, address = a.aggregator
    if n.asn4:
        return asn.to_bytes(4, "big") + address.to_bytes(4, "big")
    return (AS_TRANS if _big(asn) else asn).to_bytes(2, "big") + address.to_bytes(4, "big")


def _encode_as4_aggregator(a: PathAttributes, n: Negotiated) -> bytes | None:
    if n.asn4 or a.aggregator is None or not _big(a.aggregator[0]):
        return None
    return a.aggregator[0].to_bytes(4, "big") + a.aggregator[1].to_bytes(4, "big")


def _encode_u32_list(field: str) -> Callable[[PathAttributes, Negotiated], bytes | None]:
    def encode(a: PathAttributes, _n: Negotiated) -> bytes | None:
        values: tuple[int, ...] = getattr(a, field)
        return struct.pack(f"!{len(values)}I", *values) if values else None

    return encode


def _encode_extended_communities(a: PathAttributes, _n: Negotiated) -> bytes | None:
    return b"".join(a.extended_communities) if a.extended_communities else None


def _encode_large_communities(a: PathAttributes, _n: Negotiated) -> bytes | None:
    values = a.large_communities
    return b"".join(struct.pack("!III", *v) for v in values) if values else None


def _not_in_path_attributes(_a: PathAttributes, _n: Negotiated) -> bytes | None:
    return None  # MP_REACH/MP_UNREACH live on the Update and are encoded by update.py


@dataclass(frozen=True, slots=True, kw_only=True)
class AttrSpec:
    """One path attribute type: its Optional/Transitive flags, where the decoded
    value goes (a ``PathAttributes`` field, or ``_``-prefixed scratch keys that
    the UPDATE decoder resolves), and the RFC 7606 approach when it is malformed."""

    name: str
    flags: int
    field: str
    decode: Callable[[bytes, Negotiated], Any]
    encode: Callable[[PathAttributes, Negotiated], bytes | None]
    on_error: ErrorHandling


_WELL_KNOWN = _TRANSITIVE
_OPT_TRANS = _OPTIONAL | _TRANSITIVE
_TAW = ErrorHandling.TREAT_AS_WITHDRAW
_DISCARD = ErrorHandling.ATTRIBUTE_DISCARD
_RESET = ErrorHandling.SESSION_RESET

# fmt: off
ATTRIBUTES: dict[int, AttrSpec] = {
    AttrType.ORIGIN: AttrSpec(
        name="ORIGIN", flags=_WELL_KNOWN, field="origin",
        decode=_decode_origin, encode=_encode_origin, on_error=_TAW,
    ),
    AttrType.AS_PATH: AttrSpec(
        name="AS_PATH", flags=_WELL_KNOWN, field="as_path",
        decode=_decode_as_path, encode=_encode_as_path, on_error=_TAW,
    ),
    AttrType.NEXT_HOP: AttrSpec(
        name="NEXT_HOP", flags=_WELL_KNOWN, field="next_hop",
        decode=_decode_u32("NEXT_HOP"), encode=_encode_u32("next_hop"), on_error=_TAW,
    ),
    AttrType.MULTI_EXIT_DISC: AttrSpec(
        name="MULTI_EXIT_DISC", flags=_OPTIONAL, field="med",
        decode=_decode_u32("MULTI_EXIT_DISC"), encode=_encode_u32("med"), on_error=_TAW,
    ),
    AttrType.LOCAL_PREF: AttrSpec(
        name="LOCAL_PREF", flags=_WELL_KNOWN, field="local_pref",
        decode=_decode_local_pref, encode=_encode_u32("local_pref"), on_error=_TAW,
    ),
    AttrType.ATOMIC_AGGREGATE: AttrSpec(
        name="ATOMIC_AGGREGATE", flags=_WELL_KNOWN, field="atomic_aggregate",
        decode=_decode_atomic_aggregate, encode=_encode_atomic_aggregate, on_error=_DISCARD,
    ),
    AttrType.AGGREGATOR: AttrSpec(
        name="AGGREGATOR", flags=_OPT_TRANS, field="aggregator",
        decode=_decode_aggregator, encode=_encode_aggregator, on_error=_DISCARD,
    ),
    AttrType.COMMUNITIES: AttrSpec(
        name="COMMUNITIES", flags=_OPT_TRANS, field="communities",
        decode=_decode_u32_list("COMMUNITIES"), encode=_encode_u32_list("communities"),
        on_error=_TAW,
    ),
    AttrType.ORIGINATOR_ID: AttrSpec(
        name="ORIGINATOR_ID", flags=_OPTIONAL, field="originator_id",
        decode=_decode_u32("ORIGINATOR_ID"), encode=_encode_u32("originator_id"), on_error=_TAW,
    ),
    AttrType.CLUSTER_LIST: AttrSpec(
        name="CLUSTER_LIST", flags=_OPTIONAL, field="cluster_list",
        decode=_decode_u32_list("CLUSTER_LIST"), encode=_encode_u32_list("cluster_list"),
        on_error=_TAW,
    ),
    AttrType.MP_REACH_NLRI: AttrSpec(
        name="MP_REACH_NLRI", flags=_OPTIONAL, field="_mp_reach",
        decode=decode_mp_reach, encode=_not_in_path_attributes, on_error=_RESET,
    ),
    AttrType.MP_UNREACH_NLRI: AttrSpec(
        name="MP_UNREACH_NLRI", flags=_OPTIONAL, field="_mp_unreach",
        decode=decode_mp_unreach, encode=_not_in_path_attributes, on_error=_RESET,
    ),
    AttrType.EXTENDED_COMMUNITIES: AttrSpec(
        name="EXTENDED_COMMUNITIES", flags=_OPT_TRANS, field="extended_communities",
        decode=_decode_extended_communities, encode=_encode_extended_communities,
        on_error=_TAW,
    ),
    AttrType.AS4_PATH: AttrSpec(
        name="AS4_PATH", flags=_OPT_TRANS, field="_as4_path",
        decode=_decode_as4_path, encode=_encode_as4_path, on_error=_DISCARD,
    ),
    AttrType.AS4_AGGREGATOR: AttrSpec(
        name="AS4_AGGREGATOR", flags=_OPT_TRANS, field="_as4_aggregator",
        decode=_decode_as4_aggregator, encode=_encode_as4_aggregator, on_error=_DISCARD,
    ),
    AttrType.LARGE_COMMUNITY: AttrSpec(
        name="LARGE_COMMUNITY", flags=_OPT_TRANS, field="large_communities",
        decode=_decode_large_communities, encode=_encode_large_communities, on_error=_TAW,
    ),
}
# fmt: on


def encode_attribute(flags: int, type_code: int, value: bytes) -> bytes:
    """Flags, type, length (2 octets with the Extended Length bit when needed), value."""
    # Plain ints: IntFlag arithmetic took most of this function's time.
    if len(value) > 255:
        return bytes((int(flags) | _EXTENDED, type_code)) + len(value).to_bytes(2, "big") + value
    return bytes((int(flags) & _NOT_EXTENDED, type_code, len(value))) + value


def _count(segments: tuple[AsPathSegment, ...]) -> int:
    """RFC 6793 §4.2.3 path length: AS_SET counts 1, confederation segments 0."""
    total = 0
    for seg in segments:
        if seg.type == AsPathSegmentType.AS_SEQUENCE:
            total += len(seg.asns)
        elif seg.type == AsPathSegmentType.AS_SET:
            total += 1
    return total


def merge_as4(
    as_path: tuple[AsPathSegment, ...], as4_path: tuple[AsPathSegment, ...]
) -> tuple[AsPathSegment, ...]:
    """RFC 6793 §4.2.3: keep the leading AS_PATH numbers the AS4_PATH lacks, then
    the AS4_PATH; an AS4_PATH longer than the AS_PATH is ignored."""
    keep = _count(as_path) - _count(as4_path)
    if keep < 0:
        return as_path
    merged: list[AsPathSegment] = []
    for seg in as_path:
        if seg.type in _CONFED:
            merged.append(seg)
        elif keep <= 0:
            break
        elif seg.type == AsPathSegmentType.AS_SET:
            merged.append(seg)
            keep -= 1
        else:
            merged.append(AsPathSegment(seg.type, seg.asns[:keep]))
            keep -= len(merged[-1].asns)
    seq = AsPathSegmentType.AS_SEQUENCE
    if merged and as4_path and merged[-1].type == seq and as4_path[0].type == seq:
        # Join the two halves of one AS_SEQUENCE (keeping the 255-number segment limit).
        joined = merged[-1].asns + as4_path[0].asns
        if len(joined) <= 255:
            return (*merged[:-1], AsPathSegment(seq, joined), *as4_path[1:])
    return (*merged, *as4_path)

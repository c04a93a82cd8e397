"""UPDATE message body codec with RFC 7606 revised error handling, and End-of-RIB.

RFC 4271 §4.3 (layout) and §6.3 (errors), RFC 7606 §3-§5 (attribute list parsing:
duplicates, flags conflicts, missing well-known attributes, length overruns and
the outcome of each malformed attribute, taken from ``ATTRIBUTES``), RFC 7911
(path ids), RFC 4724 §2 (End-of-RIB markers).

    +-----------------------------------------------------+
    |   Withdrawn Routes Length (2 octets)                |
    |   Withdrawn Routes (variable)                       |
    |   Total Path Attribute Length (2 octets)            |
    |   Path Attributes (variable)                        |
    |   Network Layer Reachability Information (variable) |
    +-----------------------------------------------------+

Attributes are decoded once per UPDATE into one ``PathAttributes`` shared by all
its NLRI; with an interning cache, identical attribute bytes (MP_REACH/MP_UNREACH
excluded) on a session map to the very same object. The usual list (well formed,
known field attributes only) takes a one-pass decoder; anything else, and every
RFC 7606 outcome, is decided by the general one.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from nexthop.bgp.constants import AS_TRANS, AttrFlag, AttrType, ErrorCode, UpdateErrorSubcode
from nexthop.bgp.wire.attributes import ATTRIBUTES, encode_attribute, merge_as4
from nexthop.bgp.wire.errors import (
    AttributeMalformedError,
    ErrorHandling,
    LocalProtocolError,
    MessageError,
)
from nexthop.bgp.wire.messages import MpReach, MpUnreach, PathAttributes, RawAttribute, Update
from nexthop.bgp.wire.mp import encode_mp_reach, encode_mp_unreach
from nexthop.bgp.wire.negotiated import IPV4_UNICAST, Family, Negotiated
from nexthop.bgp.wire.nlri import decode_prefixes, encode_prefixes
from nexthop.fastinit import slot_setters
from nexthop.net.prefix import Afi

__all__ = [
    "AttributeCache",
    "decode_update",
    "encode_path_attributes",
    "encode_update",
    "end_of_rib",
    "is_end_of_rib",
]


# A clean attribute list decoded: the attributes and the type codes it carried
# (MP_* excluded) as a bit mask (bit t for type t), which decide RFC 7606 §3(d)
# "missing well-known attribute".
_Clean = tuple[PathAttributes, int]


class AttributeCache:
    """Interning table: attribute bytes (MP_* excluded) -> the decoded object.

    Only lists that decoded cleanly (no RFC 7606 discard or treat-as-withdraw)
    are stored, so a hit stands for the whole outcome of those bytes. Cleared
    when it reaches ``limit`` entries: simple, bounded, and a busy session
    refills it with the attribute sets still in use."""

    __slots__ = ("_entries", "limit")

    def __init__(self, limit: int = 1 << 16) -> None:
        self.limit = limit
        self._entries: dict[bytes, _Clean] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes) -> _Clean | None:
        return self._entries.get(key)

    def put(self, key: bytes, clean: _Clean) -> None:
        if len(self._entries) >= self.limit:
            self._entries.clear()
        self._entries[key] = clean


_MP = frozenset((int(AttrType.MP_REACH_NLRI), int(AttrType.MP_UNREACH_NLRI)))
# Types decoded into ``_``-prefixed scratch keys that need resolving after the loop.
_SCRATCH_TYPES = frozenset(int(t) for t, spec in ATTRIBUTES.items() if spec.field[0] == "_")
# RFC 7606 §3(d): well-known mandatory attributes, as (code, name) pairs.
_NEEDED_MP = ((int(AttrType.ORIGIN), "ORIGIN"), (int(AttrType.AS_PATH), "AS_PATH"))
_NEEDED_V4 = (*_NEEDED_MP, (int(AttrType.NEXT_HOP), "NEXT_HOP"))
# Plain ints: IntFlag arithmetic is slow in the per-attribute loop.
_OPTIONAL = int(AttrFlag.OPTIONAL)
_TRANSITIVE = int(AttrFlag.TRANSITIVE)
_PARTIAL = int(AttrFlag.PARTIAL)
_EXTENDED = int(AttrFlag.EXTENDED_LENGTH)
_TYPE_FLAGS = _OPTIONAL | _TRANSITIVE
# PathAttributes built slot by slot (its frozen __init__ costs more than the
# decoding of a short list): field order, defaults and slot setters.
_PA_FIELDS = (
    "origin",
    "as_path",
    "next_hop",
    "med",
    "local_pref",
    "atomic_aggregate",
    "aggregator",
    "communities",
    "extended_communities",
    "large_communities",
    "originator_id",
    "cluster_list",
    "unknown",
)
_PA_SETTERS = slot_setters(PathAttributes, _PA_FIELDS)  # TypeError at import if it changed
_FIELD_DEFAULTS = tuple(f.default for f in fields(PathAttributes))
# Types whose value is one PathAttributes field: code -> (flags, field index, decoder).
_PLAIN = {
    int(code): (spec.flags, _PA_FIELDS.index(spec.field), spec.decode)
    for code, spec in ATTRIBUTES.items()
    if spec.field in _PA_FIELDS
}
_V4_MANDATORY = sum(1 << code for code, _name in _NEEDED_V4)
_MP_MANDATORY = sum(1 << code for code, _name in _NEEDED_MP)
_new_object = object.__new__


def _update_error(subcode: int, reason: str, data: bytes = b"") -> MessageError:
    return MessageError(ErrorCode.UPDATE_MESSAGE, subcode, data, reason=reason)


def _scan(data: bytes) -> tuple[list[tuple[int, int, int, int, int]], str | None]:
    """Split the attribute list into (flags, type, start, value start, end) entries.

    RFC 7606 §4: an attribute overrunning the list (or a truncated header) is
    treat-as-withdraw, reported as the second item; for MP_* it resets."""
    entries: list[tuple[int, int, int, int, int]] = []
    i, end = 0, len(data)
    while i < end:
        if end - i < 3:
            return entries, "attribute header truncated"
        flags, type_code = data[i], data[i + 1]
        if flags & _EXTENDED:
            if end - i < 4:
                return entries, "attribute header truncated"
            length, head = int.from_bytes(data[i + 2 : i + 4], "big"), i + 4
        else:
            length, head = data[i + 2], i + 3
        if head + length > end:
            if type_code in _MP:
                raise _update_error(
                    UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR,
                    f"attribute {type_code} overruns the attribute list",
                    bytes(data[i:]),
                )
            return entries, f"attribute {type_code} length {length} overruns the attribute list"
        entries.append((flags, type_code, i, head, head + length))
        i = head + length
    return entries, None


class _Decoded:
    __slots__ = ("attributes", "discarded", "mp_reach", "mp_unreach", "taw", "types")

    def __init__(self) -> None:
        self.attributes: PathAttributes | None = None
        self.mp_reach: MpReach | None = None
        self.mp_unreach: MpUnreach | None = None
        self.taw = False
        self.discarded: list[str] = []
        self.types: set[int] = set()


def _decode_clean(data: bytes, n: Negotiated) -> _Clean | None:
    """The usual attribute list in one pass, or None to leave it to the general
    ``_decode_attributes``: anything but a well-formed list of distinct known
    attributes that land in ``PathAttributes`` fields (so no MP_*, AS4_*, unknown
    or malformed attribute) with ORIGIN, AS_PATH and NEXT_HOP all present. The
    decoders are the same, so the result is the one the general path gives."""
    values = list(_FIELD_DEFAULTS)
    seen = 0
    i, end = 0, len(data)
    try:
        while i < end:
            flags, type_code = data[i], data[i + 1]
            if flags & _EXTENDED:
                head = i + 4
                i = head + ((data[i + 2] << 8) | data[i + 3])
            else:
                head = i + 3
                i = head + data[i + 2]
            plain = _PLAIN.get(type_code)
            if plain is None or i > end or flags & _TYPE_FLAGS != plain[0]:
                return None
            bit = 1 << type_code
            if seen & bit:
                return None
            seen |= bit
            values[plain[1]] = plain[2](data[head:i], n)
    except (IndexError, AttributeMalformedError):  # a truncated header, a malformed value
        return None
    if seen & _V4_MANDATORY != _V4_MANDATORY:
        return None
    # PathAttributes(**fields), slot by slot (unrolled: this runs once per UPDATE).
    attributes: PathAttributes = _new_object(PathAttributes)
    s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12 = _PA_SETTERS
    v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12 = values
    s0(attributes, v0)
    s1(attributes, v1)
    s2(attributes, v2)
    s3(attributes, v3)
    s4(attributes, v4)
    s5(attributes, v5)
    s6(attributes, v6)
    s7(attributes, v7)
    s8(attributes, v8)
    s9(attributes, v9)
    s10(attributes, v10)
    s11(attributes, v11)
    s12(attributes, v12)
    return attributes, seen


def _type_mask(types: set[int]) -> int:
    mask = 0
    for type_code in types:
        mask |= 1 << type_code
    return mask


def _decode_attributes(data: bytes, n: Negotiated, cache: AttributeCache | None) -> _Decoded:
    out = _Decoded()
    entries, overrun = _scan(data)
    if overrun is not None:
        out.taw = True
        out.discarded.append(f"{overrun} (treat-as-withdraw)")
    key: bytes | None = None
    cached: PathAttributes | None = None
    if cache is not None and overrun is None:
        # The decode also depends on the AS size and on iBGP/eBGP (LOCAL_PREF).
        if any(entry[1] in _MP for entry in entries):
            key = bytes((n.asn4, n.external)) + b"".join(
                data[s:e] for _f, t, s, _h, e in entries if t not in _MP
            )
        else:  # the usual case: the whole list is the key
            key = bytes((n.asn4, n.external)) + data
        hit = cache.get(key)
        cached = hit[0] if hit is not None else None
    builder: dict[str, Any] = {}
    unknown: list[RawAttribute] = []
    clean = True
    types = out.types
    for flags, type_code, start, head, end in entries:
        if type_code in types:
            if type_code in _MP:
                raise _update_error(
                    UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST,
                    f"attribute {type_code} appears twice",
                )
            out.discarded.append(f"duplicate attribute {type_code} (attribute-discard)")
            clean = False
            continue
        types.add(type_code)
        spec = ATTRIBUTES.get(type_code)
        if spec is None:
            if not flags & _OPTIONAL:
                raise _update_error(
                    UpdateErrorSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
                    f"unrecognized well-known attribute {type_code}",
                    bytes(data[start:end]),
                )
            if flags & _TRANSITIVE and cached is None:
                unknown.append(
                    RawAttribute(
                        flags=(flags | _PARTIAL) & ~_EXTENDED & 0xFF,
                        type=type_code,
                        value=bytes(data[head:end]),
                    )
                )
            continue
        if cached is not None and type_code not in _MP:
            continue
        try:
            if flags & _TYPE_FLAGS != spec.flags:
                msg = f"flags 0x{flags:02x} conflict with the attribute type"
                raise AttributeMalformedError(msg)
            builder[spec.field] = spec.decode(data[head:end], n)
        except AttributeMalformedError as exc:
            handling = exc.handling or spec.on_error
            if handling is ErrorHandling.SESSION_RESET:
                subcode = (
                    UpdateErrorSubcode.ATTRIBUTE_FLAGS_ERROR
                    if flags & _TYPE_FLAGS != spec.flags
                    else UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR
                )
                raise _update_error(
                    subcode, f"{spec.name}: {exc.reason}", bytes(data[start:end])
                ) from None
            if handling is ErrorHandling.TREAT_AS_WITHDRAW:
                out.taw = True
            out.discarded.append(f"{spec.name}: {exc.reason} ({handling.value})")
            if type_code not in _MP:
                clean = False
    if not types.isdisjoint(_SCRATCH_TYPES):  # MP_* or AS4_* present
        out.mp_reach = builder.pop("_mp_reach", None)
        out.mp_unreach = builder.pop("_mp_unreach", None)
        _resolve_as4(builder, n)
    if cached is not None:
        out.attributes = cached
    elif types - _MP:
        out.attributes = (
            PathAttributes(**builder, unknown=tuple(unknown))
            if unknown
            else PathAttributes(**builder)
        )
        if key is not None and cache is not None and clean and not out.taw:
            cache.put(key, (out.attributes, _type_mask(types - _MP)))
    return out


def _resolve_as4(builder: dict[str, Any], n: Negotiated) -> None:
    """RFC 6793 §4.2.3 on a 2-octet session; a 4-octet peer's AS4_* are ignored (§4.1)."""
    as4_path = builder.pop("_as4_path", None)
    as4_aggregator = builder.pop("_as4_aggregator", None)
    if n.asn4:
        return
    aggregator = builder.get("aggregator")
    if aggregator is not None and as4_aggregator is not None:
        if aggregator[0] != AS_TRANS:
            return
        builder["aggregator"] = as4_aggregator
    if as4_path is not None and "as_path" in builder:
        builder["as_path"] = merge_as4(builder["as_path"], as4_path)


def decode_update(body: bytes, n: Negotiated, cache: AttributeCache | None = None) -> Update:
    """Decode an UPDATE body. Session-reset errors raise ``MessageError``;
    treat-as-withdraw and attribute-discard are reported on the ``Update``."""
    end = len(body)
    withdrawn_len = int.from_bytes(body[0:2], "big")
    if 4 + withdrawn_len > end:
        raise _update_error(
            UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST,
            f"withdrawn routes length {withdrawn_len} overruns the message",
        )
    attr_start = 4 + withdrawn_len
    attr_end = attr_start + int.from_bytes(body[attr_start - 2 : attr_start], "big")
    if attr_end > end:
        raise _update_error(
            UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST,
            "total path attribute length overruns the message",
        )
    add_path = IPV4_UNICAST in n.add_path_receive
    if withdrawn_len:
        withdrawn, withdrawn_ids = decode_prefixes(body[2 : attr_start - 2], Afi.IPV4, add_path)
    else:
        withdrawn, withdrawn_ids = (), ()
    nlri, nlri_ids = decode_prefixes(body[attr_end:], Afi.IPV4, add_path)
    data = body[attr_start:attr_end]
    clean: _Clean | None = None
    if data:
        if cache is None:
            clean = _decode_clean(data, n)
        else:
            # The decode also depends on the AS size and on iBGP/eBGP (LOCAL_PREF).
            key = bytes((n.asn4, n.external)) + data
            clean = cache.get(key)
            if clean is None:
                clean = _decode_clean(data, n)
                if clean is not None:
                    cache.put(key, clean)
    mp_reach: MpReach | None = None
    mp_unreach: MpUnreach | None = None
    taw = False
    discarded: list[str] = []
    if clean is not None:
        attributes, types = clean
    elif not data:
        attributes, types = None, 0
    else:
        d = _decode_attributes(data, n, cache)
        attributes, mp_reach, mp_unreach = d.attributes, d.mp_reach, d.mp_unreach
        types, taw, discarded = _type_mask(d.types), d.taw, d.discarded
    if nlri or (mp_reach is not None and mp_reach.nlri):
        # RFC 7606 §3(d): missing well-known mandatory attributes -> treat-as-withdraw.
        needed, mask = (_NEEDED_V4, _V4_MANDATORY) if nlri else (_NEEDED_MP, _MP_MANDATORY)
        if types & mask != mask:
            missing = [name for code, name in needed if not types >> code & 1]
            taw = True
            discarded.append(f"missing {', '.join(missing)} (treat-as-withdraw)")
    # Update(withdrawn=..., ..., discarded=...) with the slots set directly: one
    # UPDATE per message, and the generated frozen __init__ costs ~1.2 us of ~12.
    update: Update = _new_object(Update)
    s0, s1, s2, s3, s4, s5, s6, s7, s8 = _UPDATE_SETTERS
    s0(update, withdrawn)
    s1(update, withdrawn_ids)
    s2(update, attributes)
    s3(update, nlri)
    s4(update, nlri_ids)
    s5(update, mp_reach)
    s6(update, mp_unreach)
    s7(update, taw)
    s8(update, tuple(discarded))
    return update


_UPDATE_SETTERS = slot_setters(
    Update,
    (
        "withdrawn",
        "withdrawn_path_ids",
        "attributes",
        "nlri",
        "nlri_path_ids",
        "mp_reach",
        "mp_unreach",
        "treat_as_withdraw",
        "discarded",
    ),
)


# (type code, flags, encoder) in ascending type order, MP_REACH/MP_UNREACH left
# out: they live on the Update. Plain ints, one tuple: this runs per UPDATE sent.
_ENCODERS = tuple(
    (int(type_code), int(spec.flags), spec.encode)
    for type_code, spec in sorted(ATTRIBUTES.items())
    if type_code not in (AttrType.MP_REACH_NLRI, AttrType.MP_UNREACH_NLRI)
)


def _encode_attributes(u: Update, n: Negotiated) -> bytes:
    parts: list[bytes] = []
    a = u.attributes
    if a is not None:
        for type_code, flags, encode in _ENCODERS:
            value = encode(a, n)
            if value is not None:
                parts.append(encode_attribute(flags, type_code, value))
        if not a.unknown and u.mp_reach is None and u.mp_unreach is None:
            return b"".join(parts)  # already in ascending type order (RFC 4271 §5)
    items = [(b[1], b) for b in parts]
    if a is not None:
        for raw in a.unknown:
            # RFC 4271 §5: a passed-on unrecognized transitive attribute is Partial.
            items.append(
                (raw.type, encode_attribute(raw.flags | AttrFlag.PARTIAL, raw.type, raw.value))
            )
    if u.mp_reach is not None:
        value = encode_mp_reach(u.mp_reach, n)
        items.append(
            (
                AttrType.MP_REACH_NLRI,
                encode_attribute(AttrFlag.OPTIONAL, AttrType.MP_REACH_NLRI, value),
            )
        )
    if u.mp_unreach is not None:
        value = encode_mp_unreach(u.mp_unreach, n)
        items.append(
            (
                AttrType.MP_UNREACH_NLRI,
                encode_attribute(AttrFlag.OPTIONAL, AttrType.MP_UNREACH_NLRI, value),
            )
        )
    items.sort(key=lambda item: item[0])
    return b"".join(encoded for _t, encoded in items)


def encode_update(u: Update, n: Negotiated) -> bytes:
    """Encode an UPDATE body; attributes in ascending type order (RFC 4271 §5),
    path ids where ADD-PATH send was negotiated. Raises ``LocalProtocolError``
    for reachability the peer would have to treat as withdrawn (RFC 7606 §3(d))."""
    if (u.nlri or u.mp_reach is not None) and u.attributes is None:
        msg = "UPDATE with reachable NLRI needs path attributes"
        raise LocalProtocolError(msg)
    if u.nlri and u.attributes is not None and u.attributes.next_hop is None:
        msg = "UPDATE with IPv4 NLRI needs a NEXT_HOP"
        raise LocalProtocolError(msg)
    add_path = IPV4_UNICAST in n.add_path_send
    withdrawn = encode_prefixes(u.withdrawn, u.withdrawn_path_ids, add_path)
    attributes = _encode_attributes(u, n)
    nlri = encode_prefixes(u.nlri, u.nlri_path_ids, add_path)
    return (
        len(withdrawn).to_bytes(2, "big")
        + withdrawn
        + len(attributes).to_bytes(2, "big")
        + attributes
        + nlri
    )


_EMPTY = Update()


def end_of_rib(family: Family) -> Update:
    """RFC 4724 §2: empty UPDATE for IPv4 unicast, a bare MP_UNREACH_NLRI otherwise."""
    if family == IPV4_UNICAST:
        return Update()
    return Update(mp_unreach=MpUnreach(afi=family[0], safi=family[1]))


def is_end_of_rib(update: Update) -> Family | None:
    if update.nlri or update.withdrawn or update.attributes is not None:
        return None  # the common case, decided without building an Update to compare
    if update == _EMPTY:
        return IPV4_UNICAST
    mp = update.mp_unreach
    if mp is not None and not mp.withdrawn and update == Update(mp_unreach=mp):
        return (mp.afi, mp.safi)
    return None


def encode_path_attributes(attributes: PathAttributes, n: Negotiated) -> bytes:
    """The path attributes field alone, as an UPDATE carrying ``attributes`` would
    (ascending type order, RFC 4271 §5); MRT RIB entries hold it (RFC 6396 §4.3.4)."""
    return _encode_attributes(Update(attributes=attributes), n)

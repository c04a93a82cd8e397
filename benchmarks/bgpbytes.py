"""Minimal, fast BGP byte handling for the benchmark injector, monitors and MRT reader.

The harness must not be the bottleneck, and it must not share bugs with the code
under test, so the hot paths here (UPDATE packing, NLRI counting) are written
independently of ``nexthop.bgp.wire``. Only what a blaster needs is covered:

* RFC 4271 §4.1 header framing, §4.3 UPDATE layout and NLRI encoding;
* the path attributes ORIGIN, AS_PATH (4-octet, RFC 6793), NEXT_HOP, MED,
  LOCAL_PREF, COMMUNITIES (RFC 1997) and LARGE_COMMUNITY (RFC 8092) on encode;
  on decode also AS4_PATH merging and MP_REACH/MP_UNREACH NLRI (RFC 4760);
* the IPv4 End-of-RIB marker (RFC 4724 §2).

The OPEN/KEEPALIVE handshake is done with the project codec (``benchmarks.peer``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from nexthop.bgp.constants import (
    HEADER_LENGTH,
    MARKER,
    MAX_MESSAGE_LENGTH,
    AsPathSegmentType,
    AttrFlag,
    AttrType,
    MessageType,
)
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes
from nexthop.net.prefix import Afi, Prefix

__all__ = [
    "END_OF_RIB_IPV4",
    "DecodedUpdate",
    "count_update_nlri",
    "decode_attributes",
    "decode_nlri",
    "decode_update",
    "encode_attributes",
    "encode_nlri",
    "frame",
    "keepalive",
    "pack_announcements",
    "pack_withdrawals",
    "split_messages",
]

_FLAG_WK = AttrFlag.TRANSITIVE
_FLAG_OPT = AttrFlag.OPTIONAL
_FLAG_OPT_T = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE


def frame(msg_type: int, body: bytes) -> bytes:
    """Prefix ``body`` with the 19-octet header (RFC 4271 §4.1)."""
    return MARKER + struct.pack("!HB", HEADER_LENGTH + len(body), msg_type) + body


def keepalive() -> bytes:
    return frame(MessageType.KEEPALIVE, b"")


END_OF_RIB_IPV4 = frame(MessageType.UPDATE, b"\x00\x00\x00\x00")


def _attr(flags: int, code: int, value: bytes) -> bytes:
    if len(value) > 255:
        return struct.pack("!BBH", flags | AttrFlag.EXTENDED_LENGTH, code, len(value)) + value
    return struct.pack("!BBB", flags, code, len(value)) + value


def encode_attributes(attrs: PathAttributes) -> bytes:
    """Encode the supported subset of ``attrs`` for a 4-octet-AS session."""
    out = [_attr(_FLAG_WK, AttrType.ORIGIN, bytes([attrs.origin]))]
    path = b"".join(
        struct.pack("!BB", seg.type, len(seg.asns)) + struct.pack(f"!{len(seg.asns)}I", *seg.asns)
        for seg in attrs.as_path
    )
    out.append(_attr(_FLAG_WK, AttrType.AS_PATH, path))
    if attrs.next_hop is not None:
        out.append(_attr(_FLAG_WK, AttrType.NEXT_HOP, struct.pack("!I", attrs.next_hop)))
    if attrs.med is not None:
        out.append(_attr(_FLAG_OPT, AttrType.MULTI_EXIT_DISC, struct.pack("!I", attrs.med)))
    if attrs.local_pref is not None:
        out.append(_attr(_FLAG_WK, AttrType.LOCAL_PREF, struct.pack("!I", attrs.local_pref)))
    if attrs.communities:
        value = struct.pack(f"!{len(attrs.communities)}I", *attrs.communities)
        out.append(_attr(_FLAG_OPT_T, AttrType.COMMUNITIES, value))
    if attrs.large_communities:
        value = b"".join(struct.pack("!III", *lc) for lc in attrs.large_communities)
        out.append(_attr(_FLAG_OPT_T, AttrType.LARGE_COMMUNITY, value))
    return b"".join(out)


def encode_nlri(prefix: Prefix) -> bytes:
    """Length octet plus the minimum number of address octets (RFC 4271 §4.3)."""
    width = 4 if prefix.afi == Afi.IPV4 else 16
    nbytes = (prefix.length + 7) // 8
    return bytes([prefix.length]) + prefix.value.to_bytes(width, "big")[:nbytes]


def pack_announcements(
    groups: Iterable[tuple[bytes, Sequence[Prefix]]], max_length: int = MAX_MESSAGE_LENGTH
) -> list[bytes]:
    """Pack (encoded attributes, IPv4 prefixes) groups into as few UPDATEs as fit."""
    messages: list[bytes] = []
    for attr_blob, prefixes in groups:
        head = b"\x00\x00" + struct.pack("!H", len(attr_blob)) + attr_blob
        room = max_length - HEADER_LENGTH - len(head)
        chunk: list[bytes] = []
        used = 0
        for prefix in prefixes:
            nlri = encode_nlri(prefix)
            if used + len(nlri) > room:
                messages.append(frame(MessageType.UPDATE, head + b"".join(chunk)))
                chunk, used = [], 0
            chunk.append(nlri)
            used += len(nlri)
        if chunk:
            messages.append(frame(MessageType.UPDATE, head + b"".join(chunk)))
    return messages


def pack_withdrawals(
    prefixes: Sequence[Prefix], max_length: int = MAX_MESSAGE_LENGTH
) -> list[bytes]:
    """IPv4 withdrawals in the Withdrawn Routes field, packed into full UPDATEs."""
    messages: list[bytes] = []
    room = max_length - HEADER_LENGTH - 4
    chunk: list[bytes] = []
    used = 0

    def flush() -> None:
        data = b"".join(chunk)
        messages.append(frame(MessageType.UPDATE, struct.pack("!H", len(data)) + data + b"\0\0"))

    for prefix in prefixes:
        nlri = encode_nlri(prefix)
        if used + len(nlri) > room:
            flush()
            chunk, used = [], 0
        chunk.append(nlri)
        used += len(nlri)
    if chunk:
        flush()
    return messages


def split_messages(buffer: bytearray) -> Iterator[tuple[int, bytes]]:
    """Yield (type, body) for each complete message and remove it from ``buffer``."""
    offset = 0
    end = len(buffer)
    while end - offset >= HEADER_LENGTH:
        length = int.from_bytes(buffer[offset + 16 : offset + 18], "big")
        if length < HEADER_LENGTH:
            msg = f"bad BGP message length {length}"
            raise ValueError(msg)
        if end - offset < length:
            break
        yield buffer[offset + 18], bytes(buffer[offset + HEADER_LENGTH : offset + length])
        offset += length
    del buffer[:offset]


def decode_nlri(data: bytes, afi: int, add_path: bool = False) -> list[Prefix]:
    """Decode a run of NLRI (optionally with 4-octet ADD-PATH ids, RFC 7911)."""
    width = 4 if afi == Afi.IPV4 else 16
    out: list[Prefix] = []
    i = 0
    while i < len(data):
        if add_path:
            i += 4
        length = data[i]
        nbytes = (length + 7) // 8
        raw = data[i + 1 : i + 1 + nbytes]
        if length > width * 8 or len(raw) != nbytes:
            msg = f"bad NLRI length {length}"
            raise ValueError(msg)
        out.append(Prefix(afi, int.from_bytes(raw.ljust(width, b"\0"), "big"), length))
        i += 1 + nbytes
    return out


def count_update_nlri(body: bytes, seen: set[bytes]) -> None:
    """Fast path for monitors: apply one IPv4 UPDATE body to a set of raw NLRI keys."""
    wlen = int.from_bytes(body[0:2], "big")
    i = 2
    end = 2 + wlen
    while i < end:
        n = 1 + (body[i] + 7) // 8
        seen.discard(body[i : i + n])
        i += n
    alen = int.from_bytes(body[end : end + 2], "big")
    i = end + 2 + alen
    while i < len(body):
        n = 1 + (body[i] + 7) // 8
        seen.add(body[i : i + n])
        i += n


def _as_path(value: bytes, as4: bool) -> tuple[AsPathSegment, ...]:
    width = 4 if as4 else 2
    fmt = "!{}I" if as4 else "!{}H"
    segments: list[AsPathSegment] = []
    i = 0
    while i + 2 <= len(value):
        seg_type, count = value[i], value[i + 1]
        raw = value[i + 2 : i + 2 + count * width]
        segments.append(AsPathSegment(seg_type, struct.unpack(fmt.format(count), raw)))
        i += 2 + count * width
    return tuple(segments)


def _merge_as4(
    as_path: tuple[AsPathSegment, ...], as4_path: tuple[AsPathSegment, ...]
) -> tuple[AsPathSegment, ...]:
    """RFC 6793 §4.2.3: replace the trailing ASNs of AS_PATH by AS4_PATH."""
    length = sum(len(s.asns) if s.type == AsPathSegmentType.AS_SEQUENCE else 1 for s in as_path)
    length4 = sum(len(s.asns) if s.type == AsPathSegmentType.AS_SEQUENCE else 1 for s in as4_path)
    if length4 > length:
        return as_path
    keep = length - length4
    head: list[AsPathSegment] = []
    for seg in as_path:
        if keep <= 0:
            break
        if seg.type == AsPathSegmentType.AS_SEQUENCE:
            head.append(AsPathSegment(seg.type, seg.asns[:keep]))
            keep -= min(keep, len(seg.asns))
        else:
            head.append(seg)
            keep -= 1
    return tuple(head) + as4_path


@dataclass(frozen=True, slots=True, kw_only=True)
class DecodedUpdate:
    """An UPDATE reduced to what a replay needs: attributes and prefixes per family."""

    attributes: PathAttributes | None
    announced: tuple[Prefix, ...]
    withdrawn: tuple[Prefix, ...]


def decode_attributes(
    data: bytes, as4: bool, add_path: bool = False
) -> tuple[PathAttributes, list[Prefix], list[Prefix]]:
    """Decode path attributes; returns (attributes, MP_REACH NLRI, MP_UNREACH NLRI).

    For a TABLE_DUMP_V2 RIB entry, MP_REACH holds only the next hop (RFC 6396 §4.3.4),
    so its NLRI list comes back empty.
    """
    fields: dict[str, object] = {}
    as_path: tuple[AsPathSegment, ...] = ()
    as4_path: tuple[AsPathSegment, ...] = ()
    reach: list[Prefix] = []
    unreach: list[Prefix] = []
    i = 0
    while i < len(data):
        flags, code = data[i], data[i + 1]
        if flags & AttrFlag.EXTENDED_LENGTH:
            length = int.from_bytes(data[i + 2 : i + 4], "big")
            i += 4
        else:
            length = data[i + 2]
            i += 3
        value = data[i : i + length]
        i += length
        if code == AttrType.ORIGIN:
            fields["origin"] = value[0]
        elif code == AttrType.AS_PATH:
            as_path = _as_path(value, as4)
        elif code == AttrType.AS4_PATH:
            as4_path = _as_path(value, True)
        elif code == AttrType.NEXT_HOP:
            fields["next_hop"] = int.from_bytes(value, "big")
        elif code == AttrType.MULTI_EXIT_DISC:
            fields["med"] = int.from_bytes(value, "big")
        elif code == AttrType.LOCAL_PREF:
            fields["local_pref"] = int.from_bytes(value, "big")
        elif code == AttrType.COMMUNITIES:
            fields["communities"] = struct.unpack(f"!{len(value) // 4}I", value)
        elif code == AttrType.LARGE_COMMUNITY:
            fields["large_communities"] = tuple(
                struct.unpack("!III", value[j : j + 12]) for j in range(0, len(value), 12)
            )
        elif code == AttrType.MP_REACH_NLRI:
            reach = _mp_reach(value, add_path)
        elif code == AttrType.MP_UNREACH_NLRI:
            afi = int.from_bytes(value[0:2], "big")
            if afi in (Afi.IPV4, Afi.IPV6) and value[2] == 1:
                unreach = decode_nlri(value[3:], afi, add_path)
    if as4_path and not as4:
        as_path = _merge_as4(as_path, as4_path)
    attrs = PathAttributes(as_path=as_path, **fields)  # type: ignore[arg-type]
    return attrs, reach, unreach


def _mp_reach(value: bytes, add_path: bool) -> list[Prefix]:
    afi = int.from_bytes(value[0:2], "big")
    safi = value[2]
    nh_len = value[3]
    if len(value) <= 4 + nh_len:
        return []  # TABLE_DUMP_V2 abbreviated form: next hop only
    if afi not in (Afi.IPV4, Afi.IPV6) or safi != 1:
        return []
    start = 4 + nh_len + 1  # skip the reserved octet
    return decode_nlri(value[start:], afi, add_path)


def decode_update(body: bytes, as4: bool, add_path: bool = False) -> DecodedUpdate:
    """Decode an UPDATE body (no header) into attributes and unicast prefixes."""
    wlen = int.from_bytes(body[0:2], "big")
    withdrawn = decode_nlri(body[2 : 2 + wlen], Afi.IPV4, add_path)
    alen = int.from_bytes(body[2 + wlen : 4 + wlen], "big")
    attr_data = body[4 + wlen : 4 + wlen + alen]
    announced = decode_nlri(body[4 + wlen + alen :], Afi.IPV4, add_path)
    attrs: PathAttributes | None = None
    if attr_data:
        attrs, reach, unreach = decode_attributes(attr_data, as4, add_path)
        announced += reach
        withdrawn += unreach
    return DecodedUpdate(attributes=attrs, announced=tuple(announced), withdrawn=tuple(withdrawn))

"""Prefix lists as carried in UPDATE withdrawn routes, NLRI and MP_(UN)REACH_NLRI.

RFC 4271 §4.3 (length in bits, then the fewest octets holding the prefix),
RFC 4760 §5 (the same encoding for other families), RFC 7911 §3 (with ADD-PATH a
4-octet Path Identifier precedes each prefix). Trailing host bits on the wire are
cleared so that ``Prefix.value`` is always the network address.

    +---------------------------+
    | Path Identifier (4, opt.) |
    +---------------------------+
    |   Length (1 octet)        |
    +---------------------------+
    |   Prefix (variable)       |
    +---------------------------+
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from nexthop.bgp.constants import ErrorCode, UpdateErrorSubcode
from nexthop.bgp.wire.errors import MessageError
from nexthop.net.prefix import Afi, Prefix

__all__ = ["decode_prefixes", "encode_prefixes"]

_BITS: dict[int, int] = {Afi.IPV4: 32, Afi.IPV6: 128}
_MASKS = {bits: tuple(((1 << n) - 1) << (bits - n) for n in range(bits + 1)) for bits in (32, 128)}
# Per prefix length: (octets on the wire, left shift to the full width, mask).
_LAYOUT = {
    bits: tuple(((n + 7) >> 3, bits - 8 * ((n + 7) >> 3), _MASKS[bits][n]) for n in range(bits + 1))
    for bits in (32, 128)
}
# IPv4 octet counts struct can read as one unsigned integer.
_V4_CODES = {1: "B", 2: "H", 4: "I"}
# Compiled readers of ``count`` uniform IPv4 prefixes, by (octets, count); only
# counts up to _MAX_CACHED_COUNT are kept, so the table stays small.
_UNPACKERS: dict[tuple[int, int], Callable[[bytes | memoryview], tuple[int, ...]]] = {}
_MAX_CACHED_COUNT = 255
_new_tuple = tuple.__new__  # Prefix(...) without the NamedTuple constructor overhead


def _invalid(reason: str) -> MessageError:
    # RFC 4271 §6.3 / RFC 7606 §5.3: a syntactically wrong prefix field is a session reset.
    return MessageError(
        ErrorCode.UPDATE_MESSAGE, UpdateErrorSubcode.INVALID_NETWORK_FIELD, reason=reason
    )


def _uniform_ipv4(data: bytes | memoryview, afi: int) -> tuple[Prefix, ...] | None:
    """Fast path for a field whose IPv4 prefixes all have the same length (what
    packed UPDATEs usually carry): one ``struct`` call instead of a loop. None
    when the field is not uniform, so the general decoder handles (and checks) it."""
    length = data[0]
    if length > 32:
        return None
    octets, shift, mask = _LAYOUT[32][length]
    stride = octets + 1
    count, rest = divmod(len(data), stride)
    if rest or data[::stride] != bytes((length,)) * count:
        return None
    if octets == 0:
        return (_new_tuple(Prefix, (afi, 0, 0)),) * count
    unpack = _UNPACKERS.get((octets, count))
    if unpack is None:
        # Three octets are read with their length octet as one 32-bit word.
        fmt = f"!{count}I" if octets == 3 else "!" + ("x" + _V4_CODES[octets]) * count
        unpack = struct.Struct(fmt).unpack
        if count <= _MAX_CACHED_COUNT:
            _UNPACKERS[octets, count] = unpack
    values = unpack(data)
    if octets == 3:  # the 32-bit mask drops the length octet read with the address
        return tuple([_new_tuple(Prefix, (afi, (w << 8) & mask, length)) for w in values])
    if shift or length != 8 * octets:
        return tuple([_new_tuple(Prefix, (afi, (v << shift) & mask, length)) for v in values])
    return tuple([_new_tuple(Prefix, (afi, v, length)) for v in values])


def decode_prefixes(
    data: bytes | memoryview, afi: int, add_path: bool
) -> tuple[tuple[Prefix, ...], tuple[int, ...]]:
    """Decode a prefix list; returns (prefixes, path ids) with path ids empty
    unless ``add_path``. Raises ``MessageError`` (Invalid Network Field)."""
    if not data:
        return (), ()
    if afi == Afi.IPV4 and not add_path:
        uniform = _uniform_ipv4(data, afi)
        if uniform is not None:
            return uniform, ()
    bits = _BITS[afi]
    layout = _LAYOUT[bits]
    from_bytes = int.from_bytes
    new = _new_tuple
    prefixes: list[Prefix] = []
    append = prefixes.append
    path_ids: list[int] = []
    i, end = 0, len(data)
    while i < end:
        if add_path:
            if i + 5 > end:
                raise _invalid("truncated path identifier")
            path_ids.append(from_bytes(data[i : i + 4], "big"))
            i += 4
        length = data[i]
        if length > bits:
            raise _invalid(f"prefix length {length} > {bits}")
        octets, shift, mask = layout[length]
        i += 1
        if i + octets > end:
            raise _invalid(f"prefix of length {length} overruns the field")
        append(
            new(Prefix, (afi, (from_bytes(data[i : i + octets], "big") << shift) & mask, length))
        )
        i += octets
    return tuple(prefixes), tuple(path_ids)


def encode_prefixes(
    prefixes: tuple[Prefix, ...], path_ids: tuple[int, ...], add_path: bool
) -> bytes:
    """Encode a prefix list; with ``add_path`` each prefix gets its path id
    (0 where ``path_ids`` is shorter than ``prefixes``)."""
    out = bytearray()
    for n, (afi, value, length) in enumerate(prefixes):
        bits = _BITS[afi]
        if add_path:
            out += (path_ids[n] if n < len(path_ids) else 0).to_bytes(4, "big")
        octets = (length + 7) >> 3
        out.append(length)
        out += (value >> (bits - 8 * octets)).to_bytes(octets, "big")
    return bytes(out)

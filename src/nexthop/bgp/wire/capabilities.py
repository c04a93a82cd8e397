"""Capability TLVs carried in the OPEN Capabilities optional parameter.

RFC 5492 §4 (TLV layout, unknown capabilities ignored), RFC 4760 §8 (multiprotocol),
RFC 2918 (route refresh; 128 is the pre-standard code), RFC 7313 (enhanced route
refresh), RFC 6793 §3 (4-octet AS), RFC 4724 §3 (graceful restart), RFC 7911 §4
(ADD-PATH), RFC 8654 §3 (extended message). One table, ``CAPABILITIES``, maps each
code to its decode and encode functions; anything else becomes ``UnknownCapability``.

    +------------------------------+
    | Capability Code (1 octet)    |
    +------------------------------+
    | Capability Length (1 octet)  |
    +------------------------------+
    | Capability Value (variable)  |
    +------------------------------+
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from nexthop.bgp.constants import CapabilityCode, ErrorCode, OpenErrorSubcode
from nexthop.bgp.wire.errors import MessageError
from nexthop.bgp.wire.messages import (
    AddPath,
    Capability,
    EnhancedRouteRefresh,
    ExtendedMessage,
    FourOctetAs,
    GracefulRestart,
    Multiprotocol,
    RouteRefreshCapability,
    UnknownCapability,
)

__all__ = [
    "CAPABILITIES",
    "CapabilitySpec",
    "capability_code",
    "decode_capabilities",
    "encode_capabilities",
]


def _malformed(code: int, reason: str) -> MessageError:
    # RFC 4271 §6.2: a recognised but malformed optional parameter -> Unspecific.
    return MessageError(
        ErrorCode.OPEN_MESSAGE,
        OpenErrorSubcode.UNSPECIFIC,
        reason=f"malformed capability {code}: {reason}",
    )


def _expect_length(code: int, value: bytes, length: int) -> None:
    if len(value) != length:
        raise _malformed(code, f"length {len(value)}, expected {length}")


def _decode_mp(code: int, value: bytes) -> Capability:
    _expect_length(code, value, 4)
    afi, _reserved, safi = struct.unpack("!HBB", value)
    return Multiprotocol(afi=afi, safi=safi)


def _encode_mp(cap: Capability) -> bytes:
    assert isinstance(cap, Multiprotocol)
    return struct.pack("!HBB", cap.afi, 0, cap.safi)


def _decode_route_refresh(code: int, value: bytes) -> Capability:
    _expect_length(code, value, 0)
    return RouteRefreshCapability(code=code)


def _decode_enhanced_rr(code: int, value: bytes) -> Capability:
    _expect_length(code, value, 0)
    return EnhancedRouteRefresh()


def _decode_extended_message(code: int, value: bytes) -> Capability:
    _expect_length(code, value, 0)
    return ExtendedMessage()


def _encode_empty(_cap: Capability) -> bytes:
    return b""


def _decode_four_octet(code: int, value: bytes) -> Capability:
    _expect_length(code, value, 4)
    return FourOctetAs(asn=int.from_bytes(value, "big"))


def _encode_four_octet(cap: Capability) -> bytes:
    assert isinstance(cap, FourOctetAs)
    return cap.asn.to_bytes(4, "big")


def _decode_triples(code: int, value: bytes) -> tuple[tuple[int, int, int], ...]:
    if len(value) % 4:
        raise _malformed(code, f"length {len(value)} is not a multiple of 4")
    return tuple(struct.iter_unpack("!HBB", value))


def _encode_triples(triples: tuple[tuple[int, int, int], ...]) -> bytes:
    return b"".join(struct.pack("!HBB", *t) for t in triples)


def _decode_add_path(code: int, value: bytes) -> Capability:
    return AddPath(families=_decode_triples(code, value))


def _encode_add_path(cap: Capability) -> bytes:
    assert isinstance(cap, AddPath)
    return _encode_triples(cap.families)


def _decode_graceful_restart(code: int, value: bytes) -> Capability:
    if len(value) < 2:
        raise _malformed(code, f"length {len(value)} < 2")
    head = int.from_bytes(value[:2], "big")
    return GracefulRestart(
        restart_flags=head >> 12,
        restart_time=head & 0x0FFF,
        families=_decode_triples(code, value[2:]),
    )


def _encode_graceful_restart(cap: Capability) -> bytes:
    assert isinstance(cap, GracefulRestart)
    head = ((cap.restart_flags & 0xF) << 12) | (cap.restart_time & 0x0FFF)
    return head.to_bytes(2, "big") + _encode_triples(cap.families)


@dataclass(frozen=True, slots=True, kw_only=True)
class CapabilitySpec:
    """How one capability code is decoded (code, value) and encoded (value only)."""

    name: str
    decode: Callable[[int, bytes], Capability]
    encode: Callable[[Capability], bytes]


CAPABILITIES: dict[int, CapabilitySpec] = {
    CapabilityCode.MULTIPROTOCOL: CapabilitySpec(
        name="multiprotocol", decode=_decode_mp, encode=_encode_mp
    ),
    CapabilityCode.ROUTE_REFRESH: CapabilitySpec(
        name="route-refresh", decode=_decode_route_refresh, encode=_encode_empty
    ),
    CapabilityCode.ROUTE_REFRESH_CISCO: CapabilitySpec(
        name="route-refresh-cisco", decode=_decode_route_refresh, encode=_encode_empty
    ),
    CapabilityCode.ENHANCED_ROUTE_REFRESH: CapabilitySpec(
        name="enhanced-route-refresh", decode=_decode_enhanced_rr, encode=_encode_empty
    ),
    CapabilityCode.EXTENDED_MESSAGE: CapabilitySpec(
        name="extended-message", decode=_decode_extended_message, encode=_encode_empty
    ),
    CapabilityCode.FOUR_OCTET_AS: CapabilitySpec(
        name="four-octet-as", decode=_decode_four_octet, encode=_encode_four_octet
    ),
    CapabilityCode.GRACEFUL_RESTART: CapabilitySpec(
        name="graceful-restart", decode=_decode_graceful_restart, encode=_encode_graceful_restart
    ),
    CapabilityCode.ADD_PATH: CapabilitySpec(
        name="add-path", decode=_decode_add_path, encode=_encode_add_path
    ),
}

_CODE_OF: dict[type, int] = {
    Multiprotocol: CapabilityCode.MULTIPROTOCOL,
    EnhancedRouteRefresh: CapabilityCode.ENHANCED_ROUTE_REFRESH,
    ExtendedMessage: CapabilityCode.EXTENDED_MESSAGE,
    FourOctetAs: CapabilityCode.FOUR_OCTET_AS,
    GracefulRestart: CapabilityCode.GRACEFUL_RESTART,
    AddPath: CapabilityCode.ADD_PATH,
}


def capability_code(cap: Capability) -> int:
    if isinstance(cap, RouteRefreshCapability | UnknownCapability):
        return cap.code
    return _CODE_OF[type(cap)]


def decode_capabilities(data: bytes) -> list[Capability]:
    """Decode the value of one Capabilities optional parameter (RFC 5492 §4)."""
    caps: list[Capability] = []
    i, end = 0, len(data)
    while i < end:
        if i + 2 > end:
            raise _malformed(data[i], "truncated capability header")
        code, length = data[i], data[i + 1]
        value = bytes(data[i + 2 : i + 2 + length])
        if len(value) != length:
            raise _malformed(code, f"length {length} overruns the parameter")
        spec = CAPABILITIES.get(code)
        caps.append(
            UnknownCapability(code=code, value=value) if spec is None else spec.decode(code, value)
        )
        i += 2 + length
    return caps


def encode_capability(cap: Capability) -> bytes:
    code = capability_code(cap)
    value = cap.value if isinstance(cap, UnknownCapability) else CAPABILITIES[code].encode(cap)
    if len(value) > 255:
        msg = f"capability {code} value too long ({len(value)} octets)"
        raise ValueError(msg)
    return bytes((code, len(value))) + value


def encode_capabilities(caps: tuple[Capability, ...]) -> bytes:
    """The value of one Capabilities optional parameter holding every capability."""
    return b"".join(encode_capability(c) for c in caps)

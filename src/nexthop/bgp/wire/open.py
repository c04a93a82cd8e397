"""OPEN message body codec, optional parameters and ``build_open``/``open_asn``.

RFC 4271 §4.2 (layout) and §6.2 (errors), RFC 9072 (extended optional parameters
length), RFC 5492 (the Capabilities optional parameter), RFC 6793 §4.1 (AS_TRANS in
'My Autonomous System' when the real AS needs four octets).

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+
    |    Version    |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     My Autonomous System      |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |           Hold Time           |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                         BGP Identifier                        |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    | Opt Parm Len  |  Optional Parameters (type, length, value)... |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

RFC 9072: Opt Parm Len 255 followed by a parameter type of 255 means a 2-octet
length follows and every parameter then has a 2-octet length.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from nexthop.bgp.constants import (
    AS_TRANS,
    BGP_VERSION,
    ErrorCode,
    OpenErrorSubcode,
    OptionalParameterType,
)
from nexthop.bgp.wire.capabilities import decode_capabilities, encode_capabilities
from nexthop.bgp.wire.errors import MessageError
from nexthop.bgp.wire.messages import (
    AddPath,
    AddPathMode,
    Capability,
    EnhancedRouteRefresh,
    ExtendedMessage,
    FourOctetAs,
    GracefulRestart,
    Multiprotocol,
    Open,
    RouteRefreshCapability,
)
from nexthop.bgp.wire.negotiated import Family

__all__ = ["build_open", "decode_open", "encode_open", "open_asn"]

_FIXED = struct.Struct("!BHHIB")


def _open_error(subcode: int, reason: str, data: bytes = b"") -> MessageError:
    return MessageError(ErrorCode.OPEN_MESSAGE, subcode, data, reason=reason)


def _split_parameters(data: bytes, extended: bool) -> list[tuple[int, bytes]]:
    params: list[tuple[int, bytes]] = []
    head = 3 if extended else 2
    i, end = 0, len(data)
    while i < end:
        if i + head > end:
            raise _open_error(OpenErrorSubcode.UNSPECIFIC, "truncated optional parameter")
        ptype = data[i]
        plen = int.from_bytes(data[i + 1 : i + head], "big")
        if i + head + plen > end:
            raise _open_error(OpenErrorSubcode.UNSPECIFIC, "optional parameter overruns")
        params.append((ptype, data[i + head : i + head + plen]))
        i += head + plen
    return params


def decode_open(body: bytes) -> Open:
    """Decode an OPEN body (the bytes after the 19-octet header, which has
    already checked that the fixed 10 octets are there)."""
    version, asn, hold_time, bgp_id, opt_len = _FIXED.unpack_from(body)
    if version != BGP_VERSION:
        # §6.2: data is the largest locally supported version, 2 octets.
        raise _open_error(
            OpenErrorSubcode.UNSUPPORTED_VERSION_NUMBER,
            f"unsupported BGP version {version}",
            BGP_VERSION.to_bytes(2, "big"),
        )
    rest = body[_FIXED.size :]
    ext_marker = OptionalParameterType.EXTENDED_LENGTH
    extended = opt_len == ext_marker and len(rest) >= 1 and rest[0] == ext_marker
    if extended:
        if len(rest) < 3:
            raise _open_error(OpenErrorSubcode.UNSPECIFIC, "truncated extended parameters length")
        opt_len = int.from_bytes(rest[1:3], "big")
        rest = rest[3:]
    if opt_len != len(rest):
        raise _open_error(
            OpenErrorSubcode.UNSPECIFIC,
            f"optional parameters length {opt_len} != {len(rest)} octets present",
        )
    caps: list[Capability] = []
    for ptype, pvalue in _split_parameters(rest, extended):
        if ptype != OptionalParameterType.CAPABILITIES:
            raise _open_error(
                OpenErrorSubcode.UNSUPPORTED_OPTIONAL_PARAMETER,
                f"unsupported optional parameter {ptype}",
            )
        caps.extend(decode_capabilities(pvalue))
    if hold_time in (1, 2):
        raise _open_error(
            OpenErrorSubcode.UNACCEPTABLE_HOLD_TIME,
            f"hold time {hold_time} is neither 0 nor at least 3",
        )
    return Open(
        asn=asn, hold_time=hold_time, bgp_id=bgp_id, capabilities=tuple(caps), version=version
    )


def encode_open(msg: Open) -> bytes:
    """Encode an OPEN body; all capabilities go in one Capabilities parameter,
    switching to the RFC 9072 extended form when they exceed 255 octets."""
    value = encode_capabilities(msg.capabilities)
    ctype = OptionalParameterType.CAPABILITIES
    if not value:
        params = b""
    elif len(value) + 2 <= 255:
        params = bytes((ctype, len(value))) + value
    else:
        param = bytes((ctype,)) + len(value).to_bytes(2, "big") + value
        fixed = _FIXED.pack(msg.version, msg.asn, msg.hold_time, msg.bgp_id, 255)
        ext = OptionalParameterType.EXTENDED_LENGTH
        return fixed + bytes((ext,)) + len(param).to_bytes(2, "big") + param
    return _FIXED.pack(msg.version, msg.asn, msg.hold_time, msg.bgp_id, len(params)) + params


def open_asn(msg: Open) -> int:
    """The speaker's real AS: the FourOctetAs capability if present (RFC 6793 §4.1)."""
    for cap in msg.capabilities:
        if isinstance(cap, FourOctetAs):
            return cap.asn
    return msg.asn


def build_open(
    *,
    asn: int,
    bgp_id: int,
    hold_time: int,
    families: Iterable[Family],
    route_refresh: bool = True,
    enhanced_route_refresh: bool = True,
    four_octet: bool = True,
    add_path_receive: Iterable[Family] = (),
    extended_message: bool = True,
    graceful_restart: GracefulRestart | None = None,
) -> Open:
    """An OPEN advertising the given capabilities, in a stable order."""
    caps: list[Capability] = [Multiprotocol(afi=a, safi=s) for a, s in sorted(set(families))]
    if route_refresh:
        caps.append(RouteRefreshCapability())
    if enhanced_route_refresh:
        caps.append(EnhancedRouteRefresh())
    if extended_message:
        caps.append(ExtendedMessage())
    if graceful_restart is not None:
        caps.append(graceful_restart)
    if four_octet:
        caps.append(FourOctetAs(asn=asn))
    add_path = sorted(set(add_path_receive))
    if add_path:
        caps.append(AddPath(families=tuple((a, s, AddPathMode.RECEIVE) for a, s in add_path)))
    two_octet_asn = asn if asn <= 0xFFFF else AS_TRANS
    return Open(asn=two_octet_asn, hold_time=hold_time, bgp_id=bgp_id, capabilities=tuple(caps))

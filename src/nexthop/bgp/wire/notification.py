"""NOTIFICATION, KEEPALIVE and ROUTE-REFRESH bodies, and shutdown communications.

RFC 4271 §4.4 (KEEPALIVE: header only), §4.5 (NOTIFICATION: code, subcode, data),
RFC 2918 §3 and RFC 7313 §3/§5 (ROUTE-REFRESH with a message subtype; a BoRR/EoRR
whose body is not 4 octets is a ROUTE-REFRESH Message Error carrying the whole
message), RFC 8203 / RFC 9003 (Cease Administrative Shutdown/Reset data: a length
octet then up to 255 octets of UTF-8).

    NOTIFICATION                         ROUTE-REFRESH
    +---------------+---------------+    +-------------------------------+
    | Error code    | Error subcode |    |      AFI      | Subtype | SAFI|
    +---------------+---------------+    +-------------------------------+
    |   Data (variable)             |
    +-------------------------------+
"""

from __future__ import annotations

from nexthop.bgp.constants import (
    HEADER_LENGTH,
    MARKER,
    CeaseSubcode,
    ErrorCode,
    MessageType,
    RouteRefreshErrorSubcode,
    RouteRefreshSubtype,
)
from nexthop.bgp.wire.errors import MessageError
from nexthop.bgp.wire.messages import Notification, RouteRefresh

__all__ = [
    "MAX_SHUTDOWN_COMMUNICATION",
    "cease_notification",
    "decode_notification",
    "decode_route_refresh",
    "encode_notification",
    "encode_route_refresh",
    "shutdown_communication",
]

MAX_SHUTDOWN_COMMUNICATION = 255  # RFC 9003 §2 (RFC 8203 allowed 128)
_COMMUNICATION_SUBCODES = (CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, CeaseSubcode.ADMINISTRATIVE_RESET)


def decode_notification(body: bytes) -> Notification:
    # The header check guarantees at least the two code octets.
    return Notification(code=body[0], subcode=body[1], data=bytes(body[2:]))


def encode_notification(msg: Notification) -> bytes:
    return bytes((msg.code, msg.subcode)) + msg.data


def decode_route_refresh(body: bytes) -> RouteRefresh:
    # The header check guarantees at least the 4 octets of AFI, subtype and SAFI.
    afi = int.from_bytes(body[0:2], "big")
    subtype, safi = body[2], body[3]
    if len(body) != 4 and subtype in (RouteRefreshSubtype.BORR, RouteRefreshSubtype.EORR):
        length = HEADER_LENGTH + len(body)
        whole = MARKER + length.to_bytes(2, "big") + bytes((MessageType.ROUTE_REFRESH,)) + body
        raise MessageError(
            ErrorCode.ROUTE_REFRESH_MESSAGE,
            RouteRefreshErrorSubcode.INVALID_MESSAGE_LENGTH,
            bytes(whole),
            reason=f"ROUTE-REFRESH subtype {subtype} with length {length} != 23",
        )
    # Subtype 0 may carry ORF entries (RFC 5291), which we do not implement: ignored.
    return RouteRefresh(afi=afi, safi=safi, subtype=subtype)


def encode_route_refresh(msg: RouteRefresh) -> bytes:
    return msg.afi.to_bytes(2, "big") + bytes((msg.subtype, msg.safi))


def shutdown_communication(n: Notification) -> str | None:
    """The RFC 8203/9003 message of a Cease Administrative Shutdown/Reset ("" for
    a zero length), or None when there is none or it is malformed (length past
    the data, or invalid UTF-8). Octets after the message are ignored."""
    if n.code != ErrorCode.CEASE or n.subcode not in _COMMUNICATION_SUBCODES or not n.data:
        return None
    length = n.data[0]
    if length + 1 > len(n.data):
        return None
    try:
        return n.data[1 : 1 + length].decode("utf-8")
    except UnicodeDecodeError:
        return None


def cease_notification(subcode: int, message: str = "") -> Notification:
    """A Cease NOTIFICATION; for Administrative Shutdown/Reset a non-empty
    ``message`` becomes the shutdown communication, cut to 255 octets of UTF-8
    at a character boundary."""
    data = b""
    if message and subcode in _COMMUNICATION_SUBCODES:
        text = message.encode("utf-8")[:MAX_SHUTDOWN_COMMUNICATION]
        text = text.decode("utf-8", errors="ignore").encode("utf-8")
        data = bytes((len(text),)) + text
    return Notification(code=ErrorCode.CEASE, subcode=subcode, data=data)

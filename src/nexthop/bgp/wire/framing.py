"""The 19-octet message header and its checks.

RFC 4271 §4.1 (marker, length, type) and §6.1 (Message Header error handling:
Connection Not Synchronized, Bad Message Length with the erroneous length as
data, Bad Message Type with the type as data), RFC 8654 §4 (with the Extended
Message capability every message but OPEN and KEEPALIVE may reach 65535 octets).

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                           Marker (16)                         |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |          Length               |      Type     |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
"""

from __future__ import annotations

from nexthop.bgp.constants import (
    HEADER_LENGTH,
    MARKER,
    MAX_MESSAGE_LENGTH,
    ErrorCode,
    HeaderErrorSubcode,
    MessageType,
)
from nexthop.bgp.wire.errors import MessageError
from nexthop.bgp.wire.negotiated import Negotiated

__all__ = ["LENGTH_BOUNDS", "bad_length", "encode_header", "parse_header"]

# (minimum, maximum or None for the negotiated maximum), RFC 4271 §4.2-§4.5, RFC 2918.
LENGTH_BOUNDS: dict[int, tuple[int, int | None]] = {
    MessageType.OPEN: (29, MAX_MESSAGE_LENGTH),
    MessageType.UPDATE: (23, None),
    MessageType.NOTIFICATION: (21, None),
    MessageType.KEEPALIVE: (19, 19),
    MessageType.ROUTE_REFRESH: (23, None),
}


def bad_length(length: int, reason: str) -> MessageError:
    return MessageError(
        ErrorCode.MESSAGE_HEADER,
        HeaderErrorSubcode.BAD_MESSAGE_LENGTH,
        length.to_bytes(2, "big"),
        reason=reason,
    )


def parse_header(header: bytes | bytearray | memoryview, n: Negotiated) -> tuple[int, int]:
    """Check a 19-octet header; return (total length, message type)."""
    if header[:16] != MARKER:
        raise MessageError(
            ErrorCode.MESSAGE_HEADER,
            HeaderErrorSubcode.CONNECTION_NOT_SYNCHRONIZED,
            reason="marker is not all ones",
        )
    length = (header[16] << 8) | header[17]
    msg_type = header[18]
    maximum = n.max_message_length
    if length < HEADER_LENGTH or length > maximum:
        raise bad_length(length, f"message length {length} outside 19..{maximum}")
    bounds = LENGTH_BOUNDS.get(msg_type)
    if bounds is None:
        raise MessageError(
            ErrorCode.MESSAGE_HEADER,
            HeaderErrorSubcode.BAD_MESSAGE_TYPE,
            bytes((msg_type,)),
            reason=f"unknown message type {msg_type}",
        )
    low, high = bounds
    if length < low or (high is not None and length > high):
        name = MessageType(msg_type).name
        raise bad_length(length, f"{name} length {length} outside {low}..{high or maximum}")
    return length, msg_type


def encode_header(msg_type: int, body_length: int) -> bytes:
    return MARKER + (HEADER_LENGTH + body_length).to_bytes(2, "big") + bytes((msg_type,))

"""Byte builders shared by the codec tests (hand-assembled wire messages)."""

from __future__ import annotations

from nexthop.bgp.constants import MARKER, MessageType
from nexthop.bgp.wire import Message, MessageReader, Negotiated
from nexthop.net.prefix import parse_address

__all__ = ["attr", "ip", "message", "read_all", "update", "update_body"]


def ip(text: str) -> int:
    return parse_address(text)[1]


def read_all(reader: MessageReader, n: Negotiated | None = None) -> list[Message]:
    """Every complete message the reader holds (pre-OPEN defaults unless ``n``)."""
    negotiated = Negotiated() if n is None else n
    out = []
    while (msg := reader.next_message(negotiated)) is not None:
        out.append(msg)
    return out


def message(msg_type: int, body: bytes) -> bytes:
    return MARKER + (19 + len(body)).to_bytes(2, "big") + bytes((msg_type,)) + body


def attr(flags: int, type_code: int, value: bytes) -> bytes:
    if flags & 0x10:
        return bytes((flags, type_code)) + len(value).to_bytes(2, "big") + value
    return bytes((flags, type_code, len(value))) + value


def update_body(attributes: bytes = b"", nlri: bytes = b"", withdrawn: bytes = b"") -> bytes:
    return (
        len(withdrawn).to_bytes(2, "big")
        + withdrawn
        + len(attributes).to_bytes(2, "big")
        + attributes
        + nlri
    )


def update(attributes: bytes = b"", nlri: bytes = b"", withdrawn: bytes = b"") -> bytes:
    return message(MessageType.UPDATE, update_body(attributes, nlri, withdrawn))

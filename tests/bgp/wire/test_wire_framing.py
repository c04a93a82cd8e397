"""RFC 4271 §6.1 header errors and the incremental reader (h11 ``tr()`` style)."""

from __future__ import annotations

import pytest
from wire_helpers import message, read_all

from nexthop.bgp.constants import MARKER, ErrorCode, HeaderErrorSubcode, MessageType
from nexthop.bgp.wire import (
    AsPathSegment,
    ErrorHandling,
    Keepalive,
    LocalProtocolError,
    MessageError,
    MessageReader,
    Negotiated,
    Notification,
    PathAttributes,
    RouteRefresh,
    Update,
    decode_message,
    encode_message,
)
from nexthop.net.prefix import parse_prefix

N = Negotiated()
KEEPALIVE = message(MessageType.KEEPALIVE, b"")


def header_error(data: bytes, n: Negotiated = N) -> MessageError:
    reader = MessageReader()
    reader.feed(data)
    with pytest.raises(MessageError) as info:
        read_all(reader, n)
    assert info.value.code == ErrorCode.MESSAGE_HEADER
    assert info.value.handling is ErrorHandling.SESSION_RESET
    return info.value


def test_keepalive_is_header_only() -> None:
    assert encode_message(Keepalive(), N) == MARKER + b"\x00\x13\x04"
    assert decode_message(KEEPALIVE, N) == Keepalive()


def test_bad_marker_is_connection_not_synchronized() -> None:
    err = header_error(b"\xff" * 15 + b"\xfe" + b"\x00\x13\x04")
    assert err.subcode == HeaderErrorSubcode.CONNECTION_NOT_SYNCHRONIZED
    assert err.data == b""


@pytest.mark.parametrize("length", [0, 18, 4097, 65535])
def test_length_outside_bounds_is_bad_message_length_with_the_length(length: int) -> None:
    err = header_error(MARKER + length.to_bytes(2, "big") + b"\x02")
    assert err.subcode == HeaderErrorSubcode.BAD_MESSAGE_LENGTH
    assert err.data == length.to_bytes(2, "big")


@pytest.mark.parametrize(
    ("msg_type", "length"),
    [
        (MessageType.KEEPALIVE, 20),
        (MessageType.OPEN, 28),
        (MessageType.UPDATE, 22),
        (MessageType.NOTIFICATION, 20),
        (MessageType.ROUTE_REFRESH, 22),
    ],
)
def test_length_wrong_for_type_is_bad_message_length(msg_type: int, length: int) -> None:
    err = header_error(MARKER + length.to_bytes(2, "big") + bytes((msg_type,)))
    assert err.subcode == HeaderErrorSubcode.BAD_MESSAGE_LENGTH
    assert err.data == length.to_bytes(2, "big")


def test_unknown_type_is_bad_message_type_with_the_type() -> None:
    err = header_error(MARKER + b"\x00\x13\xff")
    assert err.subcode == HeaderErrorSubcode.BAD_MESSAGE_TYPE
    assert err.data == b"\xff"


def test_extended_message_raises_the_limit_except_for_open_and_keepalive() -> None:
    big = Update(withdrawn=tuple(parse_prefix(f"10.{i >> 8}.{i & 255}.0/24") for i in range(1500)))
    with pytest.raises(LocalProtocolError):
        encode_message(big, N)
    ext = Negotiated(extended_message=True)
    data = encode_message(big, ext)
    assert len(data) > 4096
    assert decode_message(data, ext) == big
    assert header_error(data, N).data == len(data).to_bytes(2, "big")
    err = header_error(MARKER + (4097).to_bytes(2, "big") + b"\x01", ext)
    assert err.subcode == HeaderErrorSubcode.BAD_MESSAGE_LENGTH


def test_decode_message_rejects_trailing_bytes() -> None:
    with pytest.raises(MessageError) as info:
        decode_message(KEEPALIVE + b"\x00", N)
    assert info.value.subcode == HeaderErrorSubcode.BAD_MESSAGE_LENGTH


STREAM = [
    Keepalive(),
    Notification(code=6, subcode=2, data=b"\x02hi"),
    RouteRefresh(afi=1, safi=1, subtype=1),
    Update(
        nlri=(parse_prefix("192.0.2.0/24"),),
        withdrawn=(parse_prefix("10.0.0.0/8"),),
        attributes=PathAttributes(as_path=(AsPathSegment(2, (65001,)),), next_hop=0xC0000201),
    ),
    Keepalive(),
]


def stream_bytes() -> bytes:
    return b"".join(encode_message(m, N) for m in STREAM)


def test_reader_whole_buffer() -> None:
    reader = MessageReader()
    reader.feed(stream_bytes())
    assert read_all(reader) == STREAM
    assert reader.buffered == 0


def test_reader_byte_by_byte_returns_none_until_each_message_completes() -> None:
    data = stream_bytes()
    reader = MessageReader()
    got = []
    for i in range(len(data)):
        reader.feed(data[i : i + 1])
        got.extend(read_all(reader))
    assert got == STREAM


def test_reader_keeps_trailing_partial_message() -> None:
    reader = MessageReader()
    reader.feed(stream_bytes() + KEEPALIVE[:7])
    assert read_all(reader) == STREAM
    assert reader.buffered == 7
    reader.feed(KEEPALIVE[7:])
    assert read_all(reader) == [Keepalive()]

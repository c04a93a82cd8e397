"""NOTIFICATION, ROUTE-REFRESH (RFC 7313) and shutdown communications (RFC 8203/9003)."""

from __future__ import annotations

import pytest
from wire_helpers import message

from nexthop.bgp.constants import (
    CeaseSubcode,
    ErrorCode,
    HeaderErrorSubcode,
    MessageType,
    RouteRefreshErrorSubcode,
)
from nexthop.bgp.wire import (
    MessageError,
    Negotiated,
    Notification,
    RouteRefresh,
    cease_notification,
    decode_message,
    encode_message,
    shutdown_communication,
)

N = Negotiated()


def test_notification_round_trip() -> None:
    n = Notification(code=3, subcode=11, data=b"\x01\x02")
    data = encode_message(n, N)
    assert data[16:] == b"\x00\x17\x03\x03\x0b\x01\x02"
    assert decode_message(data, N) == n


def test_cease_with_shutdown_communication() -> None:
    n = cease_notification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, "maintenance ✓")
    assert n.data == bytes((len("maintenance ✓".encode()),)) + "maintenance ✓".encode()
    decoded = decode_message(encode_message(n, N), N)
    assert isinstance(decoded, Notification)
    assert shutdown_communication(decoded) == "maintenance ✓"


def test_shutdown_communication_is_cut_at_255_octets_on_a_character_boundary() -> None:
    n = cease_notification(CeaseSubcode.ADMINISTRATIVE_RESET, "é" * 200)  # 400 octets
    assert n.data[0] == 254
    assert shutdown_communication(n) == "é" * 127


def test_cease_without_message_or_with_other_subcode_has_no_data() -> None:
    assert cease_notification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN).data == b""
    assert cease_notification(CeaseSubcode.PEER_DE_CONFIGURED, "ignored").data == b""


@pytest.mark.parametrize(
    ("notification", "expected"),
    [
        (Notification(code=6, subcode=2, data=b"\x02hi"), "hi"),
        (Notification(code=6, subcode=4, data=b"\x02hi++"), "hi"),  # trailing octets ignored
        (Notification(code=6, subcode=2, data=b"\x00"), ""),
        (Notification(code=6, subcode=2, data=b""), None),
        (Notification(code=6, subcode=2, data=b"\x05hi"), None),  # length past the data
        (Notification(code=6, subcode=2, data=b"\x02\xff\xfe"), None),  # invalid UTF-8
        (Notification(code=6, subcode=3, data=b"\x02hi"), None),  # not shutdown/reset
        (Notification(code=3, subcode=2, data=b"\x02hi"), None),
    ],
)
def test_shutdown_communication(notification: Notification, expected: str | None) -> None:
    assert shutdown_communication(notification) == expected


@pytest.mark.parametrize("subtype", [0, 1, 2, 7])
def test_route_refresh_round_trip(subtype: int) -> None:
    rr = RouteRefresh(afi=2, safi=1, subtype=subtype)
    data = encode_message(rr, N)
    assert data[19:] == b"\x00\x02" + bytes((subtype,)) + b"\x01"
    assert decode_message(data, N) == rr


@pytest.mark.parametrize("subtype", [1, 2])
def test_borr_eorr_with_wrong_length_is_route_refresh_error_with_the_message(subtype: int) -> None:
    data = message(MessageType.ROUTE_REFRESH, b"\x00\x01" + bytes((subtype,)) + b"\x01\x00")
    with pytest.raises(MessageError) as info:
        decode_message(data, Negotiated())
    err = info.value
    assert (err.code, err.subcode) == (
        ErrorCode.ROUTE_REFRESH_MESSAGE,
        RouteRefreshErrorSubcode.INVALID_MESSAGE_LENGTH,
    )
    assert err.data == data


def test_normal_route_refresh_with_orf_entries_is_accepted() -> None:
    data = message(MessageType.ROUTE_REFRESH, b"\x00\x01\x00\x01" + b"\x01\x40\x00\x00")
    assert decode_message(data, N) == RouteRefresh(afi=1, safi=1)


def test_short_route_refresh_is_bad_message_length() -> None:
    with pytest.raises(MessageError) as info:
        decode_message(message(MessageType.ROUTE_REFRESH, b"\x00\x01\x00"), N)
    assert info.value.subcode == HeaderErrorSubcode.BAD_MESSAGE_LENGTH
    assert info.value.data == b"\x00\x16"

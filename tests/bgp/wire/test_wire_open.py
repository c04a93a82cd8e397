"""OPEN, capabilities (RFC 5492 table), RFC 9072 extended parameters, negotiate."""

from __future__ import annotations

import pytest
from wire_helpers import message

from nexthop.bgp.constants import AS_TRANS, ErrorCode, MessageType, OpenErrorSubcode
from nexthop.bgp.wire import (
    AddPath,
    AddPathMode,
    EnhancedRouteRefresh,
    ExtendedMessage,
    FourOctetAs,
    GracefulRestart,
    MessageError,
    Multiprotocol,
    Negotiated,
    Open,
    RouteRefreshCapability,
    UnknownCapability,
    build_open,
    decode_message,
    encode_message,
    negotiate,
    open_asn,
)

N = Negotiated()


def open_body(
    params: bytes, *, version: int = 4, hold: int = 90, opt_len: int | None = None
) -> bytes:
    length = len(params) if opt_len is None else opt_len
    return (
        bytes((version,))
        + (65001).to_bytes(2, "big")
        + hold.to_bytes(2, "big")
        + bytes((10, 0, 0, 1))
        + bytes((length,))
        + params
    )


def open_error(body: bytes) -> MessageError:
    with pytest.raises(MessageError) as info:
        decode_message(message(MessageType.OPEN, body), N)
    assert info.value.code == ErrorCode.OPEN_MESSAGE
    return info.value


ALL_CAPS = (
    Multiprotocol(afi=1, safi=1),
    Multiprotocol(afi=2, safi=1),
    RouteRefreshCapability(),
    RouteRefreshCapability(code=128),
    EnhancedRouteRefresh(),
    ExtendedMessage(),
    FourOctetAs(asn=4200000001),
    GracefulRestart(restart_flags=0x8, restart_time=120, families=((1, 1, 0x80),)),
    AddPath(families=((1, 1, AddPathMode.BOTH), (2, 1, AddPathMode.RECEIVE))),
    UnknownCapability(code=73, value=b"\x04host\x00"),
)


def test_every_capability_round_trips() -> None:
    msg = Open(asn=AS_TRANS, hold_time=90, bgp_id=0x0A000001, capabilities=ALL_CAPS)
    data = encode_message(msg, N)
    assert decode_message(data, N) == msg


def test_capability_value_bytes() -> None:
    msg = Open(
        asn=65001,
        hold_time=180,
        bgp_id=0x01020304,
        capabilities=(
            Multiprotocol(afi=2, safi=1),
            FourOctetAs(asn=65001),
            RouteRefreshCapability(),
        ),
    )
    body = encode_message(msg, N)[19:]
    # one Capabilities parameter: MP(2/1), 4-octet AS, route refresh
    assert (
        body.hex()
        == "04fde900b401020304" + "10" + "020e" + "010400020001" + "41040000fde9" + "0200"
    )


def test_rfc9072_extended_optional_parameters_round_trip() -> None:
    caps = tuple(UnknownCapability(code=200, value=bytes(range(60))) for _ in range(5))
    msg = Open(asn=65001, hold_time=90, bgp_id=1, capabilities=caps)
    body = encode_message(msg, N)[19:]
    assert body[9] == 255  # non-extended length octet
    assert body[10] == 255  # extended-length marker type
    assert int.from_bytes(body[11:13], "big") == len(body) - 13
    assert decode_message(encode_message(msg, N), N) == msg


def test_unsupported_version_carries_our_version() -> None:
    err = open_error(open_body(b"", version=3))
    assert err.subcode == OpenErrorSubcode.UNSUPPORTED_VERSION_NUMBER
    assert err.data == b"\x00\x04"


@pytest.mark.parametrize("hold", [1, 2])
def test_hold_time_one_or_two_is_unacceptable(hold: int) -> None:
    assert open_error(open_body(b"", hold=hold)).subcode == OpenErrorSubcode.UNACCEPTABLE_HOLD_TIME


def test_unknown_optional_parameter_is_unsupported() -> None:
    err = open_error(open_body(b"\x01\x02\x00\x00"))  # type 1 (old authentication)
    assert err.subcode == OpenErrorSubcode.UNSUPPORTED_OPTIONAL_PARAMETER


@pytest.mark.parametrize(
    ("params", "opt_len"),
    [
        (b"\x02\x06\x01\x04\x00\x01\x00\x01", 9),  # length says more than present
        (b"\x02\x09\x01\x04\x00\x01\x00\x01", None),  # parameter overruns
        (b"\x02\x03\x01\x04\x00", None),  # capability overruns its parameter
        (b"\x02\x03\x01\x01\x00", None),  # multiprotocol with length 1
        (b"\x02\x01\x41", None),  # truncated capability header
        (b"\x02", None),  # truncated parameter header
        (b"\x02\x03\x41\x01\x00", None),  # 4-octet AS with length 1
        (b"\x02\x03\x40\x01\x00", None),  # graceful restart shorter than 2
        (b"\x02\x05\x45\x03\x00\x01\x01", None),  # add-path not a multiple of 4
        (b"\x02\x03\x02\x01\x00", None),  # route refresh with a value
    ],
)
def test_malformed_parameters_are_unspecific(params: bytes, opt_len: int | None) -> None:
    err = open_error(open_body(params, opt_len=opt_len))
    assert err.subcode == OpenErrorSubcode.UNSPECIFIC
    assert err.data == b""


def test_truncated_extended_parameter_length_is_unspecific() -> None:
    assert open_error(open_body(b"\xff\x00", opt_len=255)).subcode == OpenErrorSubcode.UNSPECIFIC


def test_build_open_uses_as_trans_and_four_octet_capability() -> None:
    msg = build_open(asn=4200000001, bgp_id=7, hold_time=90, families=[(2, 1), (1, 1)])
    assert msg.asn == AS_TRANS
    assert open_asn(msg) == 4200000001
    assert msg.capabilities[:2] == (Multiprotocol(afi=1, safi=1), Multiprotocol(afi=2, safi=1))
    plain = build_open(
        asn=65001,
        bgp_id=7,
        hold_time=90,
        families=[(1, 1)],
        four_octet=False,
        route_refresh=False,
        enhanced_route_refresh=False,
        extended_message=False,
    )
    assert plain.asn == 65001
    assert open_asn(plain) == 65001
    assert plain.capabilities == (Multiprotocol(afi=1, safi=1),)


def test_negotiate_intersects_capabilities() -> None:
    gr = GracefulRestart(restart_flags=0, restart_time=120)
    local = build_open(
        asn=65000,
        bgp_id=1,
        hold_time=90,
        families=[(1, 1), (2, 1)],
        add_path_receive=[(1, 1), (2, 1)],
        graceful_restart=gr,
    )
    remote = Open(
        asn=AS_TRANS,
        hold_time=30,
        bgp_id=0x0A000002,
        capabilities=(
            Multiprotocol(afi=1, safi=1),
            FourOctetAs(asn=4200000000),
            RouteRefreshCapability(code=128),
            AddPath(families=((1, 1, AddPathMode.BOTH),)),
            gr,
        ),
    )
    n = negotiate(local, remote)
    assert n.asn4
    assert n.families == frozenset({(1, 1)})
    assert n.add_path_receive == frozenset({(1, 1)})
    assert n.add_path_send == frozenset()  # we never advertised Send
    assert n.route_refresh
    assert not n.enhanced_route_refresh
    assert not n.extended_message
    assert n.graceful_restart
    assert n.peer_graceful_restart == gr
    assert (n.hold_time, n.keepalive_time) == (30, 10)
    assert (n.local_asn, n.peer_asn, n.peer_bgp_id) == (65000, 4200000000, 0x0A000002)


def test_negotiate_defaults_without_capabilities() -> None:
    local = build_open(asn=65000, bgp_id=1, hold_time=0, families=[(1, 1), (2, 1)])
    remote = Open(asn=65001, hold_time=180, bgp_id=2)
    n = negotiate(local, remote)
    assert n.families == frozenset({(1, 1)})  # RFC 4760: no MP capability = IPv4 unicast
    assert not n.asn4
    assert (n.hold_time, n.keepalive_time) == (0, 0)
    assert n.peer_asn == 65001
    assert n.peer_graceful_restart is None


def test_capability_value_over_255_octets_cannot_be_encoded() -> None:
    msg = Open(
        asn=1, hold_time=90, bgp_id=1, capabilities=(UnknownCapability(code=200, value=bytes(256)),)
    )
    with pytest.raises(ValueError, match="too long"):
        encode_message(msg, N)

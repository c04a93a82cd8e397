"""Golden tests: BGP messages from tcpdump's test captures, checked against the
values in tcpdump's expected decodes (``.out``), then re-encoded."""

from __future__ import annotations

import contextlib

import pytest
from wire_helpers import ip

from nexthop.bgp.constants import (
    AS_TRANS,
    CeaseSubcode,
    ErrorCode,
    HeaderErrorSubcode,
    UpdateErrorSubcode,
)
from nexthop.bgp.wire import (
    AddPath,
    AsPathSegment,
    EnhancedRouteRefresh,
    ExtendedMessage,
    FourOctetAs,
    GracefulRestart,
    Message,
    MessageError,
    MessageReader,
    Multiprotocol,
    Negotiated,
    Notification,
    Open,
    RouteRefresh,
    RouteRefreshCapability,
    UnknownCapability,
    Update,
    decode_message,
    encode_message,
    negotiate,
    shutdown_communication,
)
from nexthop.bgp.wire.mp import SUPPORTED_FAMILIES
from nexthop.net.prefix import parse_prefix
from vectors_util import VECTORS, bgp_messages, bgp_streams

TCPDUMP = VECTORS / "tcpdump"
Stream = tuple[str, int, str, int]


def prefixes(*texts: str) -> tuple[object, ...]:
    return tuple(parse_prefix(t) for t in texts)


def raw_by_stream(name: str) -> dict[Stream, list[bytes]]:
    return {key: bgp_messages(data) for key, data in bgp_streams(TCPDUMP / name).items()}


def decode_capture(name: str, default: Negotiated) -> list[tuple[Stream, bytes, Message]]:
    """Decode every message, negotiating per TCP connection from its two OPENs."""
    streams = raw_by_stream(name)
    opens: dict[Stream, Open] = {}
    for key, raws in streams.items():
        for raw in raws:
            msg = decode_message(raw, default) if raw[18] == 1 else None
            if isinstance(msg, Open):
                opens[key] = msg
    out = []
    for key, raws in streams.items():
        reverse = (key[2], key[3], key[0], key[1])
        n = default
        if key in opens and reverse in opens:
            n = negotiate(opens[reverse], opens[key])  # we are the receiver of ``key``
        out.extend((key, raw, decode_message(raw, n)) for raw in raws)
    return out


def updates(decoded: list[tuple[Stream, bytes, Message]]) -> list[Update]:
    return [m for _k, _r, m in decoded if isinstance(m, Update)]


def assert_reencodes(raw: bytes, msg: Message, n: Negotiated) -> None:
    assert decode_message(encode_message(msg, n), n) == msg


def test_4byte_asn_opens_and_as4_path_merge() -> None:
    decoded = decode_capture("bgp-4byte-asn.pcap", Negotiated())
    opens = [m for _k, _r, m in decoded if isinstance(m, Open)]
    four = opens[0]
    assert (four.asn, four.hold_time, four.bgp_id) == (AS_TRANS, 180, ip("0.0.1.1"))
    assert four.capabilities == (
        Multiprotocol(afi=1, safi=1),
        RouteRefreshCapability(),
        GracefulRestart(restart_flags=0xC, restart_time=300),
        FourOctetAs(asn=2764334674),
        AddPath(families=((1, 1, 1),)),
    )
    assert (opens[1].asn, opens[1].bgp_id) == (200, ip("0.0.2.1"))
    full = (2764334674, 200, 1, 222222, 333333, 4294967290)
    paths = {
        key[0]: u.attributes.as_path
        for key, _r, u in decoded
        if isinstance(u, Update)
        and u.attributes
        and u.nlri
        and u.attributes.as_path[0].asns[-1] != 1
    }
    # From AS 200 (2-octet only): AS_PATH 200 1 23456 23456 23456 + AS4_PATH 1 222222 ...
    assert paths["1.0.2.1"] == (AsPathSegment(2, full[1:]),)
    # Towards AS 300 (4-octet AS_PATH) and AS 400 (AS_TRANS + AS4_PATH) the same path results.
    assert paths["1.0.3.1"] == paths["1.0.4.1"] == (AsPathSegment(2, full),)
    [from_200] = [
        u for k, _r, u in decoded if k[0] == "1.0.2.1" and isinstance(u, Update) and u.nlri
    ]
    assert from_200.nlri == prefixes(
        "4.4.4.4/32", "5.5.5.5/32", "1.1.1.1/32", "2.2.2.2/32", "3.3.3.3/32"
    )
    assert from_200.attributes is not None
    assert (from_200.attributes.origin, from_200.attributes.next_hop) == (2, ip("1.0.2.1"))
    for _k, raw, msg in decoded:
        assert_reencodes(raw, msg, Negotiated())
    withdrawals = [u for u in updates(decoded) if u.withdrawn]
    assert withdrawals
    assert set(withdrawals[0].withdrawn) == set(
        prefixes("1.1.1.1/32", "2.2.2.2/32", "3.3.3.3/32", "4.4.4.4/32", "5.5.5.5/32")
    )


def test_large_community() -> None:
    n = Negotiated(asn4=True)
    decoded = decode_capture("bgp-large-community.pcap", n)
    got = [(u.attributes.large_communities, u.nlri) for u in updates(decoded) if u.attributes]
    assert got == [
        (((65535, 1, 1), (4294967295, 4294967295, 4294967295)), prefixes("203.0.113.16/32")),
        (((65536, 1, 1), (65536, 1, 2)), prefixes("203.0.113.12/32")),
        (((65536, 1, 1),), prefixes("203.0.113.11/32")),
        (((65536, 0, 1), (65536, 1, 0)), prefixes("203.0.113.15/32")),
        (((65536, 1, 1), (65536, 1, 2), (65536, 1, 3)), prefixes("203.0.113.13/32")),
    ]
    for _key, raw, msg in decoded:
        assert isinstance(msg, Update)
        assert msg.attributes is not None
        assert msg.attributes.as_path == (AsPathSegment(2, (65536,)),)
        assert msg.attributes.next_hop == ip("192.0.2.2")
        assert encode_message(msg, n) == raw


def test_mp_bgp_link_local_next_hop() -> None:
    n = Negotiated(families=SUPPORTED_FAMILIES)  # the capture's session carried IPv6
    [(_key, raw, msg)] = decode_capture("mpbgp-linklocal-nexthop.pcap", n)
    assert isinstance(msg, Update)
    assert msg.attributes is not None
    assert (msg.attributes.origin, msg.attributes.next_hop) == (2, 0)
    assert msg.attributes.as_path == (AsPathSegment(2, (1,)),)
    assert msg.mp_reach is not None
    assert msg.mp_reach.next_hops == (ip("dead:beef::1"), ip("fe80::1ff:fe01:0"))
    assert msg.mp_reach.nlri == prefixes("4:5::/64")
    assert encode_message(msg, n) == raw


def test_addpath_capture_with_a_mis_flagged_mp_reach_resets_the_session() -> None:
    [raw] = [r for rs in raw_by_stream("bgp-addpath.pcap").values() for r in rs]
    fams = frozenset({(1, 1), (2, 1)})
    n = Negotiated(add_path_receive=fams)
    with pytest.raises(MessageError) as info:
        decode_message(raw, n)
    # NEXT_HOP of length 0 alone would be treat-as-withdraw, but MP_REACH_NLRI is
    # sent with flags [T] (0x40) instead of Optional: RFC 7606 §3(c) + §7.11.
    assert (info.value.code, info.value.subcode) == (
        ErrorCode.UPDATE_MESSAGE,
        UpdateErrorSubcode.ATTRIBUTE_FLAGS_ERROR,
    )
    assert info.value.data[:2] == b"\x40\x0e"


def test_addpath_path_ids_decode_when_the_flags_are_right() -> None:
    [raw] = [r for rs in raw_by_stream("bgp-addpath.pcap").values() for r in rs]
    fixed = bytearray(raw)
    # Repair the capture's deliberate errors the way tcpdump reads it: mark the
    # MP attributes Optional and keep only the first MP_REACH/MP_UNREACH pair.
    i = 23 + int.from_bytes(raw[19:21], "big")
    attrs_end = i + int.from_bytes(raw[i - 2 : i], "big")
    pieces, j = [], i
    while j < attrs_end:
        flags, code, length = fixed[j], fixed[j + 1], fixed[j + 2]
        piece = (
            bytes((0x80 if code in (14, 15) else flags, code, length)) + raw[j + 3 : j + 3 + length]
        )
        if code != 3:  # NEXT_HOP of length 0 would be treat-as-withdraw
            pieces.append(piece)
        j += 3 + length
    pieces = [p for p in pieces if p[1] not in (14, 15)] + [p for p in pieces if p[1] in (14, 15)][
        :2
    ]
    attributes = b"".join(pieces) + bytes((0x40, 3, 4, 1, 2, 3, 4))
    body = raw[19 : i - 2] + len(attributes).to_bytes(2, "big") + attributes + raw[attrs_end:]
    data = raw[:16] + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body
    n = Negotiated(add_path_receive=frozenset({(1, 1), (2, 1)}))
    msg = decode_message(data, n)
    assert isinstance(msg, Update)
    assert (msg.withdrawn, msg.withdrawn_path_ids) == (
        prefixes("8.2.0.0/24", "8.2.1.0/24"),
        (20, 21),
    )
    assert (msg.nlri, msg.nlri_path_ids) == (prefixes("6.2.0.0/24", "6.2.1.0/24"), (10, 11))
    assert msg.mp_reach is not None
    assert msg.mp_reach.next_hops == (ip("1.2.3.4"),)
    assert (msg.mp_reach.nlri, msg.mp_reach.path_ids) == (
        prefixes("120.4.0.0/24", "120.4.1.0/24"),
        (40, 41),
    )
    assert msg.mp_unreach is not None
    assert (msg.mp_unreach.withdrawn, msg.mp_unreach.path_ids) == (
        prefixes("32.45.0.0/24", "32.45.1.0/24"),
        (700, 701),
    )


def notifications(name: str) -> list[tuple[bytes, Notification]]:
    out = []
    for _key, raw, msg in decode_capture(name, Negotiated()):
        assert isinstance(msg, Notification)
        assert encode_message(msg, Negotiated()) == raw
        out.append((raw, msg))
    return out


def test_shutdown_communication() -> None:
    text = "This is a test of the shutdown communication system."
    got = [
        (n.code, n.subcode, shutdown_communication(n))
        for _r, n in notifications("bgp-shutdown-communication.pcapng")
    ]
    assert got == [
        (ErrorCode.CEASE, CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, text),
        (ErrorCode.CEASE, CeaseSubcode.ADMINISTRATIVE_RESET, text),
    ]


def test_extended_shutdown_communication_over_128_octets() -> None:
    [(_raw, n)] = notifications("bgp-extended-shutdown-msg.pcapng")
    text = shutdown_communication(n)
    assert text is not None
    assert len(text) == 210
    part = "[TICKET-1-1438367390] software upgrade; Expected downtime for 2 hours;"
    assert text == part * 3


def test_shutdown_message_variations() -> None:
    got = [shutdown_communication(n) for _r, n in notifications("bgp-shutdown-msg-variations.pcap")]
    assert got == ["0123456789", "", None]


@pytest.mark.parametrize(
    ("name", "code", "subcode", "data"),
    [
        ("bgp_notification_rr_msg_error.pcap", ErrorCode.ROUTE_REFRESH_MESSAGE, 1, None),
        ("bgp-bfd-cease.pcap", ErrorCode.CEASE, CeaseSubcode.BFD_DOWN, b""),
        ("bgp-malformed-hard-reset.pcap", ErrorCode.CEASE, CeaseSubcode.HARD_RESET, b""),
    ],
)
def test_notification_codes(name: str, code: int, subcode: int, data: bytes | None) -> None:
    [(_raw, n)] = notifications(name)
    assert (n.code, n.subcode) == (code, subcode)
    if data is not None:
        assert n.data == data


def test_cease_hard_reset_carries_the_inner_cease() -> None:
    decoded = decode_capture("bgp-cease-hard-reset.pcap", Negotiated())
    [n] = [m for _k, _r, m in decoded if isinstance(m, Notification)]
    assert (n.code, n.subcode, n.data) == (ErrorCode.CEASE, CeaseSubcode.HARD_RESET, b"\x06\x03")
    opens = [m for _k, _r, m in decoded if isinstance(m, Open)]
    assert opens[0].capabilities[0] == GracefulRestart(
        restart_flags=0x4, restart_time=60, families=((1, 1, 0x80),)
    )
    assert AddPath(families=((1, 1, 1), (2, 1, 1))) in opens[1].capabilities


def test_extended_message_open_with_one_capability_per_parameter() -> None:
    [(_key, raw, msg)] = decode_capture("bgp-extended-msg.pcapng", Negotiated())
    assert isinstance(msg, Open)
    assert (msg.asn, msg.hold_time, msg.bgp_id) == (65001, 180, ip("192.168.10.68"))
    assert msg.capabilities[:7] == (
        Multiprotocol(afi=1, safi=1),
        RouteRefreshCapability(code=128),
        RouteRefreshCapability(code=2),
        EnhancedRouteRefresh(),
        FourOctetAs(asn=65001),
        ExtendedMessage(),
        AddPath(families=((1, 1, 1),)),
    )
    assert isinstance(msg.capabilities[7], UnknownCapability)
    assert msg.capabilities[7].code == 73
    assert len(msg.capabilities[7].value) == 16
    assert msg.capabilities[8] == GracefulRestart(restart_flags=0, restart_time=120)
    n = negotiate(msg, msg)
    assert n.extended_message
    assert n.max_message_length == 65535
    assert_reencodes(raw, msg, Negotiated())


def test_extended_optional_parameters_length() -> None:
    [(_key, raw, msg)] = decode_capture(
        "bgp-extended-optional-parameters-length.pcapng", Negotiated()
    )
    assert raw[28:32] == b"\xff\xff\x00\x6c"  # RFC 9072: 255, 255, then 108
    assert isinstance(msg, Open)
    assert (msg.asn, msg.bgp_id) == (174, ip("6.6.6.6"))
    assert msg.capabilities[:2] == (Multiprotocol(afi=1, safi=1), Multiprotocol(afi=2, safi=1))
    assert AddPath(families=((1, 1, 1), (2, 1, 1))) in msg.capabilities
    assert [c.code for c in msg.capabilities if isinstance(c, UnknownCapability)] == [73, 71]
    assert_reencodes(raw, msg, Negotiated())


def test_enhanced_route_refresh_subtypes() -> None:
    n = Negotiated(asn4=True)
    decoded = decode_capture("bgp-enhanced-route-refresh-subtype.pcapng", n)
    refreshes = [m for _k, _r, m in decoded if isinstance(m, RouteRefresh)]
    assert refreshes == [
        RouteRefresh(afi=1, safi=1, subtype=0),
        RouteRefresh(afi=1, safi=1, subtype=1),
        RouteRefresh(afi=1, safi=1, subtype=2),
    ]
    first = updates(decoded)[0]
    assert first.attributes is not None
    assert first.attributes.as_path == (AsPathSegment(2, (174, 65001)),)
    assert first.attributes.next_hop == ip("192.168.10.123")
    assert first.nlri[0] == parse_prefix("10.0.0.0/24")
    last = updates(decoded)[-1]
    assert last.nlri == prefixes("192.168.100.1/32", "192.168.100.2/32")
    assert last.attributes is not None
    assert last.attributes.med == 0
    for _k, raw, msg in decoded:
        assert_reencodes(raw, msg, n)
        if isinstance(msg, RouteRefresh):
            assert encode_message(msg, n) == raw


def test_short_update_is_bad_message_length() -> None:
    raws = [r for rs in raw_by_stream("bgp-infinite-loop.pcap").values() for r in rs]
    assert raws
    for raw in raws:
        with pytest.raises(MessageError) as info:
            decode_message(raw, Negotiated())
        assert (info.value.code, info.value.subcode) == (
            ErrorCode.MESSAGE_HEADER,
            HeaderErrorSubcode.BAD_MESSAGE_LENGTH,
        )
        assert info.value.data == raw[16:18]


ALL_CAPTURES = sorted(p.name for p in TCPDUMP.glob("*.pcap*"))


@pytest.mark.parametrize("name", ALL_CAPTURES)
@pytest.mark.parametrize("asn4", [False, True])
def test_every_capture_decodes_or_raises_message_error(name: str, asn4: bool) -> None:
    """Malformed captures (the ``*-oobr`` family, bgp-ub, ...) may only raise
    MessageError; whatever decodes cleanly re-encodes to an equal message."""
    n = Negotiated(asn4=asn4, extended_message=True)
    for data in bgp_streams(TCPDUMP / name).values():
        reader = MessageReader()
        reader.feed(data[data.find(b"\xff" * 16) :] if b"\xff" * 16 in data else data)
        try:
            while (msg := reader.next_message(n)) is not None:
                if isinstance(msg, Update) and (msg.treat_as_withdraw or msg.discarded):
                    continue
                assert decode_message(encode_message(msg, n), n) == msg
        except MessageError:
            pass
        for raw in bgp_messages(data):
            with contextlib.suppress(MessageError):
                decode_message(raw, n)


def test_malformed_captures_are_rejected() -> None:
    """bgp-as-path-oobr and bgp_mp_reach_nlri-oobr carry invalid MP attributes."""
    n = Negotiated()
    for name in ("bgp_mp_reach_nlri-oobr.pcap", "bgp_pmsi_tunnel-oobr.pcap"):
        for raws in raw_by_stream(name).values():
            for raw in raws:
                with pytest.raises(MessageError):
                    decode_message(raw, n)

"""RFC 7606 outcomes and RFC 4271 §6.3 NOTIFICATION codes for malformed UPDATEs."""

from __future__ import annotations

import pytest
from wire_helpers import attr, message, update, update_body

from nexthop.bgp.constants import ErrorCode, MessageType, UpdateErrorSubcode
from nexthop.bgp.wire import (
    AsPathSegment,
    ErrorHandling,
    MessageError,
    Negotiated,
    Update,
    decode_message,
)
from nexthop.bgp.wire.mp import SUPPORTED_FAMILIES

N2 = Negotiated(families=SUPPORTED_FAMILIES)  # MP errors below are for negotiated families
ORIGIN = attr(0x40, 1, b"\x00")
AS_PATH = attr(0x40, 2, b"\x02\x01\xfd\xe9")
NEXT_HOP = attr(0x40, 3, bytes((192, 0, 2, 1)))
MANDATORY = ORIGIN + AS_PATH + NEXT_HOP
NLRI = b"\x18\xc6\x33\x64"


def decoded(data: bytes, n: Negotiated = N2) -> Update:
    u = decode_message(data, n)
    assert isinstance(u, Update)
    return u


TREAT_AS_WITHDRAW = {
    "origin length": attr(0x40, 1, b"\x00\x00") + AS_PATH + NEXT_HOP,
    "origin value": attr(0x40, 1, b"\x03") + AS_PATH + NEXT_HOP,
    "origin flags optional": attr(0xC0, 1, b"\x00") + AS_PATH + NEXT_HOP,
    "as_path overrun": ORIGIN + attr(0x40, 2, b"\x02\x02\xfd\xe9") + NEXT_HOP,
    "as_path underrun": ORIGIN + attr(0x40, 2, b"\x02\x01\xfd\xe9\x02") + NEXT_HOP,
    "as_path zero segment": ORIGIN + attr(0x40, 2, b"\x02\x00") + NEXT_HOP,
    "as_path segment type": ORIGIN + attr(0x40, 2, b"\x05\x01\xfd\xe9") + NEXT_HOP,
    "next_hop length": ORIGIN + AS_PATH + attr(0x40, 3, b"\x01\x02\x03"),
    "med length": MANDATORY + attr(0x80, 4, b"\x00\x01"),
    "local_pref length": MANDATORY + attr(0x40, 5, b"\x00\x00\x00\x00\x01"),
    "communities length": MANDATORY + attr(0xC0, 8, b"\x00\x01\x02"),
    "communities empty": MANDATORY + attr(0xC0, 8, b""),
    "extended communities length": MANDATORY + attr(0xC0, 16, bytes(7)),
    "large communities length": MANDATORY + attr(0xC0, 32, bytes(11)),
    "originator_id length": MANDATORY + attr(0x80, 9, bytes(3)),
    "cluster_list empty": MANDATORY + attr(0x80, 10, b""),
    "missing origin": AS_PATH + NEXT_HOP,
    "missing as_path": ORIGIN + NEXT_HOP,
    "missing next_hop": ORIGIN + AS_PATH,
    "attribute overruns the list": MANDATORY + b"\x80\x04\x04\x00\x00",
    "truncated attribute header": MANDATORY + b"\x80\x04",
    "truncated extended header": MANDATORY + b"\x90\x04\x00",
}


@pytest.mark.parametrize("attributes", TREAT_AS_WITHDRAW.values(), ids=TREAT_AS_WITHDRAW.keys())
def test_treat_as_withdraw(attributes: bytes) -> None:
    u = decoded(update(attributes, NLRI))
    assert u.treat_as_withdraw
    assert u.discarded
    assert all("treat-as-withdraw" in reason for reason in u.discarded)
    assert u.nlri  # still decoded, so the session can withdraw them


def test_missing_attributes_do_not_matter_without_nlri() -> None:
    u = decoded(update(attr(0x80, 4, bytes(4)), withdrawn=NLRI))
    assert not u.treat_as_withdraw
    assert u.withdrawn


def test_mp_reach_needs_origin_and_as_path_but_not_next_hop() -> None:
    reach = attr(0x80, 14, bytes.fromhex("000101" + "04c0000201" + "00" + "18c63364"))
    assert not decoded(update(ORIGIN + AS_PATH + reach)).treat_as_withdraw
    u = decoded(update(ORIGIN + reach))
    assert u.treat_as_withdraw
    assert u.discarded == ("missing AS_PATH (treat-as-withdraw)",)


DISCARD = {
    "atomic_aggregate length": (attr(0x40, 6, b"\x00"), "atomic_aggregate", False),
    "aggregator length": (attr(0xC0, 7, bytes(5)), "aggregator", None),
    "as4_aggregator length": (attr(0xC0, 18, bytes(7)), "aggregator", None),
    "as4_path malformed": (
        attr(0xC0, 17, b"\x02\x02\x00\x00"),
        "as_path",
        (AsPathSegment(2, (65001,)),),
    ),
    "as4_path confederation": (
        attr(0xC0, 17, b"\x03\x01\x00\x00\x00\x01"),
        "as_path",
        (AsPathSegment(2, (65001,)),),
    ),
    "duplicate med keeps the first": (
        attr(0x80, 4, b"\x00\x00\x00\x01") + attr(0x80, 4, b"\x00\x00\x00\x02"),
        "med",
        1,
    ),
}


@pytest.mark.parametrize(("extra", "field", "expected"), DISCARD.values(), ids=DISCARD.keys())
def test_attribute_discard(extra: bytes, field: str, expected: object) -> None:
    u = decoded(update(MANDATORY + extra, NLRI))
    assert not u.treat_as_withdraw
    assert len(u.discarded) == 1
    assert "attribute" in u.discarded[0]
    assert u.attributes is not None
    assert getattr(u.attributes, field) == expected


def test_local_pref_from_an_external_peer_is_discarded() -> None:
    lp = attr(0x40, 5, b"\x00\x00\x00\x64")
    ebgp = Negotiated(local_asn=65000, peer_asn=65001)
    u = decoded(update(MANDATORY + lp, NLRI), ebgp)
    assert u.attributes is not None
    assert u.attributes.local_pref is None
    assert u.discarded == ("LOCAL_PREF: LOCAL_PREF from an external peer (attribute-discard)",)
    ibgp = Negotiated(local_asn=65000, peer_asn=65000)
    u = decoded(update(MANDATORY + lp, NLRI), ibgp)
    assert u.attributes is not None
    assert u.attributes.local_pref == 100


def test_mp_reach_of_an_unsupported_family_is_discarded() -> None:
    vpn = attr(0x80, 14, bytes.fromhex("000180" + "0c" + "00" * 12 + "00"))
    u = decoded(update(MANDATORY + vpn, NLRI))
    assert u.mp_reach is None
    assert not u.treat_as_withdraw
    assert u.discarded == (
        "MP_REACH_NLRI: MP_REACH_NLRI for unsupported family afi=1 safi=128 (attribute-discard)",
    )


def reset(data: bytes, subcode: int, payload: bytes | None = b"") -> MessageError:
    with pytest.raises(MessageError) as info:
        decode_message(data, N2)
    err = info.value
    assert (err.code, err.subcode) == (ErrorCode.UPDATE_MESSAGE, subcode)
    assert err.handling is ErrorHandling.SESSION_RESET
    if payload is not None:
        assert err.data == payload
    return err


MP_V6_NH = "0002011020010db8000000000000000000000001"
SESSION_RESET = {
    "withdrawn length overruns": (
        message(MessageType.UPDATE, b"\x00\x05\x00\x00"),
        UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST,
        b"",
    ),
    "attribute length overruns": (
        message(MessageType.UPDATE, b"\x00\x00\x00\x05\x40"),
        UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST,
        b"",
    ),
    "nlri prefix too long": (
        update(MANDATORY, b"\x21" + bytes(5)),
        UpdateErrorSubcode.INVALID_NETWORK_FIELD,
        b"",
    ),
    "nlri truncated": (
        update(MANDATORY, b"\x18\xc6\x33"),
        UpdateErrorSubcode.INVALID_NETWORK_FIELD,
        b"",
    ),
    "withdrawn truncated": (
        update(withdrawn=b"\x20\x0a"),
        UpdateErrorSubcode.INVALID_NETWORK_FIELD,
        b"",
    ),
    "unrecognized well-known": (
        update(MANDATORY + attr(0x40, 99, b"ab"), NLRI),
        UpdateErrorSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
        attr(0x40, 99, b"ab"),
    ),
    "mp_reach next hop length": (
        update(ORIGIN + AS_PATH + attr(0x80, 14, bytes.fromhex("00020103" + "010203" + "00"))),
        UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR,
        attr(0x80, 14, bytes.fromhex("00020103" + "010203" + "00")),
    ),
    "mp_reach nlri prefix too long": (
        update(
            ORIGIN + AS_PATH + attr(0x80, 14, bytes.fromhex(MP_V6_NH + "00" + "81" + "00" * 17))
        ),
        UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR,
        attr(0x80, 14, bytes.fromhex(MP_V6_NH + "00" + "81" + "00" * 17)),
    ),
    "mp_reach truncated": (
        update(ORIGIN + AS_PATH + attr(0x80, 14, b"\x00\x02")),
        UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR,
        attr(0x80, 14, b"\x00\x02"),
    ),
    "mp_reach without next hop length": (
        update(ORIGIN + AS_PATH + attr(0x80, 14, b"\x00\x02\x01")),
        UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR,
        attr(0x80, 14, b"\x00\x02\x01"),
    ),
    "mp_reach next hop overruns": (
        update(ORIGIN + AS_PATH + attr(0x80, 14, bytes.fromhex("00020110" + "00" * 4))),
        UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR,
        None,
    ),
    "mp_unreach nlri truncated": (
        update(attr(0x80, 15, bytes.fromhex("000201" + "40" + "2001"))),
        UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR,
        attr(0x80, 15, bytes.fromhex("000201" + "40" + "2001")),
    ),
    "mp_reach wrong flags": (
        update(ORIGIN + AS_PATH + attr(0x40, 14, bytes.fromhex(MP_V6_NH + "00"))),
        UpdateErrorSubcode.ATTRIBUTE_FLAGS_ERROR,
        attr(0x40, 14, bytes.fromhex(MP_V6_NH + "00")),
    ),
    "mp_reach overruns the list": (
        update(ORIGIN + AS_PATH + b"\x80\x0e\x30\x00\x02\x01"),
        UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR,
        b"\x80\x0e\x30\x00\x02\x01",
    ),
    "duplicate mp_unreach": (
        update(attr(0x80, 15, b"\x00\x02\x01") + attr(0x80, 15, b"\x00\x02\x01")),
        UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST,
        b"",
    ),
}


@pytest.mark.parametrize(
    ("data", "subcode", "payload"), SESSION_RESET.values(), ids=SESSION_RESET.keys()
)
def test_session_reset(data: bytes, subcode: int, payload: bytes | None) -> None:
    reset(data, subcode, payload)


def test_add_path_nlri_truncated_in_path_id_is_invalid_network_field() -> None:
    n = Negotiated(add_path_receive=frozenset({(1, 1)}))
    with pytest.raises(MessageError) as info:
        decode_message(message(MessageType.UPDATE, update_body(MANDATORY, b"\x00\x00\x00")), n)
    assert info.value.subcode == UpdateErrorSubcode.INVALID_NETWORK_FIELD


def test_confederation_segments_from_an_external_peer_are_treat_as_withdraw() -> None:
    confed = attr(0x40, 2, b"\x03\x01\x00\x01\x02\x01\xfd\xe9")
    data = update(ORIGIN + confed + NEXT_HOP, NLRI)
    ebgp = decoded(data, Negotiated(local_asn=65000, peer_asn=65001))
    assert ebgp.treat_as_withdraw
    assert ebgp.discarded == (
        "AS_PATH: AS_PATH from an external peer carries confederation segments (treat-as-withdraw)",
    )
    assert not decoded(data, Negotiated(local_asn=65000, peer_asn=65000)).treat_as_withdraw

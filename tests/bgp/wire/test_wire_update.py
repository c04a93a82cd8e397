"""UPDATE codec: attribute table, RFC 6793 AS4 handling, MP-BGP, ADD-PATH, EoR, interning."""

from __future__ import annotations

import pytest
from wire_helpers import attr, ip, read_all, update

from nexthop.bgp.constants import AS_TRANS, AsPathSegmentType
from nexthop.bgp.wire import (
    AsPathSegment,
    LocalProtocolError,
    MessageReader,
    MpReach,
    MpUnreach,
    Negotiated,
    PathAttributes,
    RawAttribute,
    Update,
    decode_message,
    encode_message,
    end_of_rib,
    is_end_of_rib,
)
from nexthop.bgp.wire.mp import SUPPORTED_FAMILIES
from nexthop.net.prefix import parse_prefix

SEQ, SET = AsPathSegmentType.AS_SEQUENCE, AsPathSegmentType.AS_SET
CONFED_SEQ = AsPathSegmentType.AS_CONFED_SEQUENCE
# Every family negotiated: these sessions carry IPv6 too (RFC 4760 §8).
N2 = Negotiated(families=SUPPORTED_FAMILIES)
N4 = Negotiated(asn4=True, families=SUPPORTED_FAMILIES)

ORIGIN = attr(0x40, 1, b"\x00")
NEXT_HOP = attr(0x40, 3, bytes((192, 0, 2, 1)))
NLRI = b"\x18\xc6\x33\x64"  # 198.51.100.0/24


FULL = PathAttributes(
    origin=2,
    as_path=(AsPathSegment(SEQ, (65001, 4200000000, 65002)), AsPathSegment(SET, (7, 8))),
    next_hop=ip("192.0.2.1"),
    med=50,
    local_pref=200,
    atomic_aggregate=True,
    aggregator=(4200000001, ip("192.0.2.9")),
    communities=(0xFDE90001, 0xFFFFFF01),
    extended_communities=(bytes.fromhex("0002fde900000001"),),
    large_communities=((4200000000, 1, 2),),
    originator_id=ip("10.0.0.9"),
    cluster_list=(ip("10.0.0.1"), ip("10.0.0.2")),
    unknown=(RawAttribute(flags=0xE0, type=99, value=b"\x01\x02"),),
)


def test_all_attributes_round_trip_on_a_four_octet_session() -> None:
    u = Update(attributes=FULL, nlri=(parse_prefix("198.51.100.0/24"),))
    data = encode_message(u, N4)
    assert decode_message(data, N4) == u


def test_two_octet_session_gets_as_trans_and_as4_attributes_and_merges_back() -> None:
    u = Update(attributes=FULL, nlri=(parse_prefix("198.51.100.0/24"),))
    data = encode_message(u, N2)
    # AS_PATH carries AS_TRANS in place of the 4-octet numbers ...
    assert attr(0x40, 2, bytes.fromhex("0203fde95ba0fdea" + "010200070008")) in data
    # ... AGGREGATOR too, and AS4_PATH / AS4_AGGREGATOR carry the real values.
    assert attr(0xC0, 7, bytes.fromhex("5ba0c0000209")) in data
    assert attr(0xC0, 18, bytes.fromhex("fa56ea01c0000209")) in data
    assert (
        attr(0xC0, 17, bytes.fromhex("02030000fde9fa56ea000000fdea" + "01020000000700000008"))
        in data
    )
    assert decode_message(data, N2) == u


def as_path_2(*asns: int) -> bytes:
    if not asns:
        return attr(0x40, 2, b"")
    return attr(0x40, 2, bytes((2, len(asns))) + b"".join(a.to_bytes(2, "big") for a in asns))


def as4_path(*asns: int) -> bytes:
    return attr(0xC0, 17, bytes((2, len(asns))) + b"".join(a.to_bytes(4, "big") for a in asns))


def path_of(data: bytes, n: Negotiated = N2) -> tuple[AsPathSegment, ...]:
    u = decode_message(data, n)
    assert isinstance(u, Update)
    assert u.attributes is not None
    return u.attributes.as_path


def test_as4_path_merge_keeps_leading_two_octet_numbers() -> None:
    data = update(
        ORIGIN + as_path_2(200, 1, AS_TRANS, AS_TRANS) + NEXT_HOP + as4_path(1, 222222, 333333),
        NLRI,
    )
    assert path_of(data) == (AsPathSegment(SEQ, (200, 1, 222222, 333333)),)


def test_as4_path_longer_than_as_path_is_ignored() -> None:
    data = update(ORIGIN + as_path_2(200, AS_TRANS) + NEXT_HOP + as4_path(1, 2, 3), NLRI)
    assert path_of(data) == (AsPathSegment(SEQ, (200, AS_TRANS)),)


def test_as4_attributes_from_a_four_octet_peer_are_ignored() -> None:
    as_path_4 = attr(0x40, 2, b"\x02\x01" + (65001).to_bytes(4, "big"))
    data = update(ORIGIN + as_path_4 + NEXT_HOP + as4_path(9), NLRI)
    assert path_of(data, N4) == (AsPathSegment(SEQ, (65001,)),)


def test_aggregator_not_as_trans_makes_as4_attributes_ignored() -> None:
    aggregator = attr(0xC0, 7, bytes.fromhex("fde9c0000209"))
    as4_aggregator = attr(0xC0, 18, bytes.fromhex("fa56ea01c0000209"))
    data = update(
        ORIGIN
        + as_path_2(AS_TRANS)
        + NEXT_HOP
        + aggregator
        + as4_path(4200000000)
        + as4_aggregator,
        NLRI,
    )
    u = decode_message(data, N2)
    assert isinstance(u, Update)
    assert u.attributes is not None
    assert u.attributes.aggregator == (65001, ip("192.0.2.9"))
    assert u.attributes.as_path == (AsPathSegment(SEQ, (AS_TRANS,)),)


def test_confederation_segments_are_kept_in_front_of_the_merge() -> None:
    as_path = attr(0x40, 2, bytes.fromhex("030100010201" + "5ba0"))
    data = update(ORIGIN + as_path + NEXT_HOP + as4_path(4200000000), NLRI)
    assert path_of(data) == (
        AsPathSegment(CONFED_SEQ, (1,)),
        AsPathSegment(SEQ, (4200000000,)),
    )


def test_long_as_path_segments_are_split_at_255() -> None:
    attrs = PathAttributes(as_path=(AsPathSegment(SEQ, tuple(range(1, 301))),), next_hop=1)
    data = encode_message(Update(attributes=attrs, nlri=(parse_prefix("10.0.0.0/8"),)), N4)
    assert path_of(data, N4) == (
        AsPathSegment(SEQ, tuple(range(1, 256))),
        AsPathSegment(SEQ, tuple(range(256, 301))),
    )


def test_unknown_transitive_is_kept_marked_partial() -> None:
    data = update(ORIGIN + as_path_2() + NEXT_HOP + attr(0xC0, 99, b"xyz"), NLRI)
    u = decode_message(data, N2)
    assert isinstance(u, Update)
    assert u.attributes is not None
    # RFC 4271 §5: kept for propagation with the Partial bit set.
    assert u.attributes.unknown == (RawAttribute(flags=0xE0, type=99, value=b"xyz"),)
    assert attr(0xE0, 99, b"xyz") in encode_message(u, N2)


def test_unknown_optional_non_transitive_is_dropped() -> None:
    u = decode_message(update(ORIGIN + as_path_2() + NEXT_HOP + attr(0x80, 99, b"xyz"), NLRI), N2)
    assert isinstance(u, Update)
    assert u.attributes is not None
    assert u.attributes.unknown == ()
    assert not u.discarded


def test_extended_length_is_used_only_when_needed() -> None:
    attrs = PathAttributes(communities=tuple(range(100)), next_hop=1)
    data = encode_message(Update(attributes=attrs, nlri=(parse_prefix("10.0.0.0/8"),)), N4)
    assert bytes((0xD0, 8, 0x01, 0x90)) in data  # 400 octets: flags with Extended Length
    assert attr(0x40, 1, b"\x00") in data


def test_ipv6_mp_reach_with_link_local_next_hop_and_unreach() -> None:
    reach = MpReach(
        afi=2,
        safi=1,
        next_hops=(ip("2001:db8::1"), ip("fe80::1")),
        nlri=(parse_prefix("2001:db8:1::/48"), parse_prefix("::/0")),
    )
    unreach = MpUnreach(afi=2, safi=1, withdrawn=(parse_prefix("2001:db8:2::/64"),))
    u = Update(attributes=PathAttributes(), mp_reach=reach, mp_unreach=unreach)
    data = encode_message(u, N4)
    assert bytes.fromhex("800e") in data
    assert decode_message(data, N4) == u


def test_add_path_on_ipv4_and_ipv6_in_both_directions() -> None:
    fams = frozenset({(1, 1), (2, 1)})
    n = Negotiated(
        asn4=True, families=SUPPORTED_FAMILIES, add_path_receive=fams, add_path_send=fams
    )
    u = Update(
        withdrawn=(parse_prefix("10.0.0.0/8"),),
        withdrawn_path_ids=(7,),
        attributes=PathAttributes(next_hop=1),
        nlri=(parse_prefix("10.1.0.0/16"), parse_prefix("10.1.0.0/16")),
        nlri_path_ids=(1, 2),
        mp_reach=MpReach(
            afi=2, safi=1, next_hops=(1,), nlri=(parse_prefix("2001:db8::/32"),), path_ids=(9,)
        ),
    )
    data = encode_message(u, n)
    assert data.endswith(b"\x00\x00\x00\x01\x10\x0a\x01" + b"\x00\x00\x00\x02\x10\x0a\x01")
    assert decode_message(data, n) == u
    # Without send negotiated the path ids are not put on the wire.
    plain = decode_message(encode_message(u, N4), N4)
    assert isinstance(plain, Update)
    assert plain.nlri_path_ids == ()
    assert plain.nlri == u.nlri


def test_host_bits_on_the_wire_are_cleared() -> None:
    u = decode_message(update(ORIGIN + as_path_2() + NEXT_HOP, b"\x17\xc6\x33\x65"), N2)
    assert isinstance(u, Update)
    assert u.nlri == (parse_prefix("198.51.100.0/23"),)


def test_end_of_rib_markers() -> None:
    for family in ((1, 1), (2, 1)):
        marker = end_of_rib(family)
        assert is_end_of_rib(decode_message(encode_message(marker, N4), N4)) == family
    assert encode_message(end_of_rib((1, 1)), N4)[16:] == b"\x00\x17\x02\x00\x00\x00\x00"
    assert is_end_of_rib(Update(withdrawn=(parse_prefix("10.0.0.0/8"),))) is None
    assert (
        is_end_of_rib(Update(mp_unreach=MpUnreach(afi=2, safi=1), attributes=PathAttributes()))
        is None
    )
    assert (
        is_end_of_rib(
            Update(mp_unreach=MpUnreach(afi=2, safi=1, withdrawn=(parse_prefix("::/0"),)))
        )
        is None
    )


def test_interning_returns_the_same_attributes_object() -> None:
    attrs = ORIGIN + as_path_2(65001) + NEXT_HOP
    reach_a = attr(
        0x80, 14, bytes.fromhex("0002011020010db8000000000000000000000001" + "00" + "2020010db8")
    )
    reach_b = attr(
        0x80, 14, bytes.fromhex("0002011020010db8000000000000000000000001" + "00" + "2020010db9")
    )
    messages = [
        update(attrs, NLRI),
        update(attrs, b"\x08\x0a"),
        update(attrs + reach_a),
        update(attrs + reach_b),
    ]
    interned = MessageReader(intern_attributes=True)
    plain = MessageReader()
    for reader in (interned, plain):
        reader.feed(b"".join(messages))
    got = [interned.next_message(N2) for _ in messages]
    ref = [plain.next_message(N2) for _ in messages]
    assert got == ref
    first = got[0]
    assert isinstance(first, Update)
    for other in got[1:]:
        assert isinstance(other, Update)
        assert other.attributes is first.attributes
    assert isinstance(ref[0], Update)
    assert isinstance(ref[1], Update)
    assert ref[0].attributes is not ref[1].attributes


def test_interning_does_not_cache_treat_as_withdraw() -> None:
    bad = update(attr(0x40, 1, b"\x07") + as_path_2() + NEXT_HOP, NLRI)
    reader = MessageReader(intern_attributes=True)
    reader.feed(bad + bad)
    first, second = reader.next_message(N2), reader.next_message(N2)
    assert isinstance(first, Update)
    assert isinstance(second, Update)
    assert first.treat_as_withdraw
    assert second.treat_as_withdraw


def test_interning_gives_what_a_fresh_decode_gives() -> None:
    """Every message decodes the same with the cache as without it, whichever
    earlier message filled the cache (clean lists, lists with MP_REACH, lists
    missing a well-known attribute, malformed and duplicated attributes)."""
    reach = attr(
        0x80, 14, bytes.fromhex("0002011020010db8000000000000000000000001" + "00" + "2020010db8")
    )
    med = attr(0x80, 4, (7).to_bytes(4, "big"))
    bad_origin = attr(0x40, 1, b"\x07")
    lists = [
        ORIGIN + as_path_2(65001) + NEXT_HOP,
        ORIGIN + as_path_2(65001) + NEXT_HOP + med,
        ORIGIN + as_path_2(65001) + reach,  # stored without NEXT_HOP, MP_REACH left out
        ORIGIN + as_path_2(65001),  # then as plain IPv4: NEXT_HOP is missing
        ORIGIN + as_path_2(65001) + NEXT_HOP + med + med,  # duplicate MED
        bad_origin + as_path_2(65001) + NEXT_HOP,  # treat-as-withdraw
        ORIGIN + as_path_2(65001) + NEXT_HOP + attr(0x40, 5, (9).to_bytes(4, "big")),
        ORIGIN + as_path_2(65001) + NEXT_HOP + attr(0xC0, 99, b"\x01"),  # unknown
        ORIGIN + as_path_2(65001) + NEXT_HOP + as4_path(4200000000),
        ORIGIN + NEXT_HOP[:-1],  # overruns the list
    ]
    stream = b"".join(update(attrs, nlri) for attrs in lists * 2 for nlri in (NLRI, b""))
    for n in (N2, N4, Negotiated(asn4=True, local_asn=1, peer_asn=1)):
        interned, plain = MessageReader(intern_attributes=True), MessageReader()
        interned.feed(stream)
        plain.feed(stream)
        got, want = read_all(interned, n), read_all(plain, n)
        assert got == want
        assert len(got) == 4 * len(lists)
        assert any(isinstance(m, Update) and m.treat_as_withdraw for m in got)


def test_interning_cache_is_bounded() -> None:
    reader = MessageReader(intern_attributes=True, intern_limit=2)
    for med in range(3):
        reader.feed(
            update(ORIGIN + as_path_2() + NEXT_HOP + attr(0x80, 4, med.to_bytes(4, "big")), NLRI)
        )
        assert isinstance(reader.next_message(N2), Update)
    assert reader.interned == 1  # cleared at the limit, then refilled
    assert MessageReader().interned == 0


def test_as4_merge_counts_an_as_set_as_one() -> None:
    as_set_then_seq = attr(0x40, 2, bytes.fromhex("0102000100020201" + "5ba0"))
    data = update(ORIGIN + as_set_then_seq + NEXT_HOP + as4_path(4200000000), NLRI)
    assert path_of(data) == (AsPathSegment(SET, (1, 2)), AsPathSegment(SEQ, (4200000000,)))


def test_as4_merge_keeps_segments_apart_past_255_numbers() -> None:
    head = bytes((2, 200)) + b"".join(i.to_bytes(2, "big") for i in range(1, 201))
    tail = bytes((2, 100)) + (AS_TRANS).to_bytes(2, "big") * 100
    as4 = bytes((2, 100)) + b"".join((70000 + i).to_bytes(4, "big") for i in range(100))
    data = update(ORIGIN + attr(0x50, 2, head + tail) + NEXT_HOP + attr(0xD0, 17, as4), NLRI)
    assert path_of(data) == (
        AsPathSegment(SEQ, tuple(range(1, 201))),
        AsPathSegment(SEQ, tuple(range(70000, 70100))),
    )


def test_encoding_reachability_without_mandatory_attributes_is_refused() -> None:
    v4 = (parse_prefix("10.0.0.0/8"),)
    reach = MpReach(afi=2, safi=1, next_hops=(1,), nlri=(parse_prefix("2001:db8::/32"),))
    for bad in (
        Update(nlri=v4),
        Update(nlri=v4, attributes=PathAttributes()),
        Update(mp_reach=reach),
    ):
        with pytest.raises(LocalProtocolError):
            encode_message(bad, N4)
    assert encode_message(Update(mp_reach=reach, attributes=PathAttributes()), N4)


def test_mp_attributes_of_a_family_not_negotiated_are_discarded() -> None:
    """RFC 4760 §8: a family is exchanged only when both OPENs advertised it. An
    IPv4-only session drops IPv6 MP_REACH/MP_UNREACH (attribute-discard, RFC 7606
    §2) and keeps the rest of the UPDATE; with IPv6 negotiated the same bytes decode."""
    v6 = parse_prefix("2001:db8::/32")
    u = Update(
        attributes=PathAttributes(as_path=(AsPathSegment(2, (65001,)),), next_hop=ip("192.0.2.1")),
        nlri=(parse_prefix("198.51.100.0/24"),),
        mp_reach=MpReach(afi=2, safi=1, next_hops=(ip("2001:db8::1"),), nlri=(v6,)),
        mp_unreach=MpUnreach(afi=2, safi=1, withdrawn=(parse_prefix("2001:db8:1::/48"),)),
    )
    data = encode_message(u, N4)
    assert decode_message(data, N4) == u
    v4_only = decode_message(data, Negotiated(asn4=True))
    assert isinstance(v4_only, Update)
    assert v4_only.mp_reach is None
    assert v4_only.mp_unreach is None
    assert v4_only.nlri == u.nlri
    assert v4_only.attributes == u.attributes
    assert not v4_only.treat_as_withdraw
    assert [d.split(":")[0] for d in v4_only.discarded] == ["MP_REACH_NLRI", "MP_UNREACH_NLRI"]
    assert all("not negotiated" in d and "attribute-discard" in d for d in v4_only.discarded)

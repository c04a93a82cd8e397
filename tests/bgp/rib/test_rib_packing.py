"""UPDATE packing: grouping by attributes, the size bound, withdrawals, End-of-RIB."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rib_helpers import ip, seq

from nexthop.bgp.rib.adj_rib_out import Advertisement
from nexthop.bgp.rib.packing import end_of_rib, estimate_update_size, pack_updates
from nexthop.bgp.wire import decode_message, encode_message
from nexthop.bgp.wire.messages import MpUnreach, PathAttributes, RawAttribute, Update
from nexthop.bgp.wire.negotiated import Negotiated
from nexthop.net.prefix import Afi, Prefix, Safi

NH = ip("10.1.1.4")
A = Advertisement(attributes=PathAttributes(as_path=(seq(65515, 65001),)), next_hops=(NH,))
B = Advertisement(
    attributes=PathAttributes(as_path=(seq(65515, 65002),), communities=(1, 2)),
    next_hops=(NH,),
)


def v4(i: int, length: int = 24) -> Prefix:
    return Prefix(Afi.IPV4, (10 << 24) | (i << 8), length)


def v6(i: int) -> Prefix:
    return Prefix(Afi.IPV6, (0x2001_0DB8 << 96) | (i << 64), 64)


def all_nlri(updates: list[Update]) -> list[Prefix]:
    out: list[Prefix] = []
    for u in updates:
        out += u.nlri
        if u.mp_reach is not None:
            out += u.mp_reach.nlri
    return out


def test_same_attributes_share_one_update() -> None:
    announce = {v4(i): A for i in range(10)} | {v4(i + 100): B for i in range(5)}
    updates = pack_updates(announce)
    assert len(updates) == 2
    assert sorted(all_nlri(updates)) == sorted(announce)
    for u in updates:
        assert u.attributes is not None
        assert u.attributes.next_hop == NH


def test_large_tables_split_at_the_size_bound() -> None:
    announce = {v4(i): A for i in range(4000)}
    updates = pack_updates(announce)
    # 4096 - 23 fixed - attributes leaves room for roughly 800 IPv4 prefixes each.
    assert 5 <= len(updates) <= 6
    assert sorted(all_nlri(updates)) == sorted(announce)
    assert all(estimate_update_size(u) <= 4096 for u in updates)
    extended = pack_updates(announce, max_message_length=65535)
    assert len(extended) == 1


def test_estimate_is_conservative_against_the_real_encoding() -> None:
    announce = {v4(i): A for i in range(2000)} | {v4(i + 3000): B for i in range(10)}
    updates = pack_updates(announce, [v4(i, 16) for i in range(900)])
    for u in updates:
        wire = encode_message(u, Negotiated(asn4=True))
        assert len(wire) <= estimate_update_size(u) <= 4096


def test_withdrawals_are_packed_first() -> None:
    withdraw = [v4(i) for i in range(1500)] + [v6(1), v6(2)]
    updates = pack_updates({v4(9999 % 256): A}, withdraw)
    assert [bool(u.withdrawn) for u in updates[:2]] == [True, True]
    assert sum(len(u.withdrawn) for u in updates) == 1500
    mp = [u.mp_unreach for u in updates if u.mp_unreach is not None]
    assert [m.withdrawn for m in mp] == [(v6(1), v6(2))]
    assert updates[-1].nlri == (v4(9999 % 256),)


def test_ipv6_goes_in_mp_reach_with_its_next_hops() -> None:
    advert = Advertisement(attributes=PathAttributes(as_path=(seq(65515),)), next_hops=(1, 2))
    updates = pack_updates({v6(i): advert for i in range(500)})
    assert len(updates) == 3  # 17 octets per prefix: ~237 per 4096-octet UPDATE
    for u in updates:
        assert u.mp_reach is not None
        assert u.mp_reach.next_hops == (1, 2)
        assert u.attributes is not None
        assert u.attributes.next_hop is None
    assert len(all_nlri(updates)) == 500


def test_attributes_too_large_for_the_message_are_refused() -> None:
    huge = Advertisement(
        attributes=PathAttributes(unknown=(RawAttribute(flags=0xC0, type=99, value=bytes(4090)),)),
        next_hops=(NH,),
    )
    with pytest.raises(ValueError, match="no room"):
        pack_updates({v4(1): huge})


def test_end_of_rib_markers() -> None:
    assert end_of_rib(Afi.IPV4) == Update()
    assert end_of_rib(Afi.IPV6) == Update(mp_unreach=MpUnreach(afi=Afi.IPV6, safi=Safi.UNICAST))


@settings(max_examples=30, deadline=None)
@given(
    st.dictionaries(
        st.integers(0, 65535).map(v4), st.sampled_from([A, B]), min_size=0, max_size=1500
    ),
    st.sampled_from([4096, 65535]),
)
def test_packing_round_trips_through_the_codec(
    announce: dict[Prefix, Advertisement], limit: int
) -> None:
    negotiated = Negotiated(asn4=True, extended_message=limit > 4096)
    seen: dict[Prefix, PathAttributes] = {}
    for u in pack_updates(announce, max_message_length=limit):
        wire = encode_message(u, negotiated)
        assert len(wire) <= limit
        decoded = decode_message(wire, negotiated)
        assert isinstance(decoded, Update)
        assert decoded.attributes is not None
        for prefix in decoded.nlri:
            seen[prefix] = decoded.attributes
    assert set(seen) == set(announce)
    for prefix, attrs in seen.items():
        assert attrs.as_path == announce[prefix].attributes.as_path


def _copy(advert: Advertisement) -> Advertisement:
    """An equal advertisement held as another object."""
    return Advertisement(attributes=advert.attributes, next_hops=tuple(advert.next_hops))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.integers(0, 65535).map(v4), st.integers(0, 65535).map(v6)), max_size=40),
    st.lists(st.one_of(st.integers(0, 65535).map(v4), st.integers(0, 65535).map(v6)), max_size=8),
    st.sampled_from([A, B]),
)
def test_one_shared_advertisement_packs_like_equal_copies(
    prefixes: list[Prefix], withdraw: list[Prefix], advert: Advertisement
) -> None:
    """The one-object fast path gives what the general grouping gives, and an
    empty family never yields an empty (End-of-RIB-like) UPDATE."""
    shared = dict.fromkeys(prefixes, advert)
    copies = {p: _copy(advert) for p in prefixes}
    packed = pack_updates(shared, withdraw)
    assert packed == pack_updates(copies, withdraw)
    assert all(u != Update() for u in packed)
    assert sorted(all_nlri(packed)) == sorted(shared)
    withdrawn = [p for u in packed for p in u.withdrawn]
    withdrawn += [p for u in packed if u.mp_unreach is not None for p in u.mp_unreach.withdrawn]
    assert sorted(withdrawn) == sorted(withdraw)

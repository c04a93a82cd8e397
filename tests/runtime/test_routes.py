"""The plain speaker's route bookkeeping: UPDATE building and the Adj-RIB-In."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexthop.bgp.constants import AsPathSegmentType
from nexthop.bgp.wire import (
    AsPathSegment,
    MpReach,
    MpUnreach,
    Negotiated,
    PathAttributes,
    Update,
    decode_message,
    encode_message,
)
from nexthop.net.prefix import parse_address, parse_prefix
from nexthop.nva import parse_community
from nexthop.runtime.routes import (
    LocalRoute,
    ReceivedRoute,
    ReceivedTable,
    build_update,
    build_withdraw,
    parse_large_community,
)

V4 = parse_prefix("203.0.113.0/24")
V6 = parse_prefix("2001:db8:1::/48")
NH4 = parse_address("192.0.2.10")[1]
NH6 = parse_address("2001:db8::10")[1]
ATTRS = PathAttributes(communities=(parse_community("65001:100"),))


def test_ebgp_update_prepends_our_as_and_keeps_the_third_party_next_hop() -> None:
    route = LocalRoute(prefix=V4, attributes=ATTRS, next_hop=NH4)
    update = build_update(route, local_asn=65001, peer_asn=65002, local_address=None)
    assert update.nlri == (V4,)
    assert update.attributes is not None
    assert update.attributes.next_hop == NH4
    assert update.attributes.as_path == (AsPathSegment(AsPathSegmentType.AS_SEQUENCE, (65001,)),)
    assert update.attributes.local_pref is None
    assert update.attributes.communities == ATTRS.communities


def test_ebgp_prepend_extends_an_existing_sequence() -> None:
    attrs = PathAttributes(as_path=(AsPathSegment(AsPathSegmentType.AS_SEQUENCE, (64999,)),))
    route = LocalRoute(prefix=V4, attributes=attrs, next_hop=NH4)
    update = build_update(route, local_asn=65001, peer_asn=65002, local_address=None)
    assert update.attributes is not None
    assert update.attributes.as_path == (
        AsPathSegment(AsPathSegmentType.AS_SEQUENCE, (65001, 64999)),
    )


def test_ibgp_update_carries_local_pref_and_an_empty_as_path() -> None:
    route = LocalRoute(prefix=V4, attributes=ATTRS, next_hop=None)
    update = build_update(route, local_asn=65001, peer_asn=65001, local_address=NH4)
    assert update.attributes is not None
    assert update.attributes.as_path == ()
    assert update.attributes.local_pref == 100
    assert update.attributes.next_hop == NH4  # our end of the session


def test_ipv6_goes_in_mp_reach_and_needs_a_next_hop() -> None:
    route = LocalRoute(prefix=V6, attributes=ATTRS, next_hop=NH6)
    update = build_update(route, local_asn=65001, peer_asn=65002, local_address=None)
    assert update.nlri == ()
    assert update.mp_reach == MpReach(afi=2, safi=1, next_hops=(NH6,), nlri=(V6,))
    assert update.attributes is not None
    assert update.attributes.next_hop is None
    with pytest.raises(ValueError, match="no next hop"):
        build_update(
            LocalRoute(prefix=V6, attributes=ATTRS, next_hop=None),
            local_asn=65001,
            peer_asn=65002,
            local_address=None,
        )


def test_built_updates_survive_the_codec() -> None:
    negotiated = Negotiated(asn4=True, families=frozenset({(1, 1), (2, 1)}))
    for route in (
        LocalRoute(prefix=V4, attributes=ATTRS, next_hop=NH4),
        LocalRoute(prefix=V6, attributes=ATTRS, next_hop=NH6),
    ):
        update = build_update(route, local_asn=4200000001, peer_asn=65002, local_address=None)
        assert decode_message(encode_message(update, negotiated), negotiated) == update


def test_withdrawals_use_the_family_specific_field() -> None:
    assert build_withdraw(V4) == Update(withdrawn=(V4,))
    assert build_withdraw(V6) == Update(mp_unreach=MpUnreach(afi=2, safi=1, withdrawn=(V6,)))


def test_adj_rib_in_announce_withdraw_and_treat_as_withdraw() -> None:
    rib = ReceivedTable()
    rib.apply(Update(attributes=PathAttributes(next_hop=NH4), nlri=(V4,)))
    rib.apply(
        Update(
            attributes=ATTRS,
            mp_reach=MpReach(afi=2, safi=1, next_hops=(NH6,), nlri=(V6,)),
        )
    )
    assert {str(r.prefix): r.next_hop for r in rib} == {
        "203.0.113.0/24": "192.0.2.10",
        "2001:db8:1::/48": "2001:db8::10",
    }
    shared = PathAttributes(next_hop=NH4, med=5)
    more = (parse_prefix("198.51.100.0/25"), parse_prefix("198.51.100.128/25"))
    rib.apply(Update(attributes=shared, nlri=more))
    routes = rib.snapshot()
    assert [routes[p] for p in more] == [
        ReceivedRoute(prefix=p, attributes=shared, next_hops=(NH4,)) for p in more
    ]
    rib.apply(Update(withdrawn=more))
    rib.apply(Update(attributes=PathAttributes(next_hop=NH4), nlri=(V4,), treat_as_withdraw=True))
    rib.apply(build_withdraw(V6))
    assert len(rib) == 0


def test_borr_eorr_purges_only_routes_not_readvertised() -> None:
    other = parse_prefix("198.51.100.0/24")
    rib = ReceivedTable()
    for prefix in (V4, other):
        rib.apply(Update(attributes=PathAttributes(next_hop=NH4), nlri=(prefix,)))
    rib.apply(
        Update(attributes=ATTRS, mp_reach=MpReach(afi=2, safi=1, next_hops=(NH6,), nlri=(V6,)))
    )
    rib.mark_stale((1, 1))
    assert {p: r.stale for p, r in rib.snapshot().items()} == {V4: True, other: True, V6: False}
    rib.apply(Update(attributes=PathAttributes(next_hop=NH4), nlri=(V4,)))
    assert rib.purge_stale((1, 1)) == [other]
    assert {r.prefix: r.stale for r in rib} == {V4: False, V6: False}


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
def test_community_text_round_trips(high: int, low: int) -> None:
    value = parse_community(f"{high}:{low}")
    assert (value >> 16, value & 0xFFFF) == (high, low)


def test_bad_communities_are_rejected() -> None:
    with pytest.raises(ValueError, match="invalid community"):
        parse_community("65536:1")
    with pytest.raises(ValueError, match="32-bit"):
        parse_large_community("4294967296:1:1")
    assert parse_large_community("4200000001:1:2") == (4200000001, 1, 2)

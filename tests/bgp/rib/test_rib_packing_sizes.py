"""The packer's size of the path attributes is the codec's, for each AS number
width (RFC 6793 §4), and a group that cannot fit is handed back, not raised
(RFC 4271 §9.2): issue 15, "one valid route takes the route server down"."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rib_helpers import ip, seq

from nexthop.bgp.constants import AsPathSegmentType
from nexthop.bgp.rib.adj_rib_out import Advertisement
from nexthop.bgp.rib.packing import attributes_size, estimate_update_size, pack_updates
from nexthop.bgp.wire import encode_message
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes, RawAttribute, Update
from nexthop.bgp.wire.negotiated import Negotiated
from nexthop.net.prefix import Afi, Prefix

NH = ip("10.1.1.4")
BIG = 4_200_000_000  # needs 4 octets: AS_TRANS plus AS4_PATH towards an OLD speaker
UPDATE_FIXED = 19 + 2 + 2


def _encoded_attributes(attrs: PathAttributes, asn4: bool) -> int:
    return len(encode_message(Update(attributes=attrs), Negotiated(asn4=asn4))) - UPDATE_FIXED


asns = st.one_of(st.integers(1, 0xFFFF), st.integers(0x10000, 0xFFFFFFFF))
segments = st.lists(
    st.builds(
        AsPathSegment,
        st.sampled_from(list(AsPathSegmentType)),
        st.lists(asns, min_size=0, max_size=600).map(tuple),
    ),
    max_size=3,
).map(tuple)


@settings(max_examples=150, deadline=None)
@given(
    as_path=segments,
    communities=st.lists(st.integers(0, 2**32 - 1), max_size=80).map(tuple),
    aggregator=st.none() | st.tuples(asns, st.integers(0, 2**32 - 1)),
    med=st.none() | st.integers(0, 2**32 - 1),
    unknown=st.binary(max_size=400),
    asn4=st.booleans(),
)
def test_attribute_size_is_the_encoded_size(
    as_path: tuple[AsPathSegment, ...],
    communities: tuple[int, ...],
    aggregator: tuple[int, int] | None,
    med: int | None,
    unknown: bytes,
    asn4: bool,
) -> None:
    attrs = PathAttributes(
        as_path=as_path,
        next_hop=NH,
        med=med,
        aggregator=aggregator,
        communities=communities,
        unknown=(RawAttribute(flags=0xC0, type=99, value=unknown),) if unknown else (),
    )
    assert attributes_size(attrs, asn4) == _encoded_attributes(attrs, asn4)
    assert attributes_size(attrs) == max(
        _encoded_attributes(attrs, True), _encoded_attributes(attrs, False)
    )


def _attack_path() -> tuple[AsPathSegment, ...]:
    """What the route server sends for the attacker's AS_PATH [65001, 501 x BIG]:
    65515 prepended, 503 numbers in segments of 1, 255 and 247."""
    path = (65001, *(BIG,) * 501)
    return (seq(65515), seq(*path[:255]), seq(*path[255:]))


def test_the_attack_route_packs_for_both_widths() -> None:
    advert = Advertisement(
        attributes=PathAttributes(as_path=_attack_path(), next_hop=NH), next_hops=(NH,)
    )
    prefix = Prefix(Afi.IPV4, ip("203.0.113.0"), 24)
    for asn4 in (True, False):
        unsendable: list[Prefix] = []
        updates = pack_updates({prefix: advert}, asn4=asn4, unsendable=unsendable)
        assert unsendable == []
        assert [u.nlri for u in updates] == [(prefix,)]
        wire = encode_message(updates[0], Negotiated(asn4=asn4))
        assert len(wire) <= estimate_update_size(updates[0], asn4) <= 4096


def test_a_group_too_large_for_the_peer_is_handed_back_and_the_rest_is_packed() -> None:
    huge = PathAttributes(
        as_path=(seq(65515, 65001),),
        next_hop=NH,
        unknown=(RawAttribute(flags=0xC0, type=99, value=bytes(5000)),),
    )
    small = PathAttributes(as_path=(seq(65515, 65002),), next_hop=NH)
    big_prefixes = [Prefix(Afi.IPV4, ip("203.0.113.0") + (i << 8), 24) for i in range(3)]
    fine = Prefix(Afi.IPV4, ip("198.51.100.0"), 24)
    announce = {p: Advertisement(attributes=huge, next_hops=(NH,)) for p in big_prefixes}
    announce[fine] = Advertisement(attributes=small, next_hops=(NH,))
    unsendable: list[Prefix] = []
    updates = pack_updates(announce, max_message_length=4096, unsendable=unsendable)
    assert sorted(unsendable) == sorted(big_prefixes)
    assert [u.nlri for u in updates] == [(fine,)]
    extended = pack_updates(announce, max_message_length=65535, unsendable=unsendable)
    assert sorted(p for u in extended for p in u.nlri) == sorted(announce)

"""``SharedEncoder``: one encoding per (Update object, encoding parameters)."""

from __future__ import annotations

import pytest

from nexthop.bgp.wire import (
    IPV4_UNICAST,
    AsPathSegment,
    LocalProtocolError,
    Negotiated,
    PathAttributes,
    Update,
    encode_message,
)
from nexthop.bgp.wire.shared_encoding import SharedEncoder
from nexthop.net.prefix import parse_prefix

BIG_ASN = 4_200_000_001


def an_update(*prefixes: str, asn: int = BIG_ASN, communities: int = 0) -> Update:
    return Update(
        attributes=PathAttributes(
            as_path=(AsPathSegment(2, (65010, asn)),),
            next_hop=0xC0000201,
            communities=tuple(range(communities)),
        ),
        nlri=tuple(parse_prefix(p) for p in prefixes),
    )


def test_sessions_with_the_same_parameters_share_one_encoding() -> None:
    encoder = SharedEncoder()
    update = an_update("198.51.100.0/24", "203.0.113.0/25")
    first = Negotiated(asn4=True, peer_asn=65001, peer_bgp_id=1)
    second = Negotiated(asn4=True, peer_asn=65002, peer_bgp_id=2)
    a = encoder.message(update, first)
    b = encoder.message(update, second)
    assert a == b == encode_message(update, first)
    assert b is a
    assert (encoder.encoded, encoder.reused) == (1, 1)


@pytest.mark.parametrize(
    "other",
    [
        Negotiated(asn4=False),  # AS_TRANS in AS_PATH plus AS4_PATH (RFC 6793 §4.2.2)
        Negotiated(asn4=True, add_path_send=frozenset({IPV4_UNICAST})),  # path ids (RFC 7911)
    ],
)
def test_different_parameters_get_their_own_encoding(other: Negotiated) -> None:
    encoder = SharedEncoder()
    update = an_update("198.51.100.0/24")
    plain = Negotiated(asn4=True)
    shared = encoder.message(update, plain)
    own = encoder.message(update, other)
    assert own == encode_message(update, other)
    assert own != shared
    assert shared == encode_message(update, plain)
    assert (encoder.encoded, encoder.reused) == (2, 0)


def test_equal_but_distinct_updates_are_encoded_separately() -> None:
    encoder = SharedEncoder()
    negotiated = Negotiated(asn4=True)
    one, two = an_update("198.51.100.0/24"), an_update("198.51.100.0/24")
    assert encoder.message(one, negotiated) == encoder.message(two, negotiated)
    assert (encoder.encoded, encoder.reused) == (2, 0)


def test_too_long_for_one_session_is_refused_and_not_memoised() -> None:
    encoder = SharedEncoder()
    update = an_update("198.51.100.0/24", communities=1500)  # > 4096, < 65535 octets
    with pytest.raises(LocalProtocolError):
        encoder.message(update, Negotiated(asn4=True))
    assert len(encoder) == 0
    extended = Negotiated(asn4=True, extended_message=True)  # RFC 8654
    assert encoder.message(update, extended) == encode_message(update, extended)
    with pytest.raises(LocalProtocolError):
        encoder.message(update, Negotiated(asn4=True))


def test_memo_is_bounded_by_octets_and_cleared() -> None:
    negotiated = Negotiated(asn4=True)
    updates = [an_update(f"198.51.{i}.0/24") for i in range(10)]
    size = len(encode_message(updates[0], negotiated))
    encoder = SharedEncoder(limit=3 * size)
    for update in updates:
        assert encoder.message(update, negotiated) == encode_message(update, negotiated)
    assert len(encoder) == 3
    assert encoder.message(updates[-1], negotiated) == encode_message(updates[-1], negotiated)
    assert encoder.reused == 1
    encoder.clear()
    assert len(encoder) == 0

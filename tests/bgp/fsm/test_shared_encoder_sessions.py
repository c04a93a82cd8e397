"""Sessions sharing a ``SharedEncoder``: byte-identical output, exact counters,
and their own encoding when the negotiated parameters differ (RFC 6793)."""

from __future__ import annotations

from fsm_pair import NOW, config_a, decode_all, peer_open, wire

from nexthop.bgp.fsm import Session, SessionConfig, SessionState
from nexthop.bgp.wire import (
    AsPathSegment,
    Keepalive,
    PathAttributes,
    Update,
    encode_message,
)
from nexthop.bgp.wire.shared_encoding import SharedEncoder
from nexthop.net.prefix import parse_prefix

BIG_ASN = 4_200_000_001


def established(config: SessionConfig, encoder: SharedEncoder | None) -> Session:
    session = Session(config, encoder=encoder)
    session.start(NOW)
    session.connection_made(NOW)
    session.data_to_send()
    session.receive_data(wire(peer_open(), Keepalive()), NOW)
    session.data_to_send()
    assert session.state is SessionState.ESTABLISHED
    return session


def an_update(prefix: str) -> Update:
    return Update(
        attributes=PathAttributes(
            as_path=(AsPathSegment(2, (65010, BIG_ASN)),), next_hop=0xC0000201
        ),
        nlri=(parse_prefix(prefix),),
    )


def test_shared_encoding_matches_separate_encodes() -> None:
    encoder = SharedEncoder()
    shared = [established(config_a(), encoder) for _ in range(2)]
    two_octet = established(config_a(four_octet=False), encoder)
    alone = established(config_a(), None)
    updates = [an_update("198.51.100.0/24"), an_update("203.0.113.0/25")]
    for update in updates:
        for session in (*shared, two_octet, alone):
            session.send_update(update)
    expected = alone.data_to_send()
    assert expected == b"".join(
        encode_message(u, alone.negotiated)
        for u in updates  # type: ignore[arg-type]
    )
    assert [s.data_to_send() for s in shared] == [expected, expected]
    negotiated = two_octet.negotiated
    assert negotiated is not None
    assert not negotiated.asn4
    own = two_octet.data_to_send()
    assert own == b"".join(encode_message(u, negotiated) for u in updates)
    assert own != expected
    # AS_TRANS plus AS4_PATH, merged back on decode (RFC 6793 §4.2.3).
    paths = [m.attributes.as_path for m in decode_all(own, negotiated)]  # type: ignore[union-attr]
    assert paths == [(AsPathSegment(2, (65010, BIG_ASN)),)] * 2
    for session in (*shared, two_octet, alone):
        counters = session.counters
        assert counters.updates_out == 2
        assert counters.messages_out["UPDATE"] == 2
    # Per update: one encoding for the 4-octet sessions, one for the 2-octet one.
    assert (encoder.encoded, encoder.reused) == (4, 2)

"""The blaster's pre-encoded streams decode (with the project codec) to exactly
the routes and attribute sets each shape promises."""

from __future__ import annotations

import ipaddress

import pytest
from benchmarks.bgpbytes import END_OF_RIB_IPV4, count_update_nlri, split_messages
from benchmarks.blaster import Stream, synthetic_stream, withdraw_stream
from benchmarks.routes import LENGTH_WEIGHTS

from nexthop.bgp.constants import MAX_MESSAGE_LENGTH, MessageType
from nexthop.bgp.wire import MessageReader, Negotiated, PathAttributes, Update, is_end_of_rib
from nexthop.net.prefix import Afi, Prefix

SESSION = Negotiated(asn4=True)
N = 5000
TEST_NET = ipaddress.IPv4Network("192.0.2.0/24")


def decode(stream: Stream) -> list[Update]:
    reader = MessageReader()
    reader.feed(stream.data)
    updates = []
    while (msg := reader.next_message(SESSION)) is not None:
        assert isinstance(msg, Update)
        updates.append(msg)
    assert reader.buffered == 0
    return updates


def announced(updates: list[Update]) -> tuple[list[Prefix], set[PathAttributes]]:
    prefixes: list[Prefix] = []
    attrs: set[PathAttributes] = set()
    for update in updates:
        assert not update.treat_as_withdraw
        assert update.discarded == ()
        assert update.attributes is not None
        prefixes.extend(update.nlri)
        attrs.add(update.attributes)
    return prefixes, attrs


@pytest.mark.parametrize(
    ("shape", "expected_sets"), [("single", 1), ("eight", N // 8), ("table", None)]
)
def test_stream_decodes_to_n_unique_prefixes(shape: str, expected_sets: int | None) -> None:
    stream = synthetic_stream(shape, N, peer_asn=65011)
    updates = decode(stream)
    prefixes, attrs = announced(updates)
    assert len(prefixes) == N
    assert len(set(prefixes)) == N
    assert prefixes == list(stream.prefixes)
    assert len(attrs) == stream.attribute_sets
    assert len(updates) == stream.messages
    if expected_sets is not None:
        assert len(attrs) == expected_sets
    for a in attrs:
        assert a.as_path[0].asns[0] == 65011  # eBGP: the sender's AS comes first
        assert a.next_hop is not None
        assert ipaddress.IPv4Address(a.next_hop) in TEST_NET  # never loopback: GoBGP drops it


def test_every_message_fits_4096_octets() -> None:
    stream = synthetic_stream("table", N, peer_asn=65011)
    buffer = bytearray(stream.data)
    sizes = []
    offset = 0
    while offset < len(buffer):
        length = int.from_bytes(buffer[offset + 16 : offset + 18], "big")
        sizes.append(length)
        offset += length
    assert max(sizes) <= MAX_MESSAGE_LENGTH
    assert len(sizes) == stream.messages


def test_table_shape_looks_like_the_real_table() -> None:
    stream = synthetic_stream("table", 20_000, peer_asn=65011)
    prefixes, attrs = announced(decode(stream))
    lengths = {p.length for p in prefixes}
    assert lengths <= set(LENGTH_WEIGHTS)
    share_24 = sum(p.length == 24 for p in prefixes) / len(prefixes)
    assert 0.55 < share_24 < 0.65
    # 10-12 AS paths per origin AS, each shared by few prefixes: many attribute sets
    origins: dict[int, set[PathAttributes]] = {}
    for a in attrs:
        origins.setdefault(a.as_path[-1].asns[-1], set()).add(a)
    assert all(len(paths) <= 12 for paths in origins.values())
    assert max(len(paths) for paths in origins.values()) >= 10
    assert any(a.communities for a in attrs)
    assert all(p.afi == Afi.IPV4 and (p.value >> 24) not in (0, 10, 127) for p in prefixes)


def test_shapes_with_offsets_do_not_overlap() -> None:
    a = synthetic_stream("single", 1000, peer_asn=65100, offset=0)
    b = synthetic_stream("single", 1000, peer_asn=65101, peer_index=1, offset=1000)
    assert not set(a.prefixes) & set(b.prefixes)


def test_withdraw_stream_decodes_to_withdrawals() -> None:
    stream = synthetic_stream("single", N, peer_asn=65011)
    gone = list(stream.prefixes[::10])
    updates = decode(withdraw_stream(gone))
    withdrawn = [p for u in updates for p in u.withdrawn]
    assert withdrawn == gone
    assert all(u.nlri == () and u.attributes is None for u in updates)


def test_end_of_rib_is_recognised_by_the_codec() -> None:
    reader = MessageReader()
    reader.feed(END_OF_RIB_IPV4)
    msg = reader.next_message(SESSION)
    assert isinstance(msg, Update)
    assert is_end_of_rib(msg) == (Afi.IPV4, 1)


def test_monitor_counter_tracks_announce_and_withdraw() -> None:
    stream = synthetic_stream("eight", N, peer_asn=65011)
    seen: set[bytes] = set()
    buffer = bytearray(stream.data + withdraw_stream(stream.prefixes[:100]).data)
    for msg_type, body in split_messages(buffer):
        assert msg_type == MessageType.UPDATE
        count_update_nlri(body, seen)
    assert len(seen) == N - 100
    assert buffer == bytearray()

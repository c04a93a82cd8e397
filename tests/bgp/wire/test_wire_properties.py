"""Hypothesis properties: encode->decode identity for every message type, the
reader is insensitive to how the stream is split, and arbitrary or corrupted
input only ever raises MessageError."""

from __future__ import annotations

import contextlib
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from wire_helpers import message, read_all

from nexthop.bgp.constants import AsPathSegmentType
from nexthop.bgp.wire import (
    CAPABILITIES,
    AddPath,
    AsPathSegment,
    Capability,
    EnhancedRouteRefresh,
    ExtendedMessage,
    FourOctetAs,
    GracefulRestart,
    Keepalive,
    Message,
    MessageError,
    MessageReader,
    MpReach,
    MpUnreach,
    Multiprotocol,
    Negotiated,
    Notification,
    Open,
    PathAttributes,
    RawAttribute,
    RouteRefresh,
    RouteRefreshCapability,
    UnknownCapability,
    Update,
    decode_message,
    encode_message,
)
from nexthop.bgp.wire.attributes import ATTRIBUTES
from nexthop.bgp.wire.mp import SUPPORTED_FAMILIES
from nexthop.net.prefix import Prefix

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
FAMILIES = frozenset({(1, 1), (2, 1)})


@st.composite
def prefixes(draw: st.DrawFn, afi: int) -> Prefix:
    bits = 32 if afi == 1 else 128
    length = draw(st.integers(0, bits))
    value = draw(st.integers(0, (1 << bits) - 1))
    mask = ((1 << length) - 1) << (bits - length)
    return Prefix(afi, value & mask, length)


def prefix_list(afi: int) -> st.SearchStrategy[tuple[Prefix, ...]]:
    return st.lists(prefixes(afi), max_size=6).map(tuple)


def ids_for(items: tuple[object, ...], add_path: bool) -> st.SearchStrategy[tuple[int, ...]]:
    if not add_path:
        return st.just(())
    return st.lists(u32, min_size=len(items), max_size=len(items)).map(tuple)


@st.composite
def as_paths(draw: st.DrawFn) -> tuple[AsPathSegment, ...]:
    """Confederation segments only in front (as RFC 5065 puts them)."""
    confed = draw(st.lists(st.sampled_from([3, 4]), max_size=1))
    plain = draw(st.lists(st.sampled_from([1, 2]), max_size=3))
    # Confederation member ASes stay 2-octet: RFC 6793 keeps them out of AS4_PATH.
    small = st.lists(u16, min_size=1, max_size=8).map(tuple)
    asns = st.lists(u32, min_size=1, max_size=8).map(tuple)
    return tuple(
        AsPathSegment(AsPathSegmentType(t), draw(small if t > 2 else asns)) for t in confed + plain
    )


UNKNOWN_TYPES = st.integers(19, 255).filter(lambda t: t not in ATTRIBUTES)


@st.composite
def path_attributes(draw: st.DrawFn, need_next_hop: bool) -> PathAttributes:
    unknown_types = draw(st.lists(UNKNOWN_TYPES, max_size=2, unique=True))
    return PathAttributes(
        origin=draw(st.integers(0, 2)),
        as_path=draw(as_paths()),
        next_hop=draw(u32 if need_next_hop else st.none() | u32),
        med=draw(st.none() | u32),
        local_pref=draw(st.none() | u32),
        atomic_aggregate=draw(st.booleans()),
        aggregator=draw(st.none() | st.tuples(u32, u32)),
        communities=tuple(draw(st.lists(u32, max_size=4))),
        extended_communities=tuple(draw(st.lists(st.binary(min_size=8, max_size=8), max_size=3))),
        large_communities=tuple(draw(st.lists(st.tuples(u32, u32, u32), max_size=3))),
        originator_id=draw(st.none() | u32),
        cluster_list=tuple(draw(st.lists(u32, max_size=3))),
        unknown=tuple(
            RawAttribute(flags=0xE0, type=t, value=draw(st.binary(max_size=300)))
            for t in sorted(unknown_types)
        ),
    )


@st.composite
def mp_reaches(draw: st.DrawFn, add_path: bool) -> MpReach:
    afi = draw(st.sampled_from([1, 2]))
    bits = 32 if afi == 1 else 128
    hops = draw(st.integers(1, 1 if afi == 1 else 2))
    nlri = draw(prefix_list(afi))
    return MpReach(
        afi=afi,
        safi=1,
        next_hops=tuple(draw(st.integers(0, (1 << bits) - 1)) for _ in range(hops)),
        nlri=nlri,
        path_ids=draw(ids_for(nlri, add_path)),
    )


@st.composite
def mp_unreaches(draw: st.DrawFn, add_path: bool) -> MpUnreach:
    afi = draw(st.sampled_from([1, 2]))
    withdrawn = draw(prefix_list(afi))
    return MpUnreach(
        afi=afi, safi=1, withdrawn=withdrawn, path_ids=draw(ids_for(withdrawn, add_path))
    )


@st.composite
def updates(draw: st.DrawFn, add_path: bool) -> Update:
    withdrawn = draw(prefix_list(1))
    with_attributes = draw(st.booleans())
    nlri = draw(prefix_list(1)) if with_attributes else ()
    attributes = draw(path_attributes(bool(nlri))) if with_attributes else None
    reach = draw(st.none() | mp_reaches(add_path)) if with_attributes else None
    return Update(
        withdrawn=withdrawn,
        withdrawn_path_ids=draw(ids_for(withdrawn, add_path)),
        attributes=attributes,
        nlri=nlri,
        nlri_path_ids=draw(ids_for(nlri, add_path)),
        mp_reach=reach,
        mp_unreach=draw(st.none() | mp_unreaches(add_path)),
    )


triples = st.lists(st.tuples(u16, u8, u8), max_size=3).map(tuple)
capabilities: st.SearchStrategy[Capability] = st.one_of(
    st.builds(Multiprotocol, afi=u16, safi=u8),
    st.builds(RouteRefreshCapability, code=st.sampled_from([2, 128])),
    st.just(EnhancedRouteRefresh()),
    st.just(ExtendedMessage()),
    st.builds(FourOctetAs, asn=u32),
    st.builds(
        GracefulRestart,
        restart_flags=st.integers(0, 15),
        restart_time=st.integers(0, 4095),
        families=triples,
    ),
    st.builds(AddPath, families=triples),
    st.builds(
        UnknownCapability,
        code=u8.filter(lambda c: c not in CAPABILITIES),
        value=st.binary(max_size=40),
    ),
)
opens = st.builds(
    Open,
    asn=u16,
    hold_time=st.just(0) | st.integers(3, 0xFFFF),
    bgp_id=u32,
    capabilities=st.lists(capabilities, max_size=12).map(tuple),
)
notifications = st.builds(Notification, code=u8, subcode=u8, data=st.binary(max_size=64))
refreshes = st.builds(RouteRefresh, afi=u16, safi=u8, subtype=u8)
simple_messages: st.SearchStrategy[Message] = st.one_of(
    opens, notifications, refreshes, st.just(Keepalive())
)


@settings(max_examples=150)
@given(updates(add_path=False), st.booleans())
def test_update_round_trip(u: Update, asn4: bool) -> None:
    n = Negotiated(asn4=asn4, families=SUPPORTED_FAMILIES, extended_message=True)
    assert decode_message(encode_message(u, n), n) == u


@settings(max_examples=75)
@given(updates(add_path=True))
def test_update_round_trip_with_add_path(u: Update) -> None:
    n = Negotiated(
        asn4=True,
        families=SUPPORTED_FAMILIES,
        extended_message=True,
        add_path_receive=FAMILIES,
        add_path_send=FAMILIES,
    )
    assert decode_message(encode_message(u, n), n) == u


@settings(max_examples=150)
@given(simple_messages)
def test_other_messages_round_trip(msg: Message) -> None:
    n = Negotiated()
    assert decode_message(encode_message(msg, n), n) == msg


@settings(max_examples=60)
@given(
    st.lists(st.one_of(simple_messages, updates(add_path=False)), min_size=1, max_size=6),
    st.lists(st.integers(0, 10_000), max_size=8),
)
def test_reader_split_anywhere_gives_the_same_messages(
    messages: list[Message], cuts: list[int]
) -> None:
    n = Negotiated(asn4=True, families=SUPPORTED_FAMILIES, extended_message=True)
    data = b"".join(encode_message(m, n) for m in messages)
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    reader = MessageReader()
    got: list[Message] = []
    for start, end in itertools.pairwise(points):
        reader.feed(data[start:end])
        got.extend(read_all(reader, n))
    assert got == messages
    assert reader.buffered == 0


@settings(max_examples=300)
@given(st.binary(max_size=200), st.booleans())
def test_random_bytes_only_raise_message_error(data: bytes, asn4: bool) -> None:
    reader = MessageReader()
    reader.feed(data)
    with contextlib.suppress(MessageError):
        read_all(reader, Negotiated(asn4=asn4))


@settings(max_examples=400)
@given(st.integers(1, 6), st.binary(max_size=300), st.booleans(), st.booleans())
def test_random_bodies_behind_a_valid_header_only_raise_message_error(
    msg_type: int, body: bytes, asn4: bool, add_path: bool
) -> None:
    n = Negotiated(asn4=asn4, add_path_receive=FAMILIES if add_path else frozenset())
    with contextlib.suppress(MessageError):
        decode_message(message(msg_type, body), n)


@settings(max_examples=300)
@given(updates(add_path=False), st.data())
def test_corrupted_updates_only_raise_message_error(u: Update, data: st.DataObject) -> None:
    n = Negotiated(asn4=True, extended_message=True)
    wire = bytearray(encode_message(u, n))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(19, max(19, len(wire) - 1)))
        if i < len(wire):
            wire[i] = data.draw(u8)
    with contextlib.suppress(MessageError):
        decode_message(bytes(wire), n)

"""Encoded path attributes: ascending type order (RFC 4271 §5), extended length
above 255 octets (RFC 4271 §4.3), unknown transitive ones passed on Partial."""

from __future__ import annotations

import pytest

from nexthop.bgp.constants import AttrFlag, AttrType
from nexthop.bgp.wire import (
    AsPathSegment,
    MpReach,
    Negotiated,
    PathAttributes,
    RawAttribute,
    Update,
    decode_message,
    encode_message,
)
from nexthop.net.prefix import parse_prefix

HEADER = 19


def attribute_headers(message: bytes) -> list[tuple[int, int, int]]:
    """(flags, type, value length) of each path attribute in an UPDATE message."""
    body = message[HEADER:]
    withdrawn = int.from_bytes(body[:2], "big")
    start = 2 + withdrawn + 2
    end = start + int.from_bytes(body[2 + withdrawn : start], "big")
    out, i = [], start
    while i < end:
        flags, type_code = body[i], body[i + 1]
        if flags & AttrFlag.EXTENDED_LENGTH:
            length, i = int.from_bytes(body[i + 2 : i + 4], "big"), i + 4
        else:
            length, i = body[i + 2], i + 3
        out.append((flags, type_code, length))
        i += length
    return out


@pytest.mark.parametrize("communities", [2, 70])  # 8 and 280 octets
@pytest.mark.parametrize("extra", [False, True])  # plus unknown attribute and MP_REACH
def test_attribute_order_and_lengths(communities: int, extra: bool) -> None:
    unknown = (RawAttribute(flags=AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE, type=99, value=b"x"),)
    update = Update(
        attributes=PathAttributes(
            as_path=(AsPathSegment(2, (65010, 65011)),),
            next_hop=0xC0000201,
            med=5,
            communities=tuple(range(communities)),
            large_communities=((1, 2, 3),),
            unknown=unknown if extra else (),
        ),
        nlri=(parse_prefix("198.51.100.0/24"),),
        mp_reach=(
            MpReach(
                afi=2, safi=1, next_hops=(0x20010DB8 << 96,), nlri=(parse_prefix("2001:db8::/32"),)
            )
            if extra
            else None
        ),
    )
    negotiated = Negotiated(asn4=True, families=frozenset({(1, 1), (2, 1)}))
    message = encode_message(update, negotiated)
    headers = attribute_headers(message)
    types = [t for _f, t, _l in headers]
    assert types == sorted(types)
    expected = [AttrType.ORIGIN, AttrType.AS_PATH, AttrType.NEXT_HOP, AttrType.MULTI_EXIT_DISC]
    expected += [AttrType.COMMUNITIES]
    expected += [AttrType.MP_REACH_NLRI] if extra else []
    expected += [AttrType.LARGE_COMMUNITY] + ([99] if extra else [])
    assert types == expected
    flags = {t: (f, length) for f, t, length in headers}
    community_flags, community_length = flags[AttrType.COMMUNITIES]
    assert community_length == 4 * communities
    assert bool(community_flags & AttrFlag.EXTENDED_LENGTH) == (community_length > 255)
    if extra:
        assert flags[99][0] & AttrFlag.PARTIAL
    decoded = decode_message(message, negotiated)
    assert isinstance(decoded, Update)
    assert decoded.attributes is not None
    assert decoded.attributes.communities == update.attributes.communities  # type: ignore[union-attr]
    assert decoded.nlri == update.nlri

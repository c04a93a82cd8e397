"""Seed inputs for the fuzzers: real BGP messages from ``../shared/vectors`` plus
messages the project's encoder writes for the families and attributes it knows.

* ExaBGP's decoding cases (``exabgp-decoding/qa/decoding/*``: the hex message on
  the second line) and encoding cases (``exabgp-encoding/qa/encoding/*.ci``: the
  wire bytes after ``raw:``), BSD-3, see their READMEs;
* MRT BGP4MP records (``mrt/mrtparse/samples/*_bgp``): each carries one whole
  BGP message, Apache-2.0;
* our own OPEN, KEEPALIVE, ROUTE-REFRESH and UPDATEs (IPv4, IPv6 MP_REACH,
  communities, AS4 paths, extended lengths).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from pathlib import Path

from nexthop.bgp.constants import AsPathSegmentType
from nexthop.bgp.wire import Keepalive, Negotiated, Update, encode_message
from nexthop.bgp.wire.messages import AsPathSegment, MpReach, PathAttributes, RouteRefresh
from nexthop.net.prefix import Afi, parse_address, parse_prefix

__all__ = ["VECTORS", "seeds"]

VECTORS = Path(__file__).resolve().parents[1] / ".." / "shared" / "vectors"
_MARKER = b"\xff" * 16
_HEX = re.compile(r"^(?:0x)?([0-9A-Fa-f]{38,})$")


def _exabgp() -> Iterator[bytes]:
    for file in sorted((VECTORS / "exabgp-decoding" / "qa" / "decoding").glob("*")):
        for line in file.read_text(errors="replace").splitlines():
            found = _HEX.match(line.strip())
            if found and found.group(1).upper().startswith("F" * 32):
                yield bytes.fromhex(found.group(1))
    for file in sorted((VECTORS / "exabgp-encoding").rglob("*.ci")):
        for line in file.read_text(errors="replace").splitlines():
            for word in re.split(r"[\s:]+", line):
                if len(word) >= 38 and word.upper().startswith("F" * 32):
                    try:
                        yield bytes.fromhex(word)
                    except ValueError:
                        continue


def _mrt_messages() -> Iterator[bytes]:
    """Whole BGP messages inside MRT records (found by their 16-octet marker)."""
    for file in sorted((VECTORS / "mrt" / "mrtparse" / "samples").glob("*_bgp")):
        data = file.read_bytes()
        at = data.find(_MARKER)
        while at >= 0 and at + 19 <= len(data):
            (length,) = struct.unpack_from("!H", data, at + 16)
            if 19 <= length <= 4096:
                yield data[at : at + length]
            at = data.find(_MARKER, at + 1)


def _ours() -> Iterator[bytes]:
    plain, full = Negotiated(), Negotiated(asn4=True, extended_message=True)
    hop = parse_address("10.1.0.100")[1]
    long_path = (AsPathSegment(AsPathSegmentType.AS_SEQUENCE, (65001, *([4200000000] * 40))),)
    attributes = PathAttributes(as_path=long_path, next_hop=hop, communities=(0xFFFFFF01,))
    yield encode_message(Keepalive(), plain)
    yield encode_message(RouteRefresh(afi=1, safi=1), plain)
    nlri = tuple(parse_prefix(f"192.168.{i}.0/24") for i in range(20))
    yield encode_message(Update(attributes=attributes, nlri=nlri), full)
    yield encode_message(Update(withdrawn=nlri[:5]), full)
    v6 = MpReach(
        afi=Afi.IPV6,
        safi=1,
        next_hops=(parse_address("2001:db8::1")[1],),
        nlri=(parse_prefix("2001:db8:1::/48"),),
    )
    yield encode_message(Update(attributes=PathAttributes(as_path=long_path), mp_reach=v6), full)
    # the attacker's route of issue 15: 501 four-octet ASNs, sent by a 4-octet peer,
    # that a 2-octet receiver gets as AS_PATH (AS_TRANS) plus AS4_PATH
    huge = (AsPathSegment(AsPathSegmentType.AS_SEQUENCE, (65001, *([4200000000] * 501))),)
    attack = PathAttributes(as_path=huge, next_hop=hop)
    yield encode_message(Update(attributes=attack, nlri=nlri[:1]), Negotiated(asn4=True))


def seeds() -> list[bytes]:
    """Every seed, deduplicated, in a stable order."""
    out: dict[bytes, None] = {}
    for source in (_exabgp(), _mrt_messages(), _ours()):
        for item in source:
            out.setdefault(item, None)
    return list(out)

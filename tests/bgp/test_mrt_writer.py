"""The MRT TABLE_DUMP_V2 writer (``nexthop.bgp.mrt``, RFC 6396 §4.3) read back by
mrtparse: IPv4 and IPv6 prefixes, 2- and 4-octet peer ASNs, IPv6 peers, an
attribute long enough for the Extended Length bit, ADD-PATH-free RIB entries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mrtparse
from hypothesis import given, settings
from hypothesis import strategies as st

from nexthop.bgp.mrt import MrtPeer, RibEntry, table_dump_v2
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes
from nexthop.net.prefix import Afi, Prefix, format_address, parse_address, parse_prefix


def _read(path: Path) -> list[dict[str, Any]]:
    return [record.data for record in mrtparse.Reader(str(path))]


def _value(entry: dict[str, Any], code: int) -> Any:
    for attribute in entry["path_attributes"]:
        if next(iter(attribute["type"])) == code:
            return attribute["value"]
    return None


def test_peers_and_both_families_round_trip(tmp_path: Path) -> None:
    peers = [
        MrtPeer(parse_address("10.1.0.4")[1], parse_address("10.1.0.4")[1], 65001),
        MrtPeer(0x01020304, parse_address("2001:db8::5")[1], 4200000001, Afi.IPV6),
    ]
    long_path = (AsPathSegment(2, tuple(range(64512, 64512 + 80))),)  # 322 octets: extended
    v4 = PathAttributes(as_path=long_path, med=7, communities=((65000 << 16) | 100,))
    v6 = PathAttributes(as_path=(AsPathSegment(2, (4200000001, 65010)),))
    hop6 = parse_address("2001:db8::5")[1]
    rib = [
        (
            parse_prefix("10.20.0.0/16"),
            [
                RibEntry(0, 1_700_000_000, v4, (parse_address("10.1.0.100")[1],)),
                RibEntry(1, 1_700_000_001, v4, (parse_address("10.1.0.101")[1],)),
            ],
        ),
        (parse_prefix("2001:db8:100::/40"), [RibEntry(1, 1_700_000_002, v6, (hop6,))]),
    ]
    out = tmp_path / "t.mrt"
    out.write_bytes(b"".join(table_dump_v2(1_700_000_100, 42, "IN_0", peers, rib)))
    index, first, second = _read(out)
    assert index["collector_bgp_id"] == "0.0.0.42"
    assert index["view_name"] == "IN_0"
    assert [(p["peer_ip"], p["peer_as"], p["peer_type"]) for p in index["peer_entries"]] == [
        ("10.1.0.4", "65001", 0),
        ("2001:db8::5", "4200000001", 3),  # IPv6 address, 4-octet AS
    ]
    assert (first["prefix"], first["length"], first["sequence_number"]) == ("10.20.0.0", 16, 0)
    hops = [_value(e, 3) for e in first["rib_entries"]]
    assert hops == ["10.1.0.100", "10.1.0.101"]
    segments = _value(first["rib_entries"][0], 2)
    assert [int(a) for a in segments[0]["value"]] == list(long_path[0].asns)
    assert _value(first["rib_entries"][0], 4) == 7
    assert [e["originated_time"] for e in first["rib_entries"]] == [
        {1_700_000_000: "2023-11-14 22:13:20"},
        {1_700_000_001: "2023-11-14 22:13:21"},
    ]
    assert (second["prefix"], second["length"]) == ("2001:db8:100::", 40)
    mp_reach = _value(second["rib_entries"][0], 14)
    assert mp_reach["next_hop"] == ["2001:db8::5"]
    assert _value(second["rib_entries"][0], 3) is None  # no IPv4 NEXT_HOP on an IPv6 entry
    assert [int(a) for a in _value(second["rib_entries"][0], 2)[0]["value"]] == [4200000001, 65010]


def _masked(value: int, length: int) -> Prefix:
    return Prefix(Afi.IPV4, (value >> (32 - length)) << (32 - length) if length else 0, length)


_TABLES = st.lists(st.builds(_masked, st.integers(0, 2**32 - 1), st.integers(0, 32)), min_size=1)


@settings(max_examples=40, deadline=None)
@given(_TABLES.map(lambda prefixes: sorted(set(prefixes))))
def test_any_ipv4_table_reads_back_prefix_for_prefix(
    tmp_path_factory: Any, prefixes: list[Prefix]
) -> None:
    path = tmp_path_factory.mktemp("mrt") / "h.mrt"
    attributes = PathAttributes(as_path=(AsPathSegment(2, (65001,)),))
    peers = [MrtPeer(1, 1, 65001)]
    rib = [(p, [RibEntry(0, 0, attributes, (0x0A010064,))]) for p in prefixes]
    path.write_bytes(b"".join(table_dump_v2(0, 1, "", peers, rib)))
    records = _read(path)[1:]
    assert [f"{r['prefix']}/{r['length']}" for r in records] == [
        f"{format_address(Afi.IPV4, p.value)}/{p.length}" for p in prefixes
    ]
    assert [r["sequence_number"] for r in records] == list(range(len(prefixes)))

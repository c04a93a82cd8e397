"""A small MRT reader (RFC 6396, RFC 8050) for replaying real tables into targets.

Supported record types:

* TABLE_DUMP (type 12, §4.2): one RIB entry per record, 2-octet AS paths;
* TABLE_DUMP_V2 (type 13, §4.3): PEER_INDEX_TABLE, RIB_IPV4/IPV6_UNICAST/MULTICAST,
  RIB_GENERIC and the RFC 8050 ``*_ADDPATH`` variants; 4-octet AS paths;
* BGP4MP and BGP4MP_ET (types 16, 17, §4.4 and §3): STATE_CHANGE(_AS4) and
  MESSAGE(_AS4)(_LOCAL)(_ADDPATH) carrying UPDATEs.

Other types and the OpenBGPD BGP4MP_ENTRY subtype are skipped. Files may be
gzip- or bzip2-compressed. Addresses are returned as text, prefixes as
``nexthop.net.prefix.Prefix``.
"""

from __future__ import annotations

import bz2
import gzip
import ipaddress
import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from benchmarks.bgpbytes import decode_attributes, decode_update
from benchmarks.routes import RouteGroup
from nexthop.bgp.constants import AsPathSegmentType, MessageType
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes
from nexthop.net.prefix import Afi, Prefix

__all__ = [
    "MrtRecord",
    "RibEntry",
    "StateChange",
    "UpdateRecord",
    "read_mrt",
    "replay_routes",
]

TABLE_DUMP = 12
TABLE_DUMP_V2 = 13
BGP4MP = 16
BGP4MP_ET = 17

_PEER_INDEX_TABLE = 1
_RIB_AFI = {2: Afi.IPV4, 3: Afi.IPV4, 4: Afi.IPV6, 5: Afi.IPV6}
_RIB_ADDPATH_AFI = {8: Afi.IPV4, 9: Afi.IPV4, 10: Afi.IPV6, 11: Afi.IPV6}
_RIB_UNICAST = frozenset({2, 4, 8, 10})
_RIB_GENERIC = 6
_RIB_GENERIC_ADDPATH = 12
_STATE_CHANGE = frozenset({0, 5})
# subtype -> (4-octet AS in the header, ADD-PATH NLRI)
_MESSAGE_SUBTYPES = {
    1: (False, False),
    4: (True, False),
    6: (False, False),
    7: (True, False),
    8: (False, True),
    9: (True, True),
    10: (False, True),
    11: (True, True),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RibEntry:
    """One path from a RIB dump: the peer that sent it, the prefix, its attributes."""

    timestamp: int
    peer_address: str
    peer_asn: int
    prefix: Prefix
    attributes: PathAttributes
    safi: int = 1
    path_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateRecord:
    """A BGP4MP UPDATE as seen from ``peer_address``."""

    timestamp: int
    peer_address: str
    peer_asn: int
    announced: tuple[Prefix, ...]
    withdrawn: tuple[Prefix, ...]
    attributes: PathAttributes | None


@dataclass(frozen=True, slots=True, kw_only=True)
class StateChange:
    """A BGP4MP STATE_CHANGE: FSM state numbers from RFC 6396 §4.4.1."""

    timestamp: int
    peer_address: str
    peer_asn: int
    old_state: int
    new_state: int


MrtRecord = RibEntry | UpdateRecord | StateChange


def _open(path: Path) -> IO[bytes]:
    with path.open("rb") as f:
        magic = f.read(3)
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if magic == b"BZh":
        return bz2.open(path, "rb")
    return path.open("rb")


def _address(raw: bytes) -> str:
    return str(ipaddress.ip_address(raw))


def _prefix(afi: int, raw: bytes, length: int) -> Prefix:
    width = 4 if afi == Afi.IPV4 else 16
    return Prefix(afi, int.from_bytes(raw[:width].ljust(width, b"\0"), "big"), length)


def read_mrt(path: str | Path) -> Iterator[MrtRecord]:
    """Yield the records of an MRT file in order."""
    peers: list[tuple[str, int]] = []
    with _open(Path(path)) as f:
        while True:
            header = f.read(12)
            if len(header) < 12:
                return
            timestamp, mrt_type, subtype, length = struct.unpack("!IHHI", header)
            data = f.read(length)
            if len(data) < length:
                return  # truncated final record
            if mrt_type == BGP4MP_ET:
                data = data[4:]  # microsecond timestamp (RFC 6396 §3)
            if mrt_type == TABLE_DUMP:
                yield _table_dump(timestamp, subtype, data)
            elif mrt_type == TABLE_DUMP_V2:
                if subtype == _PEER_INDEX_TABLE:
                    peers = _peer_index(data)
                else:
                    yield from _table_dump_v2(timestamp, subtype, data, peers)
            elif mrt_type in (BGP4MP, BGP4MP_ET):
                record = _bgp4mp(timestamp, subtype, data)
                if record is not None:
                    yield record


def _table_dump(timestamp: int, subtype: int, data: bytes) -> RibEntry:
    afi = Afi.IPV4 if subtype == 1 else Afi.IPV6
    width = 4 if afi == Afi.IPV4 else 16
    i = 4  # view number, sequence number
    raw_prefix = data[i : i + width]
    length = data[i + width]
    i += width + 2 + 4  # prefix, length, status, originated time
    peer_address = _address(data[i : i + width])
    i += width
    peer_asn, attr_len = struct.unpack("!HH", data[i : i + 4])
    attrs, _, _ = decode_attributes(data[i + 4 : i + 4 + attr_len], as4=False)
    return RibEntry(
        timestamp=timestamp,
        peer_address=peer_address,
        peer_asn=peer_asn,
        prefix=_prefix(afi, raw_prefix, length),
        attributes=attrs,
    )


def _peer_index(data: bytes) -> list[tuple[str, int]]:
    i = 4  # collector BGP id
    name_len = int.from_bytes(data[i : i + 2], "big")
    i += 2 + name_len
    count = int.from_bytes(data[i : i + 2], "big")
    i += 2
    peers: list[tuple[str, int]] = []
    for _ in range(count):
        peer_type = data[i]
        i += 1 + 4  # type, BGP id
        width = 16 if peer_type & 1 else 4
        address = _address(data[i : i + width])
        i += width
        as_width = 4 if peer_type & 2 else 2
        peers.append((address, int.from_bytes(data[i : i + as_width], "big")))
        i += as_width
    return peers


def _table_dump_v2(
    timestamp: int, subtype: int, data: bytes, peers: list[tuple[str, int]]
) -> Iterator[RibEntry]:
    add_path = subtype in _RIB_ADDPATH_AFI or subtype == _RIB_GENERIC_ADDPATH
    i = 4  # sequence number
    if subtype in (_RIB_GENERIC, _RIB_GENERIC_ADDPATH):
        afi = int.from_bytes(data[i : i + 2], "big")
        safi = data[i + 2]
        i += 3
        if afi not in (Afi.IPV4, Afi.IPV6) or safi not in (1, 2):
            return  # e.g. VPN or flowspec NLRI: not replayed
    elif subtype in _RIB_AFI or subtype in _RIB_ADDPATH_AFI:
        afi = _RIB_AFI.get(subtype) or _RIB_ADDPATH_AFI[subtype]
        safi = 1 if subtype in _RIB_UNICAST else 2
    else:
        return
    length = data[i]
    nbytes = (length + 7) // 8
    prefix = _prefix(afi, data[i + 1 : i + 1 + nbytes], length)
    i += 1 + nbytes
    count = int.from_bytes(data[i : i + 2], "big")
    i += 2
    for _ in range(count):
        peer_index = int.from_bytes(data[i : i + 2], "big")
        i += 6  # peer index, originated time
        path_id = None
        if add_path:
            path_id = int.from_bytes(data[i : i + 4], "big")
            i += 4
        attr_len = int.from_bytes(data[i : i + 2], "big")
        attrs, _, _ = decode_attributes(data[i + 2 : i + 2 + attr_len], as4=True)
        i += 2 + attr_len
        peer_address, peer_asn = peers[peer_index] if peer_index < len(peers) else ("", 0)
        yield RibEntry(
            timestamp=timestamp,
            peer_address=peer_address,
            peer_asn=peer_asn,
            prefix=prefix,
            attributes=attrs,
            safi=safi,
            path_id=path_id,
        )


def _bgp4mp(timestamp: int, subtype: int, data: bytes) -> MrtRecord | None:
    if subtype in _STATE_CHANGE:
        as4 = subtype == 5
    elif subtype in _MESSAGE_SUBTYPES:
        as4, add_path = _MESSAGE_SUBTYPES[subtype]
    else:
        return None  # BGP4MP_ENTRY, SNAPSHOT: not used for replay
    as_width = 4 if as4 else 2
    peer_asn = int.from_bytes(data[0:as_width], "big")
    i = 2 * as_width + 2  # peer AS, local AS, interface index
    afi = int.from_bytes(data[i : i + 2], "big")
    width = 16 if afi == Afi.IPV6 else 4
    i += 2
    peer_address = _address(data[i : i + width])
    i += 2 * width
    if subtype in _STATE_CHANGE:
        old_state, new_state = struct.unpack("!HH", data[i : i + 4])
        return StateChange(
            timestamp=timestamp,
            peer_address=peer_address,
            peer_asn=peer_asn,
            old_state=old_state,
            new_state=new_state,
        )
    message = data[i:]
    if len(message) < 19 or message[18] != MessageType.UPDATE:
        return None
    # Subtypes without AS4 in the header still carry whatever AS size the session
    # negotiated; RFC 6396 §4.4.2 says MESSAGE implies 2-octet AS paths.
    try:
        update = decode_update(message[19:], as4=as4, add_path=add_path)
    except (ValueError, IndexError):
        # BIRD wrote ADD-PATH sessions with the plain subtypes before RFC 8050.
        update = decode_update(message[19:], as4=as4, add_path=not add_path)
    return UpdateRecord(
        timestamp=timestamp,
        peer_address=peer_address,
        peer_asn=peer_asn,
        announced=update.announced,
        withdrawn=update.withdrawn,
        attributes=update.attributes,
    )


def replay_routes(
    path: str | Path, *, peer_asn: int, next_hop: int, limit: int | None = None
) -> list[RouteGroup]:
    """The IPv4 unicast table an MRT file describes, as one eBGP peer would send it.

    RIB dumps keep the first path seen per prefix; update streams are applied in
    order (announce, withdraw). ``peer_asn`` is prepended, NEXT_HOP becomes
    ``next_hop`` and LOCAL_PREF is dropped, so any eBGP target accepts the routes.
    """
    table: dict[Prefix, PathAttributes] = {}
    for record in read_mrt(path):
        if isinstance(record, RibEntry):
            if record.prefix.afi == Afi.IPV4 and record.safi == 1:
                table.setdefault(record.prefix, record.attributes)
        elif isinstance(record, UpdateRecord):
            for prefix in record.withdrawn:
                table.pop(prefix, None)
            if record.attributes is not None:
                for prefix in record.announced:
                    if prefix.afi == Afi.IPV4:
                        table[prefix] = record.attributes
        if limit is not None and len(table) >= limit:
            break
    groups: dict[PathAttributes, list[Prefix]] = {}
    rewritten: dict[PathAttributes, PathAttributes] = {}
    for prefix, attrs in table.items():
        new = rewritten.get(attrs)
        if new is None:
            new = rewritten[attrs] = _as_ebgp(attrs, peer_asn, next_hop)
        groups.setdefault(new, []).append(prefix)
    return [RouteGroup(attributes=a, prefixes=tuple(p)) for a, p in groups.items()]


def _as_ebgp(attrs: PathAttributes, peer_asn: int, next_hop: int) -> PathAttributes:
    first = AsPathSegment(AsPathSegmentType.AS_SEQUENCE, (peer_asn,))
    path = attrs.as_path
    if path and path[0].type == AsPathSegmentType.AS_SEQUENCE and len(path[0].asns) < 255:
        path = (AsPathSegment(AsPathSegmentType.AS_SEQUENCE, (peer_asn, *path[0].asns)), *path[1:])
    else:
        path = (first, *path)
    return replace(
        attrs,
        as_path=path,
        next_hop=next_hop,
        local_pref=None,
        atomic_aggregate=False,
        aggregator=None,
        extended_communities=(),
        originator_id=None,
        cluster_list=(),
        unknown=(),
    )

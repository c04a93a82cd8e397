"""Readers for the golden vectors under ``<repo>/../shared/vectors``.

A tiny pcap/pcapng reader (Ethernet, Linux cooked v1/v2, BSD loopback, raw IP;
IPv4/IPv6; TCP), per-stream payload reassembly in capture order, a BGP message
splitter, and the ExaBGP ``qa/decoding`` file format. Pure ``struct`` parsing.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "VECTORS",
    "ExaDecodingCase",
    "bgp_messages",
    "bgp_streams",
    "read_exa_decoding",
    "read_packets",
    "tcp_segments",
]

VECTORS = Path(__file__).resolve().parents[1] / ".." / "shared" / "vectors"
if not VECTORS.is_dir():  # fail, never skip: the vectors are part of the test suite
    msg = f"test vectors directory missing: {VECTORS}"
    raise RuntimeError(msg)

BGP_PORT = 179
MARKER = b"\xff" * 16

# link types (tcpdump LINKTYPE_*)
_ETHERNET, _NULL, _PPP, _RAW, _LINUX_SLL, _LINUX_SLL2 = 1, 0, 9, 101, 113, 276
_PPP_PROTOCOLS = {0x0021: 0x0800, 0x0057: 0x86DD}
_RAW_ALIASES = {12, 14, 228, 229}


def _pcap_packets(data: bytes) -> Iterator[tuple[int, bytes]]:
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        msg = "not a pcap file"
        raise ValueError(msg)
    linktype = struct.unpack_from(endian + "I", data, 20)[0] & 0x0FFFFFFF
    i = 24
    while i + 16 <= len(data):
        incl = struct.unpack_from(endian + "I", data, i + 8)[0]
        yield linktype, data[i + 16 : i + 16 + incl]
        i += 16 + incl


def _pcapng_packets(data: bytes) -> Iterator[tuple[int, bytes]]:
    endian = "<"
    linktypes: list[int] = []
    i = 0
    while i + 12 <= len(data):
        btype = struct.unpack_from(endian + "I", data, i)[0]
        if btype == 0x0A0D0D0A:  # section header: byte order magic decides endianness
            endian = "<" if data[i + 8 : i + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            linktypes = []
        blen = struct.unpack_from(endian + "I", data, i + 4)[0]
        body = data[i + 8 : i + blen - 4]
        if btype == 1:  # interface description
            linktypes.append(struct.unpack_from(endian + "H", body, 0)[0])
        elif btype == 6:  # enhanced packet
            iface, _hi, _lo, caplen = struct.unpack_from(endian + "IIII", body, 0)
            yield linktypes[iface], body[20 : 20 + caplen]
        elif btype == 3:  # simple packet
            yield linktypes[0], body[4:]
        if blen < 12:
            break
        i += blen


def read_packets(path: Path) -> list[tuple[int, bytes]]:
    """(link type, frame) for every packet of a pcap or pcapng file."""
    data = path.read_bytes()
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        return list(_pcapng_packets(data))
    return list(_pcap_packets(data))


def _ip_payload(linktype: int, frame: bytes) -> bytes | None:
    if linktype == _ETHERNET:
        ethertype, off = struct.unpack_from("!H", frame, 12)[0], 14
        while ethertype in (0x8100, 0x88A8):
            ethertype, off = struct.unpack_from("!H", frame, off + 2)[0], off + 4
    elif linktype == _LINUX_SLL:
        ethertype, off = struct.unpack_from("!H", frame, 14)[0], 16
    elif linktype == _LINUX_SLL2:
        ethertype, off = struct.unpack_from("!H", frame, 0)[0], 20
    elif linktype == _PPP:
        off = 2 if frame[:2] == b"\xff\x03" else 0
        ethertype = _PPP_PROTOCOLS.get(struct.unpack_from("!H", frame, off)[0], 0)
        off += 2
    elif linktype == _NULL:
        family = struct.unpack_from("<I", frame, 0)[0]
        if family > 0xFFFF:
            family = struct.unpack_from(">I", frame, 0)[0]
        ethertype, off = (0x0800 if family == 2 else 0x86DD), 4
    elif linktype == _RAW or linktype in _RAW_ALIASES:
        ethertype, off = (0x0800 if frame[0] >> 4 == 4 else 0x86DD), 0
    else:
        return None
    return frame[off:] if ethertype in (0x0800, 0x86DD) else None


@dataclass(frozen=True, slots=True)
class Segment:
    src: str
    dst: str
    sport: int
    dport: int
    seq: int
    payload: bytes

    @property
    def stream(self) -> tuple[str, int, str, int]:
        return (self.src, self.sport, self.dst, self.dport)


def _tcp_segment(ip: bytes) -> Segment | None:
    version = ip[0] >> 4
    if version == 4:
        ihl = (ip[0] & 0x0F) * 4
        total, proto = struct.unpack_from("!H", ip, 2)[0], ip[9]
        src, dst = ".".join(map(str, ip[12:16])), ".".join(map(str, ip[16:20]))
        tcp = ip[ihl:total]
    elif version == 6:
        plen, proto = struct.unpack_from("!H", ip, 4)[0], ip[6]
        src, dst = ip[8:24].hex(), ip[24:40].hex()
        tcp = ip[40 : 40 + plen]
    else:
        return None
    if proto != 6 or len(tcp) < 20:
        return None
    sport, dport, seq = struct.unpack_from("!HHI", tcp, 0)
    offset = (tcp[12] >> 4) * 4
    return Segment(src, dst, sport, dport, seq, bytes(tcp[offset:]))


def tcp_segments(path: Path) -> list[Segment]:
    """TCP segments with a payload, to or from port 179, in capture order."""
    out = []
    for linktype, frame in read_packets(path):
        try:
            ip = _ip_payload(linktype, frame)
            seg = _tcp_segment(ip) if ip else None
        except (struct.error, IndexError):  # truncated frame
            continue
        if seg and seg.payload and BGP_PORT in (seg.sport, seg.dport):
            out.append(seg)
    return out


@dataclass
class _Stream:
    data: bytearray = field(default_factory=bytearray)
    seen: dict[int, bytes] = field(default_factory=dict)


def bgp_streams(path: Path) -> dict[tuple[str, int, str, int], bytes]:
    """Per TCP stream, the payload bytes in order. Exact retransmissions (same
    sequence number and bytes) are dropped; anything else is appended in capture
    order, which also keeps hand-crafted captures that reuse sequence numbers."""
    streams: dict[tuple[str, int, str, int], _Stream] = {}
    for seg in tcp_segments(path):
        st = streams.setdefault(seg.stream, _Stream())
        if st.seen.get(seg.seq) == seg.payload:
            continue
        st.seen[seg.seq] = seg.payload
        st.data += seg.payload
    return {key: bytes(st.data) for key, st in streams.items()}


def bgp_messages(stream: bytes) -> list[bytes]:
    """Split a stream into whole BGP messages, resynchronising on the marker
    (captures may start mid-message or be truncated)."""
    out = []
    i = stream.find(MARKER)
    while i >= 0 and i + 19 <= len(stream):
        length = struct.unpack_from("!H", stream, i + 16)[0]
        if stream[i : i + 16] != MARKER or length < 19 or i + length > len(stream):
            i = stream.find(MARKER, i + 1)
            continue
        out.append(stream[i : i + length])
        i += length
    return out


@dataclass(frozen=True, slots=True)
class ExaDecodingCase:
    """One ExaBGP ``qa/decoding`` file: the message type, hex and expected JSON."""

    name: str
    kind: str
    message: bytes
    expected: dict[str, object]


def read_exa_decoding(path: Path) -> ExaDecodingCase:
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    kind, hexline = lines[0], lines[1]
    return ExaDecodingCase(
        name=path.name,
        kind=kind,
        message=bytes.fromhex(hexline.replace(":", "")),
        expected=json.loads(" ".join(lines[2:])),
    )

"""A raw BGP peer for conformance tests: exact bytes over TCP to ``nexthop serve``.

Unlike ``nexthop.runtime.speaker.Speaker`` (which would refuse to send a malformed
message), ``RawPeer`` writes whatever octets a test builds and reads back what the
server answers, decoded with the project's codec so assertions name fields. It
connects from a chosen source address (an NVA's loopback stand-in), so the server
sees the configured peering. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import ipaddress
import struct

from nexthop.bgp.constants import MARKER, MessageType
from nexthop.bgp.wire import (
    ExtendedMessage,
    FourOctetAs,
    Keepalive,
    Message,
    MessageError,
    MessageReader,
    Multiprotocol,
    Negotiated,
    Notification,
    Open,
    RouteRefreshCapability,
    encode_message,
)
from nexthop.bgp.wire.messages import Capability
from nexthop.net.prefix import Afi, Safi

__all__ = [
    "RawPeer",
    "as_path_attr",
    "attr",
    "ipv4_nlri",
    "mp_reach_ipv6",
    "next_hop_attr",
    "open_message",
    "origin_attr",
    "update_message",
]

READ_S = 15.0


def message(msg_type: int, body: bytes) -> bytes:
    """A whole message: the 16-octet marker, the length and the type (RFC 4271 §4.1)."""
    return MARKER + (19 + len(body)).to_bytes(2, "big") + bytes((msg_type,)) + body


def open_message(
    asn: int,
    bgp_id: str,
    *,
    hold_time: int = 90,
    capabilities: tuple[Capability, ...] | None = None,
) -> bytes:
    """An OPEN with IPv4 unicast, route refresh, 4-octet AS (and ``capabilities``
    when given instead)."""
    caps = capabilities
    if caps is None:
        caps = (
            Multiprotocol(afi=Afi.IPV4, safi=Safi.UNICAST),
            RouteRefreshCapability(),
            FourOctetAs(asn=asn),
        )
    bgp = int(ipaddress.IPv4Address(bgp_id))
    return encode_message(
        Open(
            asn=asn if asn <= 0xFFFF else 23456, hold_time=hold_time, bgp_id=bgp, capabilities=caps
        ),
        Negotiated(),
    )


def attr(flags: int, type_code: int, value: bytes) -> bytes:
    """One path attribute (RFC 4271 §4.3), extended length when it needs it."""
    if len(value) > 255:
        return bytes((flags | 0x10, type_code)) + len(value).to_bytes(2, "big") + value
    return bytes((flags, type_code, len(value))) + value


def origin_attr(origin: int = 0) -> bytes:
    return attr(0x40, 1, bytes((origin,)))


def as_path_attr(*asns: int, four_octet: bool = True) -> bytes:
    """AS_PATH with one AS_SEQUENCE of ``asns`` (empty AS_PATH when none)."""
    if not asns:
        return attr(0x40, 2, b"")
    width = 4 if four_octet else 2
    value = bytes((2, len(asns))) + b"".join(a.to_bytes(width, "big") for a in asns)
    return attr(0x40, 2, value)


def next_hop_attr(address: str) -> bytes:
    return attr(0x40, 3, ipaddress.IPv4Address(address).packed)


def ipv4_nlri(prefix: str) -> bytes:
    network = ipaddress.IPv4Network(prefix)
    octets = (network.prefixlen + 7) // 8
    return bytes((network.prefixlen,)) + network.network_address.packed[:octets]


def mp_reach_ipv6(prefix: str, next_hop: str) -> bytes:
    """MP_REACH_NLRI for IPv6 unicast (RFC 4760 §3, RFC 2545 §3)."""
    network = ipaddress.IPv6Network(prefix)
    octets = (network.prefixlen + 7) // 8
    nlri = bytes((network.prefixlen,)) + network.network_address.packed[:octets]
    value = (
        Afi.IPV6.to_bytes(2, "big")
        + bytes((Safi.UNICAST, 16))
        + ipaddress.IPv6Address(next_hop).packed
        + b"\x00"
        + nlri
    )
    return attr(0x80, 14, value)


def update_message(attributes: bytes, nlri: bytes = b"", withdrawn: bytes = b"") -> bytes:
    body = (
        len(withdrawn).to_bytes(2, "big")
        + withdrawn
        + len(attributes).to_bytes(2, "big")
        + attributes
        + nlri
    )
    return message(MessageType.UPDATE, body)


class RawPeer:
    """One TCP connection to the server from ``source``; see the module docstring."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = MessageReader()
        self.negotiated = Negotiated()
        self.received: list[Message] = []

    @classmethod
    async def connect(cls, source: str, server: tuple[str, int]) -> RawPeer:
        async with asyncio.timeout(READ_S):
            reader, writer = await asyncio.open_connection(
                server[0], server[1], local_addr=(source, 0)
            )
        return cls(reader, writer)

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def drain(self) -> None:
        async with asyncio.timeout(READ_S):
            await self.writer.drain()

    async def next(self, timeout: float = READ_S) -> Message | None:
        """The next message from the server; None when it closed the connection
        (or reset it) first."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    try:
                        found = self.decoder.next_message(self.negotiated)
                    except MessageError as exc:
                        raise AssertionError(f"server sent a bad message: {exc}") from exc
                    if found is not None:
                        self.received.append(found)
                        return found
                    data = await self.reader.read(65536)
                    if not data:
                        return None
                    self.decoder.feed(data)
        except (ConnectionResetError, BrokenPipeError):
            return None

    async def expect(self, kind: type[Message], timeout: float = READ_S) -> Message:
        """Skip KEEPALIVEs/UPDATEs until a ``kind``; fail on anything else that ends it."""
        while True:
            found = await self.next(timeout)
            if isinstance(found, kind):
                return found
            if found is None or isinstance(found, Notification):
                raise AssertionError(f"expected {kind.__name__}, got {found!r}")

    async def notification(self, timeout: float = READ_S) -> Notification | None:
        """Read until a NOTIFICATION (returned) or the end of the connection (None)."""
        while True:
            found = await self.next(timeout)
            if found is None or isinstance(found, Notification):
                return found

    async def establish(self, open_bytes: bytes, *, extended_message: bool = False) -> Open:
        """Send ``open_bytes``, read the server's OPEN, answer KEEPALIVE, wait for
        its KEEPALIVE: Established. Returns the server's OPEN."""
        self.send(open_bytes)
        server_open = await self.expect(Open)
        assert isinstance(server_open, Open)
        self.send(message(MessageType.KEEPALIVE, b""))
        await self.expect(Keepalive)
        server_ext = any(isinstance(c, ExtendedMessage) for c in server_open.capabilities)
        self.negotiated = Negotiated(asn4=True, extended_message=extended_message and server_ext)
        return server_open

    async def closed(self, timeout: float = READ_S) -> bool:
        """True once the server has closed the connection (reading anything first)."""
        while True:
            found = await self.next(timeout)
            if found is None:
                return True

    def close(self) -> None:
        self.writer.close()


def keepalive() -> bytes:
    return message(MessageType.KEEPALIVE, b"")


def pack_u16(value: int) -> bytes:
    return struct.pack("!H", value)

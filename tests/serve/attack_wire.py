"""A raw BGP peer for the attack tests: a TCP socket from an NVA's stand-in, an
OPEN with exactly the capabilities a test asks for, the project's codec for every
message, and reads only when the test reads (so a test can play a peer that never
reads). Waits are bounded; nothing here measures time."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field

from serve_process import NVA_ASN, WAIT_S

from nexthop.bgp.wire import (
    Keepalive,
    Message,
    MessageReader,
    Negotiated,
    Notification,
    Open,
    Update,
    build_open,
    encode_message,
    is_end_of_rib,
    negotiate,
)

PRE_OPEN = Negotiated()


@dataclass
class RawPeer:
    """One connection to a route server instance, past the OPEN exchange."""

    sock: socket.socket
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    negotiated: Negotiated
    messages: MessageReader = field(default_factory=MessageReader)
    octets_received: int = 0

    def send(self, *messages: Message) -> None:
        self.writer.write(b"".join(encode_message(m, self.negotiated) for m in messages))

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    async def next_message(self, timeout: float = WAIT_S) -> Message | None:
        """The next message, or None at end of stream (the server closed)."""
        async with asyncio.timeout(timeout):
            while True:
                message = self.messages.next_message(self.negotiated)
                if message is not None:
                    return message
                data = await self.reader.read(65536)
                if not data:
                    return None
                self.octets_received += len(data)
                self.messages.feed(data)

    async def initial_table(self) -> list[Update]:
        """UPDATEs up to the End-of-RIB that ends the initial table (RFC 4724 §2)."""
        updates: list[Update] = []
        while True:
            message = await self.next_message()
            assert message is not None, "the server closed before its End-of-RIB"
            if isinstance(message, Update):
                if is_end_of_rib(message) is not None:
                    return updates
                updates.append(message)

    async def until_closed(self) -> list[Message]:
        """Every message until the server closes the connection."""
        out: list[Message] = []
        while (message := await self.next_message()) is not None:
            out.append(message)
        return out

    def close(self) -> None:
        self.writer.close()


async def connect(
    source: str,
    instance: tuple[str, int],
    *,
    bgp_id: int,
    four_octet: bool = True,
    extended_message: bool = False,
    receive_buffer: int | None = None,
) -> RawPeer:
    """Connect from ``source`` to ``instance``, exchange OPENs (IPv4 unicast,
    route refresh, no enhanced route refresh) and KEEPALIVEs; returns once
    Established. ``receive_buffer``: SO_RCVBUF before connecting (a small window,
    so a peer that stops reading fills the server's buffers quickly)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.bind((source, 0))
    sock.setblocking(False)
    await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, instance), WAIT_S)
    reader, writer = await asyncio.open_connection(sock=sock)
    ours = build_open(
        asn=NVA_ASN,
        bgp_id=bgp_id,
        hold_time=180,
        families=[(1, 1)],
        enhanced_route_refresh=False,
        four_octet=four_octet,
        extended_message=extended_message,
    )
    writer.write(encode_message(ours, PRE_OPEN) + encode_message(Keepalive(), PRE_OPEN))
    peer = RawPeer(sock=sock, reader=reader, writer=writer, negotiated=PRE_OPEN)
    theirs = await peer.next_message()
    if isinstance(theirs, Notification):
        raise AssertionError(f"the server refused the OPEN: {theirs}")
    assert isinstance(theirs, Open), theirs
    peer.negotiated = negotiate(ours, theirs)
    keepalive = await peer.next_message()
    assert isinstance(keepalive, Keepalive), keepalive
    return peer


__all__ = ["RawPeer", "connect"]

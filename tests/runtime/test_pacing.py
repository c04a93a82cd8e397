"""UPDATEs are paced by TCP back-pressure: a peer that stops reading makes the
transport pause, the rest stays queued in the sans-IO Session, and everything is
delivered once the peer reads again."""

from __future__ import annotations

import asyncio
import socket

from nexthop.bgp.wire import (
    Keepalive,
    MessageReader,
    Negotiated,
    Open,
    Update,
    build_open,
    encode_message,
    is_end_of_rib,
    negotiate,
)
from nexthop.net.prefix import Afi, Safi
from nexthop.runtime.bgp_transport import WRITE_CHUNK
from nexthop.runtime.speaker import PeerConfig, Speaker

SPEAKER_ADDR, PEER_ADDR = "127.0.1.61", "127.0.1.62"
SPEAKER_ASN, PEER_ASN = 65061, 65062
ROUTES = 5000
SMALL_BUFFER = 4096


def test_a_peer_that_stops_reading_pauses_the_writer_and_loses_nothing() -> None:
    asyncio.run(asyncio.wait_for(_scenario(), 60))


async def _scenario() -> None:
    opened: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter, Negotiated]]
    opened = asyncio.Queue()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)  # inherited
    listener.bind((PEER_ADDR, 0))

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ours = build_open(asn=PEER_ASN, bgp_id=0x7F00013E, hold_time=90, families=[(1, 1)])
        writer.write(encode_message(ours, Negotiated()))
        writer.write(encode_message(Keepalive(), Negotiated()))
        theirs = await _next(reader, MessageReader(), Negotiated())
        assert isinstance(theirs, Open)
        await opened.put((reader, writer, negotiate(ours, theirs)))

    server = await asyncio.start_server(accept, sock=listener)
    speaker = Speaker(SPEAKER_ASN, SPEAKER_ADDR, listen_address=SPEAKER_ADDR, listen_port=0)
    await speaker.start()
    speaker.add_peer(
        PeerConfig(
            address=PEER_ADDR,
            asn=PEER_ASN,
            port=listener.getsockname()[1],
            graceful_restart=None,
        )
    )
    try:
        reader, writer, negotiated = await opened.get()
        await speaker.wait_established(PEER_ADDR, 10)
        live = speaker.peering.live(PEER_ADDR)
        assert live is not None
        driver = live[0]
        assert driver.stream is not None
        assert driver.stream.transport is not None
        transport = driver.stream.transport
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)
        high_water = transport.get_write_buffer_limits()[1]

        # The peer reads nothing while we announce far more than the buffers hold.
        for i in range(ROUTES):
            speaker.announce(f"10.{i >> 8 & 255}.{i & 255}.0/24", next_hop="192.0.2.1")
        await speaker.wait_for(lambda: driver.stream is not None and driver.stream.paused, 10)
        assert driver.session.bytes_pending > 0, "the rest must wait in the session"
        assert transport.get_write_buffer_size() <= high_water + WRITE_CHUNK

        # The peer reads again: every route arrives, the writer drained.
        prefixes = await _read_prefixes(reader, negotiated, ROUTES)
        assert len(prefixes) == ROUTES
        assert driver.session.bytes_pending == 0
        writer.close()
    finally:
        await speaker.stop()
        server.close()
        await server.wait_closed()


async def _next(
    reader: asyncio.StreamReader, decoder: MessageReader, negotiated: Negotiated
) -> object:
    while (message := decoder.next_message(negotiated)) is None:
        data = await reader.read(65536)
        assert data, "connection closed early"
        decoder.feed(data)
    return message


async def _read_prefixes(
    reader: asyncio.StreamReader, negotiated: Negotiated, expected: int
) -> set[object]:
    decoder = MessageReader()
    seen: set[object] = set()
    while len(seen) < expected:
        message = await _next(reader, decoder, negotiated)
        if isinstance(message, Update) and is_end_of_rib(message) != (Afi.IPV4, Safi.UNICAST):
            seen.update(message.nlri)
    return seen

"""A raw BGP peer for burst tests: the sans-IO ``Session`` over an asyncio TCP
connection, keeping every received UPDATE and ROUTE-REFRESH in arrival order.

A feeder sends pre-packed UPDATEs with ``drain()`` after each write, so TCP
back-pressure from ``nexthop serve`` holds it back (it must not hold the data
in memory faster than the server reads). A client records the table it holds
(``table``: prefix -> next hops), the position in the log of each End-of-RIB
and BoRR/EoRR marker, and the table as it stood when End-of-RIB arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from nexthop.bgp.constants import AsPathSegmentType
from nexthop.bgp.fsm import (
    RouteRefreshReceived,
    Session,
    SessionConfig,
    SessionDown,
    SessionEstablished,
    UpdateReceived,
)
from nexthop.bgp.rib.adj_rib_out import Advertisement
from nexthop.bgp.rib.packing import pack_updates
from nexthop.bgp.wire import AsPathSegment, PathAttributes, Update
from nexthop.net.prefix import Afi, Prefix, parse_prefix

__all__ = ["BgpPeer", "Received", "routes"]

RS_ASN = 65515


def routes(n: int, *, first: str = "100.0.0.0", per_set: int = 8, asn: int) -> list[Update]:
    """``n`` /24s from ``first``, a new attribute set (AS_PATH asn, asn+seq) every
    ``per_set`` prefixes, packed into UPDATEs."""
    base = int(ipaddress.IPv4Address(first))
    announce: dict[Prefix, Advertisement] = {}
    advert: Advertisement | None = None
    for i in range(n):
        if i % per_set == 0:
            path = (
                AsPathSegment(AsPathSegmentType.AS_SEQUENCE, (asn, 64512 + i // per_set % 1000)),
            )
            attrs = PathAttributes(as_path=path, next_hop=int(ipaddress.IPv4Address("10.77.1.100")))
            advert = Advertisement(attributes=attrs, next_hops=(attrs.next_hop or 0,))
        assert advert is not None
        announce[parse_prefix(f"{ipaddress.IPv4Address(base + (i << 8))}/24")] = advert
    return pack_updates(announce, max_message_length=4096)


@dataclass
class Received:
    """What a client was sent, in order."""

    log: list[tuple[str, object]] = field(default_factory=list)
    table: dict[Prefix, tuple[int, ...]] = field(default_factory=dict)
    at_end_of_rib: dict[Prefix, tuple[int, ...]] | None = None
    updates: int = 0

    def marks(self, kind: str) -> list[int]:
        return [i for i, (k, _) in enumerate(self.log) if k == kind]

    def announced(self, start: int = 0, end: int | None = None) -> set[Prefix]:
        """Prefixes announced by the UPDATEs ``log[start:end]``."""
        out: set[Prefix] = set()
        for kind, value in self.log[start:end]:
            if kind == "update":
                nlri, _ = value  # type: ignore[misc]
                out.update(nlri)
        return out


class BgpPeer:
    """One side of a session with ``nexthop serve`` from ``address`` (a loopback
    stand-in) to ``server``; ``bgp_id`` names the peer in its OPEN."""

    def __init__(
        self, address: str, server: tuple[str, int], *, asn: int, peer_address: str
    ) -> None:
        self.address = address
        self.server = server
        config = SessionConfig(
            local_asn=asn,
            peer_asn=RS_ASN,
            bgp_id=int(ipaddress.IPv4Address(address)),
            peer_address=peer_address,
            hold_time=240,
            keepalive_time=80,
        )
        self.session = Session(config)
        self.received = Received()
        self.established = asyncio.Event()
        self.down = asyncio.Event()
        self.end_of_rib = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.session.start(time.monotonic())
        reader, writer = await asyncio.open_connection(*self.server, local_addr=(self.address, 0))
        self._writer = writer
        self._handle(self.session.connection_made(time.monotonic()))
        await self._flush()
        self._reader_task = asyncio.create_task(self._read(reader))
        async with asyncio.timeout(30):
            await self.established.wait()

    async def send(self, updates: Sequence[Update], *, end_of_rib: bool = True) -> None:
        """Write ``updates`` (then End-of-RIB), waiting on TCP back-pressure."""
        for i, update in enumerate(updates):
            self.session.send_update(update)
            if i % 64 == 63:
                await self._flush()
        if end_of_rib:
            self.session.send_update(Update())
        await self._flush()

    async def route_refresh(self) -> None:
        self.session.send_route_refresh(Afi.IPV4, 1)
        await self._flush()

    def abort(self) -> None:
        """Drop the TCP connection without a NOTIFICATION (a crash)."""
        if self._writer is not None:
            transport = self._writer.transport
            transport.abort()
            self._writer = None
        if self._reader_task is not None:
            self._reader_task.cancel()

    async def close(self) -> None:
        self.abort()
        if self._reader_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task

    async def _flush(self) -> None:
        writer = self._writer
        data = self.session.data_to_send()
        if writer is not None and data:
            writer.write(data)
            await writer.drain()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            data = await reader.read(65536)
            if not data:
                self._handle(self.session.connection_lost(time.monotonic()))
                return
            self._handle(self.session.receive_data(data, time.monotonic()))
            self._handle(self.session.handle_timer(time.monotonic()))
            await self._flush()

    def _handle(self, events: list[object]) -> None:
        got = self.received
        for event in events:
            match event:
                case SessionEstablished():
                    self.established.set()
                case SessionDown():
                    self.down.set()
                case UpdateReceived(update=update):
                    got.updates += 1
                    if not update.nlri and not update.withdrawn and update.attributes is None:
                        got.log.append(("eor", None))
                        if got.at_end_of_rib is None:
                            got.at_end_of_rib = dict(got.table)
                        self.end_of_rib.set()
                        continue
                    for prefix in update.withdrawn:
                        got.table.pop(prefix, None)
                    if update.nlri:
                        assert update.attributes is not None
                        hops = (update.attributes.next_hop or 0,)
                        for prefix in update.nlri:
                            got.table[prefix] = hops
                    got.log.append(("update", (update.nlri, update.withdrawn)))
                case RouteRefreshReceived(refresh=refresh):
                    got.log.append((("refresh", "borr", "eorr")[refresh.subtype], None))
                case _:
                    pass

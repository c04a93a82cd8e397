"""Conformance gaps of issue 15 in OPEN handling, connection collisions and
connection admission, sent as raw bytes over TCP to a real ``nexthop serve``
(example topology: nva1 10.1.0.4 / nva2 10.1.0.5, AS 65001; the instances
10.1.1.4 / 10.1.1.5 are also their BGP Identifiers)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
from pathlib import Path
from typing import Any

import httpx
import pytest
from raw_peer import RawPeer, keepalive, message, open_message
from serve_process import (
    BASE,
    EXAMPLE,
    INSTANCE_IPS,
    NVA_IPS,
    example_addresses,
    free_port,
    nva_speaker,
    start_serve,
    until,
)

from nexthop.bgp.constants import CeaseSubcode, ErrorCode, HeaderErrorSubcode, MessageType
from nexthop.bgp.fsm import SessionState
from nexthop.bgp.wire import Keepalive, Notification, Open

ROLE = "RouteServiceRole_IN_0"
LOCAL_ID = int(ipaddress.IPv4Address(INSTANCE_IPS[0]))  # 10.1.1.4


def _run(tmp_path: Path, case: Any, *args: str) -> None:
    async def main() -> None:
        served = await start_serve(tmp_path / "nexthop.db", free_port(), str(EXAMPLE), *args)
        try:
            async with served.client() as api:
                await case(served, api)
        finally:
            served.stop()

    asyncio.run(main())


def _server(port: int) -> tuple[str, int]:
    return (example_addresses().stand_in(INSTANCE_IPS[0]), port)


def _nva1() -> str:
    return example_addresses().stand_in(NVA_IPS["nva1"])


async def _state(api: httpx.AsyncClient, peering: str = "nva1") -> str:
    r = await api.get(f"{BASE}/routeservers/rs/peerings/{peering}")
    r.raise_for_status()
    return str(r.json()["instances"][ROLE]["state"])


# --- OPEN length (RFC 4271 §4.1/§6.1, RFC 9072, RFC 8654 §3) ----------------------


def _open_of(total: int) -> bytes:
    """An OPEN of exactly ``total`` octets: IPv4 unicast, route refresh, 4-octet AS,
    padded with unknown capabilities (ignored, RFC 5492 §3), in the RFC 9072
    extended optional parameters form (2-octet lengths), as ``total`` > 284 needs."""
    base = bytes((1, 4, 0, 1, 0, 1)) + bytes((2, 0)) + bytes((65, 4)) + (65001).to_bytes(4, "big")
    room = total - 19 - 10 - 3 - 3 - len(base)  # header, fixed, ext length, parameter header
    pad = b""
    while room > 0:
        size = min(255, room - 2)
        pad += bytes((200, size)) + b"\x00" * size
        room -= 2 + size
    caps = base + pad
    param = bytes((2,)) + len(caps).to_bytes(2, "big") + caps
    bgp_id = int(ipaddress.IPv4Address(NVA_IPS["nva1"]))
    body = struct.pack("!BHHIB", 4, 65001, 90, bgp_id, 255) + bytes((255,))
    body += len(param).to_bytes(2, "big") + param
    data = message(MessageType.OPEN, body)
    assert len(data) == total
    return data


@pytest.mark.parametrize("total", [4081, 4096])
def test_an_open_up_to_4096_octets_is_accepted(tmp_path: Path, total: int) -> None:
    """RFC 4271 §4.1: "The value of the Length field MUST always be at least 19 and
    no greater than 4096, and MAY be further constrained, depending on the message
    type." §6.1 asks for Bad Message Length only when the length "is less than 19
    or greater than 4096, or if the Length field of an OPEN message is less than
    the minimum length of the OPEN message". RFC 9072 lets the optional parameters
    exceed 255 octets, and RFC 8654 §3 leaves OPEN at 4096 ("The BGP Extended
    Message Capability applies to all messages except for OPEN and KEEPALIVE
    messages"). So 4,081 octets is a valid OPEN: the session is established; the
    battery's expected 1/2 Bad Message Length has no basis in the RFCs."""

    async def case(served: Any, api: httpx.AsyncClient) -> None:
        peer = await RawPeer.connect(_nva1(), _server(served.bgp_port))
        await peer.establish(_open_of(total))

        async def up() -> bool:
            return await _state(api) == "Established"

        await until(up, f"the session after a {total}-octet OPEN")
        peer.close()

    _run(tmp_path, case)


def test_an_open_over_4096_octets_gets_bad_message_length(tmp_path: Path) -> None:
    """RFC 4271 §6.1 (quoted above), with "the Data field [containing] the
    erroneous Length field"; RFC 8654 does not raise the OPEN limit."""

    async def case(served: Any, api: httpx.AsyncClient) -> None:
        peer = await RawPeer.connect(_nva1(), _server(served.bgp_port))
        peer.send(_open_of(4097))
        await peer.drain()
        notification = await peer.notification()
        assert isinstance(notification, Notification)
        assert (notification.code, notification.subcode, notification.data) == (
            ErrorCode.MESSAGE_HEADER,
            HeaderErrorSubcode.BAD_MESSAGE_LENGTH,
            (4097).to_bytes(2, "big"),
        )
        peer.close()

    _run(tmp_path, case)


# --- connection collisions (RFC 4271 §6.8) ----------------------------------------


def _is_collision_cease(found: object) -> bool:
    return isinstance(found, Notification) and (found.code, found.subcode) == (
        ErrorCode.CEASE,
        CeaseSubcode.CONNECTION_COLLISION_RESOLUTION,
    )


def test_a_silent_connection_in_opensent_does_not_hold_the_peering(tmp_path: Path) -> None:
    """A first connection that never sends its OPEN (OpenSent, 240 s hold) must not
    make the peer's next connection fail: the second is tracked beside it until
    its OPEN (§6.8 "the second connection SHALL be tracked until it sends an OPEN
    message"), is established, and the silent one is closed with Cease /
    Connection Collision Resolution (RFC 4486 §3)."""

    async def case(served: Any, api: httpx.AsyncClient) -> None:
        silent = await RawPeer.connect(_nva1(), _server(served.bgp_port))
        assert isinstance(await silent.expect(Open), Open)  # the server's OPEN: OpenSent
        second = await RawPeer.connect(_nva1(), _server(served.bgp_port))
        await second.establish(open_message(65001, NVA_IPS["nva1"]))

        async def up() -> bool:
            return await _state(api) == "Established"

        await until(up, "the second connection's session")
        assert _is_collision_cease(await silent.notification())
        silent.close()
        second.close()

    _run(tmp_path, case)


@pytest.mark.parametrize(
    ("peer_id", "survivor"),
    [
        ("10.200.0.1", "second"),  # remote > local (10.1.1.4): close the OpenConfirm one
        ("10.1.0.4", "first"),  # remote < local: close the new one
    ],
)
def test_a_collision_in_openconfirm_is_resolved_by_bgp_identifier(
    tmp_path: Path, peer_id: str, survivor: str
) -> None:
    """§6.8 steps 2 and 3 (quoted in ``nexthop.bgp.fsm.collision``): "If the value
    of the local BGP Identifier is less than the remote one, the local system
    closes the BGP connection that already exists (the one that is already in the
    OpenConfirm state) ... Otherwise, the local system closes the newly created
    BGP connection". The loser gets Cease / Connection Collision Resolution; the
    survivor is established."""

    async def case(served: Any, api: httpx.AsyncClient) -> None:
        first = await RawPeer.connect(_nva1(), _server(served.bgp_port))
        first.send(open_message(65001, peer_id))
        await first.expect(Open)
        await first.expect(Keepalive)  # the server is in OpenConfirm on it
        second = await RawPeer.connect(_nva1(), _server(served.bgp_port))
        second.send(open_message(65001, peer_id))
        await second.drain()
        winner, loser = (second, first) if survivor == "second" else (first, second)
        assert _is_collision_cease(await loser.notification())
        if winner is second:
            await second.expect(Keepalive)
        winner.send(keepalive())
        await winner.drain()

        async def up() -> bool:
            return await _state(api) == "Established"

        await until(up, f"the {survivor} connection's session")
        assert int(ipaddress.IPv4Address("10.1.1.4")) == LOCAL_ID
        first.close()
        second.close()

    _run(tmp_path, case)


def test_an_open_colliding_with_an_established_session_is_closed(tmp_path: Path) -> None:
    """§6.8: "a connection collision with an existing BGP connection that is in the
    Established state causes closing of the newly created connection"."""

    async def case(served: Any, api: httpx.AsyncClient) -> None:
        first = await RawPeer.connect(_nva1(), _server(served.bgp_port))
        await first.establish(open_message(65001, "10.200.0.1"))  # even a higher id
        second = await RawPeer.connect(_nva1(), _server(served.bgp_port))
        second.send(open_message(65001, "10.200.0.1"))
        await second.drain()
        assert _is_collision_cease(await second.notification())
        first.send(keepalive())
        await first.drain()
        assert await _state(api) == "Established"
        first.close()
        second.close()

    _run(tmp_path, case)


# --- admission: unknown peers and connection storms --------------------------------

STORM = 150


def _storm(source: str, server: tuple[str, int]) -> tuple[int, int]:
    """Open ``STORM`` connections from ``source`` one after another, each closed at
    once; returns (connections that got the server's first bytes, refused ones)."""
    answered = refused = 0
    for _ in range(STORM):
        with socket.socket() as s:
            s.settimeout(10)
            s.bind((source, 0))
            try:
                s.connect(server)
                data = s.recv(19)
            except (ConnectionResetError, ConnectionRefusedError, BrokenPipeError):
                data = b""
            if data:
                answered += 1
            else:
                refused += 1
    return answered, refused


def test_unknown_peers_and_connection_storms_are_refused_and_serve_stays_up(
    tmp_path: Path,
) -> None:
    """A loop of connections from an address no peering has is reset without an
    OPEN (nothing is kept for it); a loop from a configured peer's address gets
    at most the token bucket's burst (here 3, refilled once per 1,000 s) answered
    and the rest reset. Meanwhile and afterwards /healthz answers and nva2, a
    legitimate peer at another address, establishes both sessions."""

    async def case(served: Any, api: httpx.AsyncClient) -> None:
        server = _server(served.bgp_port)
        stray = example_addresses().stand_in("10.1.0.77")
        unknown, storm = await asyncio.gather(
            asyncio.to_thread(_storm, stray, server),
            asyncio.to_thread(_storm, _nva1(), server),
        )
        assert unknown == (0, STORM)
        answered, refused = storm
        assert 1 <= answered <= 3
        assert answered + refused == STORM
        assert (await api.get("/healthz")).status_code == 200
        nva2 = nva_speaker("nva2", example_addresses(), served.bgp_port)
        await nva2.start()
        try:
            await until(
                lambda: all(nva2.peer_state(p) is SessionState.ESTABLISHED for p in nva2.peers),
                "nva2 established after the storm",
            )
        finally:
            await nva2.stop()

    _run(tmp_path, case, "--bgp-accept-rate", "0.001", "--bgp-accept-burst", "3")

"""Issue 15, "unbounded outbound buffer, amplified by ROUTE-REFRESH", against a real
``nexthop serve`` over TCP.

* A peer that never reads but keeps asking for the table is reset with Cease/Out
  of Resources (RFC 4486 §4, subcode 8) once what waits for it passes
  ``--bgp-outbound-limit``; the NOTIFICATION follows whole messages, and the
  other session is untouched.
* 100 ROUTE-REFRESHes cost at most two resends of the table per
  ``--bgp-refresh-interval``: one at once, the rest merged into one that waits.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
from attack_wire import RawPeer, connect
from serve_process import (
    BASE,
    EXAMPLE,
    INSTANCE_IPS,
    NVA_IPS,
    example_addresses,
    free_port,
    start_serve,
    until,
)

from nexthop.bgp.constants import CeaseSubcode, ErrorCode
from nexthop.bgp.wire import Keepalive, Notification, RouteRefresh, Update, encode_message
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes
from nexthop.net.prefix import Afi, Prefix, parse_address

ROLES = ("RouteServiceRole_IN_0", "RouteServiceRole_IN_1")
NVA1_NEXT_HOP = parse_address(NVA_IPS["nva1"])[1]
LIMIT = 65536  # the smallest --bgp-outbound-limit


def _table(count: int, first_octet: int = 20) -> list[Update]:
    """``count`` /24s from nva1 in UPDATEs of 500 prefixes (one attribute set)."""
    attrs = PathAttributes(as_path=(AsPathSegment(2, (65001,)),), next_hop=NVA1_NEXT_HOP)
    prefixes = [Prefix(Afi.IPV4, (first_octet << 24) | (i << 8), 24) for i in range(count)]
    return [
        Update(attributes=attrs, nlri=tuple(prefixes[i : i + 500])) for i in range(0, count, 500)
    ]


async def _state(api: httpx.AsyncClient, peering: str, role: str) -> str:
    r = await api.get(f"{BASE}/routeservers/rs/peerings/{peering}")
    r.raise_for_status()
    state: str = r.json()["instances"][role]["state"]
    return state


async def _accepted(api: httpx.AsyncClient, peering: str, role: str) -> int:
    r = await api.get(f"{BASE}/routeservers/rs/peerings/{peering}")
    r.raise_for_status()
    accepted: int = r.json()["instances"][role]["accepted_routes"]
    return accepted


def test_a_peer_that_never_reads_is_reset_with_out_of_resources(tmp_path: Path) -> None:
    async def main() -> None:
        addresses = example_addresses()
        served = await start_serve(
            tmp_path / "nexthop.db",
            free_port(),
            str(EXAMPLE),
            "--bgp-outbound-limit",
            str(LIMIT),
            "--bgp-refresh-interval",
            "0",  # every refresh answered: the outbound bound alone must hold
        )
        peers: list[RawPeer] = []
        try:
            instance = (addresses.stand_in(INSTANCE_IPS[0]), served.bgp_port)
            nva1, nva2 = (addresses.stand_in(NVA_IPS[n]) for n in ("nva1", "nva2"))
            sender = await connect(nva1, instance, bgp_id=0x0A010004)
            peers.append(sender)
            await sender.initial_table()
            sender.send(*_table(3000))
            async with served.client() as api:
                await until(lambda: _accepted_is(api, "nva1", ROLES[0], 3000), "nva1's 3000 routes")
                victim = await connect(nva2, instance, bgp_id=0x0A010005, receive_buffer=4096)
                peers.append(victim)
                # From here on the victim reads nothing and asks for the table again
                # and again (3000 routes, ~12 KB a time; Azure allows 4000 per peer),
                # with KEEPALIVEs in between.
                refresh = encode_message(RouteRefresh(afi=1, safi=1), victim.negotiated)
                keepalive = encode_message(Keepalive(), victim.negotiated)
                for _ in range(400):
                    victim.send_raw(refresh * 10 + keepalive)
                    await victim.writer.drain()
                    if await _state(api, "nva2", ROLES[0]) != "Established":
                        break
                assert await _state(api, "nva2", ROLES[0]) != "Established"
                # Reading now: whole messages, then the NOTIFICATION, then the end.
                messages = await victim.until_closed()
                assert isinstance(messages[-1], Notification), messages[-1]
                assert (messages[-1].code, messages[-1].subcode) == (
                    ErrorCode.CEASE,
                    CeaseSubcode.OUT_OF_RESOURCES,
                )
                assert all(isinstance(m, Update | Keepalive) for m in messages[:-1])
                # The sender's session and routes are untouched.
                assert await _state(api, "nva1", ROLES[0]) == "Established"
                assert await _accepted(api, "nva1", ROLES[0]) == 3000
                sender.send(*_table(1, first_octet=30))
                await until(
                    lambda: _accepted_is(api, "nva1", ROLES[0], 3001), "a route after the reset"
                )
                # The victim may come back and gets its table.
                again = await connect(nva2, instance, bgp_id=0x0A010005)
                peers.append(again)
                table = await again.initial_table()
                assert sum(len(u.nlri) for u in table) == 3001 + 1  # nva1's and the VNet's
        finally:
            for peer in peers:
                peer.close()
            served.stop()

    asyncio.run(main())


async def _accepted_is(api: httpx.AsyncClient, peering: str, role: str, count: int) -> bool:
    return await _accepted(api, peering, role) == count


def test_a_hundred_route_refreshes_cost_at_most_two_resends(tmp_path: Path) -> None:
    async def main() -> None:
        addresses = example_addresses()
        interval = 1.0
        served = await start_serve(
            tmp_path / "nexthop.db",
            free_port(),
            str(EXAMPLE),
            "--bgp-refresh-interval",
            str(interval),
        )
        peers: list[RawPeer] = []
        try:
            instance = (addresses.stand_in(INSTANCE_IPS[0]), served.bgp_port)
            nva1, nva2 = (addresses.stand_in(NVA_IPS[n]) for n in ("nva1", "nva2"))
            sender = await connect(nva1, instance, bgp_id=0x0A010004)
            peers.append(sender)
            await sender.initial_table()
            sender.send(*_table(2000))
            async with served.client() as api:
                await until(lambda: _accepted_is(api, "nva1", ROLES[0], 2000), "nva1's 2000 routes")
            client = await connect(nva2, instance, bgp_id=0x0A010005)
            peers.append(client)
            table = await client.initial_table()
            per_table = sum(len(u.nlri) for u in table)
            assert per_table == 2001  # nva1's routes and the VNet range
            before = client.octets_received

            refresh = encode_message(RouteRefresh(afi=1, safi=1), client.negotiated)
            client.send_raw(refresh * 100)  # 2,300 octets
            prefixes = 0

            async def read() -> None:
                nonlocal prefixes
                while True:
                    message = await client.next_message()
                    assert message is not None, "the server closed the session"
                    if isinstance(message, Update):
                        prefixes += len(message.nlri)

            reading = asyncio.ensure_future(read())
            try:
                await until(lambda: prefixes >= per_table, "the first resend")
                # Nothing more is due; a few more intervals show no third resend.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(reading), 3 * interval)
            finally:
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reading
            # one answer, the other 99 merged into it (while it waits to start) or into
            # one more answer at the end of the refresh interval: never more than two
            assert prefixes in (per_table, 2 * per_table)
            resent = client.octets_received - before
            table_octets = before  # the initial table dominates what came before
            assert resent <= 2 * table_octets
            async with served.client() as api:
                assert await _state(api, "nva2", ROLES[0]) == "Established"
        finally:
            for peer in peers:
                peer.close()
            served.stop()

    asyncio.run(main())

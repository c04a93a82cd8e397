"""Issue 15, "one valid route takes the route server down for everyone": routes
whose attributes are long, sent by a peer to a real ``nexthop serve`` over TCP.

The route server sends a route to a client only when the UPDATE fits that
client's maximum message size in that client's encoding (RFC 4271 §9.2; RFC 6793
§4: 2-octet AS_PATH plus AS4_PATH for a client without 4-octet AS numbers;
RFC 8654 §4: 4096 octets without the Extended Message capability). A route that
does not fit is left out for that client and counted on its peering; every other
route is sent and every session stays up."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

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

from nexthop.bgp.constants import AsPathSegmentType
from nexthop.bgp.wire import Keepalive, Update, encode_message
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes, RawAttribute
from nexthop.net.prefix import Prefix, parse_address, parse_prefix

ROLES = ("RouteServiceRole_IN_0", "RouteServiceRole_IN_1")
BIG = 4_200_000_000  # a 4-octet AS number: AS_TRANS + AS4_PATH towards a 2-octet client
NVA1_NEXT_HOP = parse_address(NVA_IPS["nva1"])[1]
HUB = parse_prefix("10.1.0.0/16")  # the VNet range every client is sent
NORMAL = parse_prefix("198.51.100.0/24")
ATTACK = parse_prefix("203.0.113.0/24")  # the attacker's AS_PATH [65001] + 501 x BIG
OLD_TOO_LONG = parse_prefix("203.0.114.0/24")  # fits a 4-octet client only
FULL = parse_prefix("203.0.115.0/24")  # a 4096-octet UPDATE: no room for 65515 prepended
HUGE = parse_prefix("203.0.116.0/24")  # a 65,535-octet extended UPDATE


def _sequences(asns: list[int], segments: int) -> tuple[AsPathSegment, ...]:
    size = -(-len(asns) // segments)
    seq = AsPathSegmentType.AS_SEQUENCE
    return tuple(AsPathSegment(seq, tuple(asns[i : i + size])) for i in range(0, len(asns), size))


def _route(prefix: Prefix, as_path: tuple[AsPathSegment, ...], **attrs: Any) -> Update:
    attributes = PathAttributes(as_path=as_path, next_hop=NVA1_NEXT_HOP, **attrs)
    return Update(attributes=attributes, nlri=(prefix,))


def _normal() -> Update:
    return _route(NORMAL, _sequences([65001], 1))


def _prefixes(updates: list[Update]) -> set[Prefix]:
    return {p for u in updates for p in u.nlri}


async def _status(api: httpx.AsyncClient, peering: str) -> dict[str, dict[str, Any]]:
    r = await api.get(f"{BASE}/routeservers/rs/peerings/{peering}")
    r.raise_for_status()
    instances: dict[str, dict[str, Any]] = r.json()["instances"]
    return instances


async def _learned(api: httpx.AsyncClient, peering: str, role: str) -> set[str]:
    r = await api.get(f"{BASE}/routeservers/rs/peerings/{peering}/learned-routes")
    r.raise_for_status()
    return {row["network"] for row in r.json()[role]}


async def _still_up(api: httpx.AsyncClient, peers: list[RawPeer]) -> None:
    """Each connection answers a KEEPALIVE round and every session is Established."""
    for peer in peers:
        peer.send(Keepalive())
    for peering in ("nva1", "nva2"):
        assert {s["state"] for s in (await _status(api, peering)).values()} == {"Established"}


def _metric(text: str, peering: str, role: str) -> float:
    key = f'nexthop_routes_not_sent{{instance="{role}",peering="{peering}",routeserver="rs"}} '
    lines = [line for line in text.splitlines() if line.startswith(key)]
    assert len(lines) == 1, text
    return float(lines[0].rsplit(" ", 1)[1])


def test_long_as_paths_reach_every_client_they_fit_and_no_session_drops(tmp_path: Path) -> None:
    async def main() -> None:
        addresses = example_addresses()
        served = await start_serve(tmp_path / "nexthop.db", free_port(), str(EXAMPLE))
        peers: list[RawPeer] = []
        try:
            instances = [(addresses.stand_in(ip), served.bgp_port) for ip in INSTANCE_IPS]
            nva1, nva2 = (addresses.stand_in(NVA_IPS[n]) for n in ("nva1", "nva2"))
            senders = [await connect(nva1, i, bgp_id=0x0A010004) for i in instances]
            peers += senders
            attack = _route(ATTACK, _sequences([65001, *[BIG] * 501], 2))
            old_too_long = _route(OLD_TOO_LONG, _sequences([65001, *[BIG] * 699], 3))
            full = _route(FULL, _sequences([65001, *[BIG] * 1010], 5))
            # The attacker's UPDATE is the 2,054 octets; FULL uses all 4096.
            assert len(encode_message(attack, senders[0].negotiated)) == 2054
            assert len(encode_message(full, senders[0].negotiated)) == 4096
            for sender in senders:
                await sender.initial_table()
                sender.send(attack, old_too_long, full, _normal())
            async with served.client() as api:
                wanted = {str(p) for p in (ATTACK, OLD_TOO_LONG, FULL, NORMAL)}
                for role in ROLES:
                    await until(
                        lambda r=role: _learned_is(api, "nva1", r, wanted), "nva1's four routes"
                    )
                # nva2 connects afterwards: a 4-octet client to IN_0, a 2-octet one to IN_1.
                new = await connect(nva2, instances[0], bgp_id=0x0A010005)
                old = await connect(nva2, instances[1], bgp_id=0x0A010005, four_octet=False)
                peers += [new, old]
                assert new.negotiated.asn4
                assert not old.negotiated.asn4
                got_new, got_old = await new.initial_table(), await old.initial_table()
                # 4-octet: 2,058 / 2,852 octets fit; the full one + 65515 (4,100) does not.
                assert _prefixes(got_new) == {HUB, NORMAL, ATTACK, OLD_TOO_LONG}
                # 2-octet: AS_PATH + AS4_PATH make 3,072 octets for the attack route
                # (fits) and 4,264 for the 700-number path (does not).
                assert _prefixes(got_old) == {HUB, NORMAL, ATTACK}
                for updates in (got_new, got_old):
                    (sent,) = [u for u in updates if ATTACK in u.nlri]
                    assert sent.attributes is not None
                    path = [asn for seg in sent.attributes.as_path for asn in seg.asns]
                    assert path == [65515, 65001, *[BIG] * 501]
                status = await _status(api, "nva2")
                assert status[ROLES[0]]["routes_not_sent"] == 1  # FULL
                assert status[ROLES[1]]["routes_not_sent"] == 2  # OLD_TOO_LONG, FULL
                assert status[ROLES[0]]["advertised_routes"] == 4
                assert status[ROLES[1]]["advertised_routes"] == 3
                metrics = (await api.get("/metrics")).text
                assert _metric(metrics, "nva2", ROLES[0]) == 1
                assert _metric(metrics, "nva2", ROLES[1]) == 2
                await _still_up(api, peers)
                # Everything keeps flowing: a new route from nva1 reaches both clients.
                later = parse_prefix("198.51.101.0/24")
                for sender in senders:
                    sender.send(_route(later, _sequences([65001], 1)))
                for client in (new, old):
                    update = await client.next_message()
                    assert isinstance(update, Update)
                    assert update.nlri == (later,)
                await _still_up(api, peers)
        finally:
            for peer in peers:
                peer.close()
            served.stop()

    asyncio.run(main())


async def _learned_is(api: httpx.AsyncClient, peering: str, role: str, wanted: set[str]) -> bool:
    return wanted <= await _learned(api, peering, role)


def test_an_extended_update_is_not_sent_to_a_client_without_extended_message(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        addresses = example_addresses()
        served = await start_serve(tmp_path / "nexthop.db", free_port(), str(EXAMPLE))
        peers: list[RawPeer] = []
        try:
            instances = [(addresses.stand_in(ip), served.bgp_port) for ip in INSTANCE_IPS]
            nva1, nva2 = (addresses.stand_in(NVA_IPS[n]) for n in ("nva1", "nva2"))
            senders = [
                await connect(nva1, i, bgp_id=0x0A010004, extended_message=True) for i in instances
            ]
            peers += senders
            base = _route(HUGE, _sequences([65001], 1))
            padding = 65535 - len(encode_message(base, senders[0].negotiated)) - 4
            filler = RawAttribute(flags=0xC0, type=250, value=bytes(padding))  # optional transitive
            huge = _route(HUGE, _sequences([65001], 1), unknown=(filler,))
            assert len(encode_message(huge, senders[0].negotiated)) == 65535
            for sender in senders:
                assert sender.negotiated.extended_message
                await sender.initial_table()
                sender.send(huge, _normal())
            async with served.client() as api:
                for role in ROLES:
                    await until(
                        lambda r=role: _learned_is(api, "nva1", r, {str(HUGE), str(NORMAL)}),
                        "the 65,535-octet route learned",
                    )
                # Clients connecting while it is stored: one without extended message
                # (4096 octets, RFC 8654 §4), one with it (65515 prepended: 65,539).
                plain = await connect(nva2, instances[0], bgp_id=0x0A010005)
                extended = await connect(
                    nva2, instances[1], bgp_id=0x0A010005, extended_message=True
                )
                peers += [plain, extended]
                assert not plain.negotiated.extended_message
                assert extended.negotiated.extended_message
                for client in (plain, extended):
                    assert _prefixes(await client.initial_table()) == {HUB, NORMAL}
                status = await _status(api, "nva2")
                metrics = (await api.get("/metrics")).text
                for role in ROLES:
                    assert status[role]["routes_not_sent"] == 1
                    assert status[role]["advertised_routes"] == 2
                    assert _metric(metrics, "nva2", role) == 1
                    assert (await _status(api, "nva1"))[role]["routes_not_sent"] == 0
                await _still_up(api, peers)
                later = parse_prefix("198.51.101.0/24")
                for sender in senders:
                    sender.send(_route(later, _sequences([65001], 1)))
                for client in (plain, extended):
                    update = await client.next_message()
                    assert isinstance(update, Update)
                    assert update.nlri == (later,)
                await _still_up(api, peers)
        finally:
            for peer in peers:
                peer.close()
            served.stop()

    asyncio.run(main())

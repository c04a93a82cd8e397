"""Conformance gaps of issue 15 in UPDATE handling, each sent as raw bytes over TCP
to a real ``nexthop serve`` (the example topology: nva1 10.1.0.4 AS 65001) by
``raw_peer.RawPeer``; outcomes are read back over the REST API and from the
NOTIFICATIONs (or their absence) on the wire.

What "not used" means (docs/conformance.md): a route is not used when it is absent
from ``list-learned-routes`` (Azure's shape: accepted routes) and from the VNet's
effective routes, and the session stays Established. A first-AS violation is
treat-as-withdraw (nothing kept); a bad NEXT_HOP is kept as a rejected route, which
``peering show`` counts in ``rejected_routes``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from raw_peer import (
    RawPeer,
    as_path_attr,
    attr,
    ipv4_nlri,
    keepalive,
    mp_reach_ipv6,
    next_hop_attr,
    open_message,
    origin_attr,
    update_message,
)
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

from nexthop.bgp.fsm import SessionState
from nexthop.bgp.wire import (
    ExtendedMessage,
    FourOctetAs,
    Multiprotocol,
    Notification,
    RouteRefreshCapability,
)
from nexthop.net.prefix import Afi, Safi

ROLE = "RouteServiceRole_IN_0"
GOOD = "192.168.0.0/16"  # the on-premises prefix, next hop the ILB frontend
PROBE = "172.20.0.0/16"  # announced by each case, checked after


async def _rows(api: httpx.AsyncClient, peering: str = "nva1") -> list[dict[str, Any]]:
    r = await api.get(f"{BASE}/routeservers/rs/peerings/{peering}/learned-routes")
    r.raise_for_status()
    rows: list[dict[str, Any]] = r.json()[ROLE]
    return rows


async def _status(api: httpx.AsyncClient) -> dict[str, Any]:
    r = await api.get(f"{BASE}/routeservers/rs/peerings/nva1")
    r.raise_for_status()
    status: dict[str, Any] = r.json()["instances"][ROLE]
    return status


async def _effective(api: httpx.AsyncClient, prefix: str) -> list[list[str]]:
    table = (await api.get(f"{BASE}/nics/vm1/effective-route-table")).json()
    return [
        r["nextHopIpAddress"]
        for r in table["value"]
        if r["addressPrefix"] == [prefix] and r["source"] == "VirtualNetworkGateway"
    ]


def _caps(*, extended: bool = False) -> tuple[object, ...]:
    caps: list[object] = [
        Multiprotocol(afi=Afi.IPV4, safi=Safi.UNICAST),
        RouteRefreshCapability(),
        FourOctetAs(asn=65001),
    ]
    if extended:
        caps.append(ExtendedMessage())
    return tuple(caps)


async def _session(served_port: int, *, extended: bool = False) -> RawPeer:
    """nva1 Established on IN_0 from its stand-in, then the known-good route
    (learned over the API: the session works before the case is sent)."""
    addresses = example_addresses()
    server = (addresses.stand_in(INSTANCE_IPS[0]), served_port)
    peer = await RawPeer.connect(addresses.stand_in(NVA_IPS["nva1"]), server)
    open_bytes = open_message(65001, "10.1.0.4", capabilities=_caps(extended=extended))  # type: ignore[arg-type]
    await peer.establish(open_bytes, extended_message=extended)
    good = origin_attr() + as_path_attr(65001) + next_hop_attr("10.1.0.100")
    peer.send(update_message(good, ipv4_nlri(GOOD)))
    await peer.drain()
    return peer


async def _still_up(peer: RawPeer) -> None:
    """The server sent no NOTIFICATION and still answers: a KEEPALIVE we send keeps
    the session; a second good UPDATE is learned (checked by the caller)."""
    peer.send(keepalive())
    await peer.drain()
    try:
        message = await peer.next(timeout=0.5)
    except TimeoutError:
        return
    assert not isinstance(message, Notification), f"session reset: {message}"
    assert message is not None, "the server closed the connection"


def _serve_case(tmp_path: Path, case: Any) -> None:
    async def main() -> None:
        served = await start_serve(tmp_path / "nexthop.db", free_port(), str(EXAMPLE))
        try:
            async with served.client() as api:
                await case(served, api)
        finally:
            served.stop()

    asyncio.run(main())


@pytest.mark.parametrize(
    ("as_path", "why"),
    [((), "empty AS_PATH"), ((65099, 65001), "leftmost AS is not the peer's (65001)")],
)
def test_an_ebgp_path_not_starting_with_the_peers_as_is_never_installed(
    tmp_path: Path, as_path: tuple[int, ...], why: str
) -> None:
    """RFC 4271 §6.3: "If the UPDATE message is received from an external peer, the
    local system MAY check whether the leftmost ... AS in the AS_PATH attribute is
    equal to the autonomous system number of the peer that sent the message. If
    the check determines this is not the case, the Error Subcode MUST be set to
    Malformed AS_PATH." RFC 7606 §7.2: "An UPDATE message with a malformed AS_PATH
    attribute SHALL be handled using the approach of 'treat-as-withdraw'." So: no
    NOTIFICATION, the route is not learned, the session carries on."""

    async def case(served: Any, api: httpx.AsyncClient) -> None:
        peer = await _session(served.bgp_port)
        await until(lambda: _learned_has(api, GOOD), "the known-good route learned (session works)")
        bad = origin_attr() + as_path_attr(*as_path) + next_hop_attr("10.1.0.100")
        peer.send(update_message(bad, ipv4_nlri(PROBE)))
        # Announce again with a correct path afterwards: once it is learned the
        # server has read the bad UPDATE before it (one TCP stream, in order).
        marker = "172.21.0.0/16"
        good = origin_attr() + as_path_attr(65001) + next_hop_attr("10.1.0.100")
        peer.send(update_message(good, ipv4_nlri(marker)))
        await peer.drain()
        await until(lambda: _learned_has(api, marker), "the UPDATE after the bad one")
        await _still_up(peer)
        networks = {r["network"] for r in await _rows(api)}
        assert PROBE not in networks, why
        assert await _effective(api, PROBE) == []
        assert (await _status(api))["state"] == "Established"
        peer.close()

    _serve_case(tmp_path, case)


async def _learned_has(api: httpx.AsyncClient, network: str) -> bool:
    return any(r["network"] == network for r in await _rows(api))


@pytest.mark.parametrize(
    ("next_hop", "kind"),
    [
        ("10.1.1.4", "the route server's own address"),
        ("10.1.1.5", "the route server's own address"),  # the other instance
        ("0.0.0.0", "unspecified"),
        ("224.0.0.9", "multicast"),
    ],
)
def test_a_semantically_incorrect_next_hop_is_not_used(
    tmp_path: Path, next_hop: str, kind: str
) -> None:
    """RFC 4271 §6.3: "If the NEXT_HOP attribute is semantically incorrect, the
    error SHOULD be logged, and the route SHOULD be ignored. In this case, a
    NOTIFICATION message SHOULD NOT be sent, and the connection SHOULD NOT be
    closed." (the next hop "MUST NOT be the IP address of the receiving speaker";
    0.0.0.0 and multicast are no host to forward to, §5.1.3). Ignored: not in the
    learned routes nor the VNet, counted as a rejected route; the session stays."""

    async def case(served: Any, api: httpx.AsyncClient) -> None:
        peer = await _session(served.bgp_port)
        await until(lambda: _learned_has(api, GOOD), "the known-good route learned")
        bad = origin_attr() + as_path_attr(65001) + next_hop_attr(next_hop)
        peer.send(update_message(bad, ipv4_nlri(PROBE)))
        await peer.drain()

        async def rejected() -> bool:
            return int((await _status(api))["rejected_routes"]) == 1

        await until(rejected, f"the route with NEXT_HOP {next_hop} ({kind}) counted as rejected")
        await _still_up(peer)
        assert PROBE not in {r["network"] for r in await _rows(api)}
        assert await _effective(api, PROBE) == []
        status = await _status(api)
        assert (status["state"], status["accepted_routes"]) == ("Established", 1)  # GOOD
        peer.close()

    _serve_case(tmp_path, case)


def test_mp_reach_for_a_family_not_negotiated_is_ignored(tmp_path: Path) -> None:
    """nva1's OPEN offers IPv4 unicast only, so IPv6 unicast is not negotiated.
    RFC 4760 §8: "To have a bi-directional exchange of routing information for a
    particular <AFI, SAFI> between a pair of BGP speakers, each such speaker MUST
    advertise to the other (via the Capability Advertisement mechanism) the
    capability to support that particular <AFI, SAFI> route." The MP_REACH_NLRI is
    discarded (RFC 7606 §2 attribute-discard), the IPv4 NLRI of the same UPDATE
    are learned, no NOTIFICATION."""

    async def case(served: Any, api: httpx.AsyncClient) -> None:
        peer = await _session(served.bgp_port)
        attrs = (
            origin_attr()
            + as_path_attr(65001)
            + next_hop_attr("10.1.0.100")
            + mp_reach_ipv6("2001:db8:77::/48", "2001:db8::100")
        )
        peer.send(update_message(attrs, ipv4_nlri(PROBE)))
        await peer.drain()
        await until(lambda: _learned_has(api, PROBE), "the IPv4 NLRI of the same UPDATE")
        await _still_up(peer)
        networks = {r["network"] for r in await _rows(api)}
        assert "2001:db8:77::/48" not in networks
        assert (await _status(api))["accepted_routes"] == 2  # GOOD and PROBE, no IPv6
        peer.close()

    _serve_case(tmp_path, case)


def _max_update(prefix: str) -> bytes:
    """A 65,535-octet UPDATE (RFC 8654's maximum): the route plus an unknown
    optional transitive attribute filling the message."""
    base = origin_attr() + as_path_attr(65001) + next_hop_attr("10.1.0.100")
    nlri = ipv4_nlri(prefix)
    fill = 65535 - (19 + 2 + 2 + len(base) + len(nlri) + 4)  # 4: extended attr header
    message = update_message(base + attr(0xC0, 240, b"\x00" * fill), nlri)
    assert len(message) == 65535
    return message


@pytest.mark.parametrize(
    "other_client",
    [pytest.param(False, id="alone"), pytest.param(True, id="with-nva2")],
)
def test_a_65535_octet_update_is_accepted_with_extended_messages(
    tmp_path: Path, other_client: bool
) -> None:
    """RFC 8654 §3: "An implementation that advertises the BGP Extended Message
    Capability MUST be capable of receiving a message with a length up to and
    including 65,535 octets." nexthop serve advertises it, nva1 does too: the
    UPDATE is learned, no NOTIFICATION. With nva2 (the plain Speaker) Established
    on both instances, nva2 stays up too: an attribute set too large to reflect to
    a peer is not sent to it (RFC 8654 §4) and resets no one."""

    async def case(served: Any, api: httpx.AsyncClient) -> None:
        nva2 = nva_speaker("nva2", example_addresses(), served.bgp_port)
        if other_client:
            await nva2.start()
        try:
            await until(
                lambda: (
                    not other_client
                    or all(nva2.peer_state(p) is SessionState.ESTABLISHED for p in nva2.peers)
                ),
                "nva2 Established on both instances",
            )
            peer = await _session(served.bgp_port, extended=True)
            await until(lambda: _learned_has(api, GOOD), "the known-good route learned")
            peer.send(_max_update(PROBE))
            await peer.drain()
            await until(lambda: _learned_has(api, PROBE), "the 65,535-octet UPDATE learned")
            await _still_up(peer)
            assert (await _status(api))["state"] == "Established"
            if other_client:
                assert all(nva2.peer_state(p) is SessionState.ESTABLISHED for p in nva2.peers)
            peer.close()
        finally:
            if other_client:
                await nva2.stop()

    _serve_case(tmp_path, case)

"""Two nexthop Speakers over real loopback TCP.

Every wait is event-driven (``Speaker.wait_for`` re-checks after each session
event) with a deadline; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from structlog.testing import capture_logs

from nexthop.bgp.constants import CeaseSubcode, ErrorCode
from nexthop.bgp.fsm import SessionState
from nexthop.bgp.wire import Notification, shutdown_communication
from nexthop.net.prefix import parse_address, parse_prefix
from nexthop.runtime.bgp_transport import describe_notification
from nexthop.runtime.speaker import PeerConfig, Speaker, parse_community

T = TypeVar("T")
TIMEOUT = 10.0
A_ADDR, B_ADDR, STRANGER = "127.0.1.1", "127.0.1.2", "127.0.1.9"
A_ASN, B_ASN = 65001, 4200000002  # B needs 4 octets (RFC 6793)
TIMERS = {"hold_time": 9, "keepalive": 3, "connect_retry": 1.0, "idle_hold_time": 0.2}


def run(coro: Awaitable[T]) -> T:
    async def wrapped() -> T:
        return await asyncio.wait_for(coro, 60)

    return asyncio.run(wrapped())


async def pair(
    *, a_passive: bool = False, b_passive: bool = True, b_port: int = 0
) -> tuple[Speaker, Speaker]:
    """Start A and B on loopback; A dials B unless told otherwise."""
    a = Speaker(A_ASN, A_ADDR, listen_address=A_ADDR, listen_port=0)
    b = Speaker(B_ASN, B_ADDR, listen_address=B_ADDR, listen_port=b_port)
    await a.start()
    await b.start()
    b.add_peer(
        PeerConfig(address=A_ADDR, asn=A_ASN, port=a.listen_port, passive=b_passive, **TIMERS)
    )
    a.add_peer(
        PeerConfig(address=B_ADDR, asn=B_ASN, port=b.listen_port, passive=a_passive, **TIMERS)
    )
    return a, b


async def stop_all(*speakers: Speaker) -> None:
    for speaker in speakers:
        await speaker.stop()


def established(speaker: Speaker, peer: str) -> Callable[[], bool]:
    return lambda: speaker.peer_state(peer) is SessionState.ESTABLISHED


def test_routes_flow_both_ways_with_third_party_next_hop_and_communities() -> None:
    async def scenario() -> None:
        a, b = await pair()
        try:
            a.announce(
                "203.0.113.0/24",
                next_hop="192.0.2.10",
                communities=["65001:100"],
                large_communities=["4200000002:7:8"],
            )
            a.announce("2001:db8:a::/48", next_hop="2001:db8::a")
            b.announce("198.51.100.0/24", next_hop="192.0.2.20")
            await a.wait_established(B_ADDR, TIMEOUT)
            await b.wait_for(lambda: len(b.received_routes(A_ADDR)) == 2, TIMEOUT)
            await a.wait_for(lambda: len(a.received_routes(B_ADDR)) == 1, TIMEOUT)
            assert b.received_count(A_ADDR) == 2
            assert a.received_count(B_ADDR) == 1

            v4 = b.received_routes(A_ADDR)[parse_prefix("203.0.113.0/24")]
            assert v4.next_hop == "192.0.2.10"
            assert v4.attributes.communities == (parse_community("65001:100"),)
            assert v4.attributes.large_communities == ((4200000002, 7, 8),)
            assert [s.asns for s in v4.attributes.as_path] == [(A_ASN,)]
            v6 = b.received_routes(A_ADDR)[parse_prefix("2001:db8:a::/48")]
            assert v6.next_hops == (parse_address("2001:db8::a")[1],)
            back = a.received_routes(B_ADDR)[parse_prefix("198.51.100.0/24")]
            assert back.next_hop == "192.0.2.20"
            assert [s.asns for s in back.attributes.as_path] == [(B_ASN,)]
            negotiated = a.negotiated(B_ADDR)
            assert negotiated is not None
            assert negotiated.asn4
            assert negotiated.peer_asn == B_ASN
            assert negotiated.hold_time == 9
            assert b.end_of_rib_received(A_ADDR) == {(1, 1), (2, 1)}
        finally:
            await stop_all(a, b)

    run(scenario())


def test_withdraw_removes_the_route_from_the_peer() -> None:
    async def scenario() -> None:
        a, b = await pair()
        try:
            a.announce("203.0.113.0/24", next_hop="192.0.2.10")
            a.announce("2001:db8:a::/48", next_hop="2001:db8::a")
            await b.wait_for(lambda: len(b.received_routes(A_ADDR)) == 2, TIMEOUT)
            a.withdraw("203.0.113.0/24")
            a.withdraw("2001:db8:a::/48")
            await b.wait_for(lambda: not b.received_routes(A_ADDR), TIMEOUT)
            assert b.received_count(A_ADDR) == 0
            assert b.peer_state(A_ADDR) is SessionState.ESTABLISHED
        finally:
            await stop_all(a, b)

    run(scenario())


def test_route_refresh_resends_the_adj_rib_out_inside_borr_eorr() -> None:
    async def scenario() -> None:
        a, b = await pair()
        try:
            a.announce("203.0.113.0/24", next_hop="192.0.2.10")
            await b.wait_for(lambda: len(b.received_routes(A_ADDR)) == 1, TIMEOUT)
            before = b.counters(A_ADDR)
            assert before is not None
            b.request_refresh(A_ADDR, (1, 1))
            await a.wait_for(lambda: a.refreshes_received(B_ADDR) == 1, TIMEOUT)

            def resent() -> bool:
                counters = b.counters(A_ADDR)
                return counters is not None and counters.updates_in > before.updates_in

            await b.wait_for(resent, TIMEOUT)
            await b.wait_for(
                lambda: (
                    (c := b.counters(A_ADDR)) is not None
                    and c.messages_in["ROUTE_REFRESH"] == before.messages_in["ROUTE_REFRESH"] + 2
                ),
                TIMEOUT,
            )
            # After EoRR the route is current again, not stale (RFC 7313 §4).
            routes = b.received_routes(A_ADDR)
            assert [r.stale for r in routes.values()] == [False]
        finally:
            await stop_all(a, b)

    run(scenario())


def test_both_sides_dialing_collide_and_end_with_one_session() -> None:
    async def scenario() -> None:
        a, b = await pair(a_passive=False, b_passive=False)
        try:
            a.announce("203.0.113.0/24", next_hop="192.0.2.10")
            await a.wait_established(B_ADDR, TIMEOUT)
            await b.wait_established(A_ADDR, TIMEOUT)
            await b.wait_for(lambda: len(b.received_routes(A_ADDR)) == 1, TIMEOUT)
            for speaker, peer in ((a, B_ADDR), (b, A_ADDR)):
                counters = speaker.counters(peer)
                assert counters is not None
                assert counters.established_count == 1
                assert counters.flaps == 0
        finally:
            await stop_all(a, b)

    run(scenario())


def test_unconfigured_peer_is_closed_at_once_and_logged() -> None:
    async def scenario() -> None:
        with capture_logs() as logs:
            a, b = await pair()
            try:
                await a.wait_established(B_ADDR, TIMEOUT)
                reader, writer = await asyncio.open_connection(
                    B_ADDR, b.listen_port, local_addr=(STRANGER, 0)
                )
                try:
                    data = await asyncio.wait_for(reader.read(4096), TIMEOUT)
                except ConnectionResetError:
                    data = b""
                finally:
                    writer.close()
                    with contextlib.suppress(OSError):
                        await writer.wait_closed()
                assert data == b""
                assert b.peer_state(A_ADDR) is SessionState.ESTABLISHED
            finally:
                await stop_all(a, b)
        rejected = [e for e in logs if e["event"] == "connection_rejected"]
        assert [e["remote"] for e in rejected] == [STRANGER]

    run(scenario())


def test_graceful_stop_sends_cease_with_shutdown_communication() -> None:
    async def scenario() -> None:
        a, b = await pair()
        try:
            a.announce("203.0.113.0/24", next_hop="192.0.2.10")
            await b.wait_for(lambda: len(b.received_routes(A_ADDR)) == 1, TIMEOUT)
            await a.stop("planned maintenance, back at 20:00")
            await b.wait_for(lambda: not established(b, A_ADDR)(), TIMEOUT)
            notification = b.last_notification(A_ADDR)
            assert notification is not None
            assert (notification.code, notification.subcode) == (
                ErrorCode.CEASE,
                CeaseSubcode.ADMINISTRATIVE_SHUTDOWN,
            )
            assert shutdown_communication(notification) == "planned maintenance, back at 20:00"
            assert b.received_routes(A_ADDR) == {}
        finally:
            await stop_all(a, b)

    run(scenario())


def test_state_changes_and_notifications_are_logged_with_names() -> None:
    async def scenario() -> list[dict[str, object]]:
        with capture_logs() as logs:
            a, b = await pair()
            try:
                await b.wait_established(A_ADDR, TIMEOUT)
                await a.stop("see you")
                await b.wait_for(lambda: b.last_notification(A_ADDR) is not None, TIMEOUT)
            finally:
                await stop_all(a, b)
        return logs

    logs = run(scenario())
    states = [
        (e["old"], e["new"])
        for e in logs
        if e["event"] == "bgp_state_changed" and e.get("peer") == B_ADDR
    ]
    assert ("OpenConfirm", "Established") in states or ("OpenSent", "Established") in states
    assert states[-1] == ("Established", "Idle")
    sent = [e for e in logs if e["event"] == "notification_sent" and e.get("peer") == B_ADDR]
    received = [
        e for e in logs if e["event"] == "notification_received" and e.get("peer") == A_ADDR
    ]
    for entries in (sent, received):
        assert len(entries) == 1
        assert entries[0]["error"] == "CEASE"
        assert entries[0]["suberror"] == "ADMINISTRATIVE_SHUTDOWN"
        assert entries[0]["communication"] == "see you"


def test_describe_notification_names_codes_and_keeps_unknown_ones() -> None:
    hold = describe_notification(Notification(code=4, subcode=0))
    assert hold == {"code": 4, "subcode": 0, "error": "HOLD_TIMER_EXPIRED", "suberror": "0"}
    odd = describe_notification(Notification(code=99, subcode=7, data=b"\x01\x02"))
    assert odd == {"code": 99, "subcode": 7, "error": "99", "suberror": "7", "data": "0102"}
    header = describe_notification(Notification(code=1, subcode=2, data=b"\x00\x10"))
    assert header["suberror"] == "BAD_MESSAGE_LENGTH"


def test_session_comes_back_after_the_peer_restarts() -> None:
    async def scenario() -> None:
        # B listens and waits; A dials. A restarts as a new process would.
        a, b = await pair()
        b.announce("198.51.100.0/24", next_hop="192.0.2.20")
        try:
            await a.wait_for(lambda: len(a.received_routes(B_ADDR)) == 1, TIMEOUT)
            await a.stop("restarting")
            await b.wait_for(lambda: not established(b, A_ADDR)(), TIMEOUT)
            a2 = Speaker(A_ASN, A_ADDR, listen_address=A_ADDR, listen_port=0)
            await a2.start()
            try:
                a2.add_peer(PeerConfig(address=B_ADDR, asn=B_ASN, port=b.listen_port, **TIMERS))
                await b.wait_established(A_ADDR, TIMEOUT)
                await a2.wait_for(lambda: len(a2.received_routes(B_ADDR)) == 1, TIMEOUT)
                counters = b.counters(A_ADDR)
                assert counters is not None
                assert counters.established_count == 2
            finally:
                await a2.stop()
        finally:
            await stop_all(a, b)

    run(scenario())


def test_ttl_is_applied_to_both_ends_and_connection_info_is_reported() -> None:
    async def scenario() -> None:
        a = Speaker(A_ASN, A_ADDR, listen_address=A_ADDR, listen_port=0)
        b = Speaker(B_ASN, B_ADDR, listen_address=B_ADDR, listen_port=0)
        await a.start()
        await b.start()
        try:
            b.add_peer(PeerConfig(address=A_ADDR, asn=A_ASN, passive=True, ttl=7, **TIMERS))
            a.add_peer(PeerConfig(address=B_ADDR, asn=B_ASN, port=b.listen_port, ttl=9, **TIMERS))
            await a.wait_established(B_ADDR, TIMEOUT)
            await b.wait_established(A_ADDR, TIMEOUT)
            outbound, inbound = a.connection(B_ADDR), b.connection(A_ADDR)
            assert outbound is not None
            assert inbound is not None
            assert (outbound.ttl, outbound.inbound) == (9, False)
            assert (inbound.ttl, inbound.inbound) == (7, True)
            assert outbound.local == inbound.remote
            assert outbound.remote == (B_ADDR, b.listen_port)
        finally:
            await stop_all(a, b)

    run(scenario())


def test_removing_a_peer_sends_cease_peer_deconfigured() -> None:
    async def scenario() -> None:
        a, b = await pair()
        try:
            await b.wait_established(A_ADDR, TIMEOUT)
            a.remove_peer(B_ADDR)
            assert a.peers == []
            await b.wait_for(lambda: b.last_notification(A_ADDR) is not None, TIMEOUT)
            notification = b.last_notification(A_ADDR)
            assert notification is not None
            assert (notification.code, notification.subcode) == (
                ErrorCode.CEASE,
                CeaseSubcode.PEER_DE_CONFIGURED,
            )
            with pytest.raises(KeyError):
                a.peer_state(B_ADDR)
        finally:
            await stop_all(a, b)

    run(scenario())


def test_session_over_ipv6_transport() -> None:
    async def scenario() -> None:
        a = Speaker(A_ASN, A_ADDR, listen_address="::1", listen_port=0)
        b = Speaker(B_ASN, B_ADDR, listen_address="::1", listen_port=0)
        await a.start()
        await b.start()
        try:
            b.add_peer(PeerConfig(address="::1", asn=A_ASN, passive=True, **TIMERS))
            a.add_peer(PeerConfig(address="::1", asn=B_ASN, port=b.listen_port, **TIMERS))
            a.announce("2001:db8:a::/48", next_hop="2001:db8::a")
            await b.wait_for(lambda: len(b.received_routes("::1")) == 1, TIMEOUT)
            route = b.received_routes("0:0::1")[parse_prefix("2001:db8:a::/48")]
            assert route.next_hop == "2001:db8::a"
            info = a.connection("::1")
            assert info is not None
            assert info.remote == ("::1", b.listen_port)
        finally:
            await stop_all(a, b)

    run(scenario())


def test_dialing_retries_until_the_peer_listens() -> None:
    async def scenario() -> None:
        with socket.socket() as probe:  # a port nobody listens on yet
            probe.bind((B_ADDR, 0))
            port = probe.getsockname()[1]
        a = Speaker(A_ASN, A_ADDR, listen_address=A_ADDR, listen_port=0)
        await a.start()
        b = Speaker(B_ASN, B_ADDR, listen_address=B_ADDR, listen_port=port)
        try:
            a.add_peer(PeerConfig(address=B_ADDR, asn=B_ASN, port=port, **TIMERS))
            await a.wait_for(lambda: a.peer_state(B_ADDR) is SessionState.ACTIVE, TIMEOUT)
            await b.start()
            b.add_peer(PeerConfig(address=A_ADDR, asn=A_ASN, passive=True, **TIMERS))
            await b.wait_established(A_ADDR, TIMEOUT)
        finally:
            await stop_all(a, b)

    run(scenario())


@pytest.mark.slow
def test_keepalives_hold_the_session_over_several_hold_times() -> None:
    """Hold time 3 s, keepalive 1 s: only the driver's one re-armed timer keeps
    KEEPALIVEs flowing; a missed re-arm would expire the peer's hold timer."""

    async def scenario() -> None:
        short = {**TIMERS, "hold_time": 3, "keepalive": 1}
        a = Speaker(A_ASN, A_ADDR, listen_address=A_ADDR, listen_port=0)
        b = Speaker(B_ASN, B_ADDR, listen_address=B_ADDR, listen_port=0)
        await a.start()
        await b.start()
        try:
            b.add_peer(PeerConfig(address=A_ADDR, asn=A_ASN, passive=True, **short))
            a.add_peer(PeerConfig(address=B_ADDR, asn=B_ASN, port=b.listen_port, **short))
            await a.wait_established(B_ADDR, TIMEOUT)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while True:  # KEEPALIVEs raise no event, so poll the counters
                counters = [a.counters(B_ADDR), b.counters(A_ADDR)]
                if all(c is not None and c.messages_in["KEEPALIVE"] >= 6 for c in counters):
                    break
                assert loop.time() < deadline, counters
                await asyncio.sleep(0.2)
            for c in counters:
                assert c is not None
                assert (c.established_count, c.flaps) == (1, 0)
        finally:
            await stop_all(a, b)

    run(scenario())


def test_announce_rejects_an_ipv6_prefix_without_next_hop() -> None:
    speaker = Speaker(A_ASN, A_ADDR, listen_address=A_ADDR, listen_port=0)
    with pytest.raises(ValueError, match="next hop is required"):
        speaker.announce("2001:db8::/32")
    with pytest.raises(ValueError, match="not of the prefix's family"):
        speaker.announce("203.0.113.0/24", next_hop="2001:db8::1")

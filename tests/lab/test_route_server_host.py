"""``RouteServerHost``: a sans-IO ``RouteServer`` over real loopback TCP, with the
plain ``nexthop.runtime.speaker.Speaker`` playing the NVA.

Waits are bounded polls of live state; assertions are on states, routes and
NOTIFICATIONs, never on durations.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from nexthop.bgp.constants import CeaseSubcode, ErrorCode
from nexthop.bgp.fsm import SessionState
from nexthop.bgp.wire import shutdown_communication
from nexthop.lab import AddressMap
from nexthop.net.prefix import parse_prefix
from nexthop.routeserver import (
    IN_0,
    IN_1,
    PeeringConfig,
    RoutesChanged,
    RouteServer,
    RouteServerConfig,
)
from nexthop.runtime.route_server_host import HostTimers, RouteServerHost
from nexthop.runtime.speaker import PeerConfig, Speaker

WAIT = 10.0
NVA_IP = "10.50.0.4"
RS_IPS = ("10.50.1.4", "10.50.1.5")


async def _until(predicate: Callable[[], object]) -> None:
    async with asyncio.timeout(WAIT):
        while not predicate():
            await asyncio.sleep(0.02)


def _route_server(**limits: object) -> RouteServer:
    config = RouteServerConfig(
        name="rs",
        subnet=parse_prefix("10.50.1.0/26"),
        vnet_address_spaces=(parse_prefix("10.50.0.0/16"),),
        **limits,  # type: ignore[arg-type]
    )
    rs = RouteServer(config)
    rs.add_peering(PeeringConfig(name="nva", peer_ip=NVA_IP, peer_asn=65001))
    return rs


def _nva(addresses: AddressMap) -> Speaker:
    speaker = Speaker(65001, NVA_IP, listen_address=addresses.stand_in(NVA_IP), listen_port=0)
    for ip in RS_IPS:
        speaker.add_peer(
            PeerConfig(
                address=addresses.stand_in(ip),
                asn=65515,
                port=addresses.bgp_port,
                hold_time=9,
                keepalive=3,
                connect_retry=0.2,
                idle_hold_time=0.1,
            )
        )
    return speaker


def _run(
    addresses: AddressMap,
    rs: RouteServer,
    body: Callable[[RouteServerHost, Speaker, list[RoutesChanged]], Awaitable[None]],
) -> None:
    changes: list[RoutesChanged] = []

    async def main() -> None:
        host = RouteServerHost(
            rs,
            addresses=addresses,
            port=addresses.bgp_port,
            timers=HostTimers(hold_time=9, keepalive_time=3),
            on_routes_changed=changes.append,
        )
        speaker = _nva(addresses)
        await host.start()
        await speaker.start()
        try:
            await body(host, speaker, changes)
        finally:
            await speaker.stop()
            await host.stop()

    asyncio.run(main())


def test_routes_flow_both_ways_and_stop_sends_cease(addresses: AddressMap) -> None:
    rs = _route_server()

    async def body(host: RouteServerHost, nva: Speaker, changes: list[RoutesChanged]) -> None:
        instances = [addresses.stand_in(ip) for ip in RS_IPS]
        await _until(lambda: all(nva.peer_state(i) is SessionState.ESTABLISHED for i in instances))
        assert {(s.instance, s.state) for s in host.sessions()} == {
            (IN_0, SessionState.ESTABLISHED),
            (IN_1, SessionState.ESTABLISHED),
        }
        assert {s.stand_in for s in host.sessions()} == {addresses.stand_in(NVA_IP)}
        # The route server advertises the VNet address space to the NVA ...
        await _until(lambda: parse_prefix("10.50.0.0/16") in nva.received_routes(instances[0]))
        # ... and programs what the NVA announces, NEXT_HOP untouched (a topology address).
        nva.announce("192.168.7.0/24", next_hop="10.50.0.100")
        await _until(rs.vnet_routes)
        assert rs.vnet_routes() == [(parse_prefix("192.168.7.0/24"), (0x0A320064,))]
        assert any(parse_prefix("192.168.7.0/24") in c.prefixes for c in changes)

        await host.stop("maintenance")
        await _until(lambda: nva.last_notification(instances[0]) is not None)
        notification = nva.last_notification(instances[0])
        assert notification is not None
        assert (notification.code, notification.subcode) == (
            ErrorCode.CEASE,
            CeaseSubcode.ADMINISTRATIVE_SHUTDOWN,
        )
        assert shutdown_communication(notification) == "maintenance"
        assert rs.vnet_routes() == []

    _run(addresses, rs, body)


def test_connections_from_other_addresses_are_reset(addresses: AddressMap) -> None:
    rs = _route_server()

    async def body(host: RouteServerHost, nva: Speaker, changes: list[RoutesChanged]) -> None:
        target = (addresses.stand_in(RS_IPS[0]), addresses.bgp_port)
        loop = asyncio.get_running_loop()
        with socket.socket() as sock:
            sock.setblocking(False)
            sock.bind(("127.99.0.1", 0))
            await loop.sock_connect(sock, target)
            try:
                data = await asyncio.wait_for(loop.sock_recv(sock, 100), WAIT)
            except ConnectionResetError:
                data = b""
        assert data == b""  # closed without an OPEN
        assert host.rejected_connections == 1
        assert all(s.peer_ip == NVA_IP for s in host.sessions())

    _run(addresses, rs, body)


def test_max_prefix_teardown_refuses_the_peer_during_idle_hold(addresses: AddressMap) -> None:
    rs = _route_server(max_routes_per_peer=1, idle_hold_after_max_prefix=60.0)

    async def body(host: RouteServerHost, nva: Speaker, changes: list[RoutesChanged]) -> None:
        first = addresses.stand_in(RS_IPS[0])
        await _until(lambda: nva.peer_state(first) is SessionState.ESTABLISHED)
        nva.announce("192.168.1.0/24", next_hop=NVA_IP)
        nva.announce("192.168.2.0/24", next_hop=NVA_IP)
        await _until(lambda: nva.last_notification(first) is not None)
        notification = nva.last_notification(first)
        assert notification is not None
        assert (notification.code, notification.subcode) == (
            ErrorCode.CEASE,
            CeaseSubcode.MAXIMUM_NUMBER_OF_PREFIXES_REACHED,
        )
        rows = {s.instance: s for s in host.sessions()}
        assert rows[IN_0].refused_until is not None
        # The NVA keeps dialling (connect retry 0.2 s); the host keeps refusing.
        refused = host.refused_connections
        await _until(lambda: host.refused_connections >= refused + 2)
        assert host.session_state(IN_0, "nva") is SessionState.IDLE
        assert nva.peer_state(first) is not SessionState.ESTABLISHED

    _run(addresses, rs, body)


def test_outputs_of_owner_calls_are_carried_route_refresh_included(addresses: AddressMap) -> None:
    rs = _route_server()

    async def body(host: RouteServerHost, nva: Speaker, changes: list[RoutesChanged]) -> None:
        instances = [addresses.stand_in(ip) for ip in RS_IPS]
        await _until(lambda: all(nva.peer_state(i) is SessionState.ESTABLISHED for i in instances))
        spoke = parse_prefix("10.60.0.0/16")
        # A spoke VNet peering: the route server asks every NVA for a ROUTE-REFRESH
        # (RFC 2918) and advertises the spoke's space (route-server-spec §1.6).
        host.carry(rs.add_vnet_peering([spoke], host.now()))
        await _until(lambda: all(nva.refreshes_received(i) == 1 for i in instances))
        await _until(lambda: all(spoke in nva.received_routes(i) for i in instances))

    _run(addresses, rs, body)

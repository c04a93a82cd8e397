"""Issue 15: no exception ever leaves a session's handler. With the oversized
routes fixed there is no known public input that makes the route server raise,
so the fault is injected at the transport edge: a ``RouteServerHost`` over real
loopback TCP whose route server raises for one chosen UPDATE, or while sending
its table to one client. Only that session is reset, with a NOTIFICATION Cease,
subcode 0 (Unspecific; RFC 4271 §6.7, §4.5), and the traceback is logged; the
other session keeps its routes and stays Established."""

from __future__ import annotations

import asyncio

from attack_wire import RawPeer, connect
from serve_process import free_port, until
from structlog.testing import capture_logs

from nexthop.bgp.constants import ErrorCode
from nexthop.bgp.fsm import SessionState
from nexthop.bgp.wire import Keepalive, Notification, Update
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes
from nexthop.bgp.wire.negotiated import Negotiated
from nexthop.lab import AddressMap
from nexthop.net.prefix import parse_address, parse_prefix
from nexthop.routeserver import IN_0, Output, PeeringConfig, RouteServer, RouteServerConfig
from nexthop.runtime.route_server_host import RouteServerHost

RS_IPS = ("10.60.1.4", "10.60.1.5")
NVAS = {"a": "10.60.0.4", "b": "10.60.0.5"}
POISON = parse_prefix("203.0.113.0/24")
GOOD = parse_prefix("198.51.100.0/24")


class FaultyRouteServer(RouteServer):
    """Raises where a bug would: on one UPDATE, or when a chosen peering comes up."""

    fail_established: str | None = None

    def receive_update(
        self, instance: str, peering: str, update: Update, now: float
    ) -> list[Output]:
        if POISON in update.nlri:
            raise RuntimeError("injected fault while handling an UPDATE")
        return super().receive_update(instance, peering, update, now)

    def peer_established(
        self, instance: str, peering: str, negotiated: Negotiated, now: float
    ) -> list[Output]:
        if peering == self.fail_established:
            raise RuntimeError("injected fault while sending the table")
        return super().peer_established(instance, peering, negotiated, now)


def _route_server() -> FaultyRouteServer:
    config = RouteServerConfig(
        name="rs",
        subnet=parse_prefix("10.60.1.0/26"),
        vnet_address_spaces=(parse_prefix("10.60.0.0/16"),),
    )
    rs = FaultyRouteServer(config)
    for name, ip in NVAS.items():
        rs.add_peering(PeeringConfig(name=name, peer_ip=ip, peer_asn=65001))
    return rs


def _update(prefix_text: str, nva: str) -> Update:
    prefix = parse_prefix(prefix_text)
    next_hop = parse_address(NVAS[nva])[1]
    attrs = PathAttributes(as_path=(AsPathSegment(2, (65001,)),), next_hop=next_hop)
    return Update(attributes=attrs, nlri=(prefix,))


async def _closing_notification(peer: RawPeer) -> Notification:
    messages = await peer.until_closed()
    assert messages, "closed without a NOTIFICATION"
    last = messages[-1]
    assert isinstance(last, Notification), messages
    return last


def test_a_handler_error_resets_only_that_session_with_a_cease() -> None:
    async def main() -> None:
        addresses = AddressMap([*RS_IPS, *NVAS.values()], bgp_port=free_port())
        rs = _route_server()
        host = RouteServerHost(rs, addresses=addresses, port=addresses.bgp_port)
        await host.start()
        peers: list[RawPeer] = []
        try:
            instance = (addresses.stand_in(RS_IPS[0]), addresses.bgp_port)
            a = await connect(addresses.stand_in(NVAS["a"]), instance, bgp_id=0x0A3C0004)
            b = await connect(addresses.stand_in(NVAS["b"]), instance, bgp_id=0x0A3C0005)
            peers += [a, b]
            await a.initial_table()
            await b.initial_table()
            b.send(_update(str(GOOD), "b"))
            await until(lambda: bool(rs.vnet_routes()), "b's route programmed")

            a.send(_update(str(POISON), "a"))  # the route server raises on this one
            notification = await _closing_notification(a)
            assert (notification.code, notification.subcode) == (ErrorCode.CEASE, 0)
            assert host.session_state(IN_0, "b") is SessionState.ESTABLISHED
            assert host.session_state(IN_0, "a") is not SessionState.ESTABLISHED
            assert [p for p, _ in rs.vnet_routes()] == [GOOD]  # b's route untouched

            # The original crash path: sending the table when a client comes up.
            rs.fail_established = "a"
            a2 = await connect(addresses.stand_in(NVAS["a"]), instance, bgp_id=0x0A3C0004)
            peers.append(a2)
            notification = await _closing_notification(a2)
            assert (notification.code, notification.subcode) == (ErrorCode.CEASE, 0)
            rs.fail_established = None
            b.send(Keepalive())
            assert host.session_state(IN_0, "b") is SessionState.ESTABLISHED

            # Once the fault is gone the peer is served again.
            a3 = await connect(addresses.stand_in(NVAS["a"]), instance, bgp_id=0x0A3C0004)
            peers.append(a3)
            assert GOOD in {p for u in await a3.initial_table() for p in u.nlri}
        finally:
            for peer in peers:
                peer.close()
            await host.stop()

    with capture_logs() as logs:
        asyncio.run(main())
    failures = [e for e in logs if e["event"] == "session_handler_failed"]
    assert len(failures) == 2
    assert all(e.get("exc_info") and e["log_level"] == "error" for e in failures)
    assert {e["peering"] for e in failures} == {"a"}

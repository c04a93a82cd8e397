"""A small asyncio BGP speaker: configured peers, local routes, Adj-RIB-In per peer.

Built on ``SessionDriver`` (one sans-IO ``Session`` per connection); the
route bookkeeping (UPDATE building, Adj-RIB-In) is in ``runtime/routes.py``. It is the
plain speaker used by tests, the demo and the interop suite; the route server
sits on the same transport.

* Listener: only configured peer addresses are accepted (others are closed at
  once and logged).
* Connection collision (RFC 4271 §6.8): an inbound connection from a peer whose
  own outbound attempt is in OpenSent/OpenConfirm gets a second session; once a
  BGP Identifier is known the loser is closed with Cease/Connection Collision
  Resolution (RFC 4486), and an Established session always wins.
* Adj-RIB-Out is the set of local routes, sent whole when a session comes up,
  followed by End-of-RIB (RFC 4724 §2) per family, and again on ROUTE-REFRESH
  (RFC 2918 §4), framed by BoRR/EoRR when enhanced route refresh was negotiated
  (RFC 7313 §4).
* ``stop()`` ends every session with Cease/Administrative Shutdown and an optional
  shutdown communication (RFC 8203/9003).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import structlog

from nexthop.bgp.constants import (
    BGP_PORT,
    CeaseSubcode,
    Origin,
    RouteRefreshSubtype,
)
from nexthop.bgp.fsm import (
    Event,
    NotificationReceived,
    RouteRefreshReceived,
    Session,
    SessionConfig,
    SessionCounters,
    SessionDown,
    SessionEstablished,
    SessionState,
    UpdateReceived,
    resolve_collision,
)
from nexthop.bgp.wire import (
    GracefulRestart,
    Negotiated,
    Notification,
    PathAttributes,
    RouteRefresh,
    Update,
    cease_notification,
    end_of_rib,
    is_end_of_rib,
)
from nexthop.bgp.wire.negotiated import Family
from nexthop.net.prefix import Afi, Prefix, Safi, parse_address, parse_prefix
from nexthop.runtime.bgp_transport import BgpStream, ConnectionInfo, SessionDriver
from nexthop.runtime.routes import (
    AdjRibIn,
    LocalRoute,
    ReceivedRoute,
    build_update,
    build_withdraw,
    family_of,
    parse_community,
    parse_large_community,
)

__all__ = [
    "END_OF_RIB_ONLY",
    "ConnectionInfo",
    "LocalRoute",
    "PeerConfig",
    "ReceivedRoute",
    "Speaker",
    "parse_community",
]

IPV4_UNICAST: Family = (Afi.IPV4, Safi.UNICAST)
IPV6_UNICAST: Family = (Afi.IPV6, Safi.UNICAST)
# RFC 4724 §3: the capability with no AFI/SAFI says "I understand End-of-RIB"
# without asking the peer to keep our routes when we go down. Some peers (FRR)
# only send End-of-RIB, and only answer ROUTE-REFRESH after it, when we carry it.
END_OF_RIB_ONLY = GracefulRestart(restart_flags=0, restart_time=0, families=())
_DIALING = (SessionState.CONNECT, SessionState.OPENSENT, SessionState.OPENCONFIRM)
_KNOWS_PEER_ID = (SessionState.OPENCONFIRM, SessionState.ESTABLISHED)


def _norm(address: str) -> str:
    """Canonical text of an address; an IPv4-mapped IPv6 address (a dual-stack
    listener's view of an IPv4 peer) becomes the IPv4 address."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.compressed
    return ip.compressed


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerConfig:
    """One configured neighbor. ``port`` is the peer's port (we connect there);
    ``local_address`` is the source of our connections (defaults to the listen
    address when that is a specific address); ``ttl`` sets the IP TTL/hop limit
    of the session's packets (eBGP multihop)."""

    address: str
    asn: int
    port: int = BGP_PORT
    passive: bool = False
    local_address: str | None = None
    ttl: int | None = None
    hold_time: int = 90
    keepalive: int = 30
    connect_retry: float = 5.0
    idle_hold_time: float = 1.0
    families: frozenset[Family] = frozenset({IPV4_UNICAST, IPV6_UNICAST})
    graceful_restart: GracefulRestart | None = END_OF_RIB_ONLY


@dataclass(eq=False)
class _Peer:
    config: PeerConfig
    session_config: SessionConfig
    driver: SessionDriver | None = None  # the primary session
    extra: SessionDriver | None = None  # a colliding inbound session (RFC 4271 §6.8)
    replaced: bool = False  # the primary is an adopted inbound session
    live: SessionDriver | None = None  # the Established one
    rib_in: AdjRibIn = field(default_factory=AdjRibIn)
    end_of_rib: set[Family] = field(default_factory=set)
    refreshes_received: int = 0
    last_notification: Notification | None = None  # last one received from the peer
    log: structlog.typing.FilteringBoundLogger | None = None


class Speaker:
    """A BGP speaker on one listen address; see the module docstring."""

    def __init__(
        self,
        local_asn: int,
        bgp_id: int | str,
        listen_address: str = "127.0.0.1",
        listen_port: int = BGP_PORT,
    ) -> None:
        self.local_asn = local_asn
        self.bgp_id = bgp_id if isinstance(bgp_id, int) else int(ipaddress.IPv4Address(bgp_id))
        self.listen_address = listen_address
        self._listen_port = listen_port
        self._peers: dict[str, _Peer] = {}
        self._routes: dict[Prefix, LocalRoute] = {}
        self._server: asyncio.Server | None = None
        self._changed: asyncio.Condition | None = None
        self._stopping = False
        self.log = structlog.get_logger("nexthop.speaker").bind(local=listen_address, asn=local_asn)

    # --- configuration ----------------------------------------------------------

    @property
    def listen_port(self) -> int:
        """The bound port (the kernel's choice when created with port 0)."""
        if self._server is not None and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self._listen_port

    def add_peer(self, config: PeerConfig) -> None:
        address = _norm(config.address)
        if address in self._peers:
            msg = f"peer {address} is already configured"
            raise ValueError(msg)
        local = config.local_address
        listen = ipaddress.ip_address(self.listen_address)
        same_family = listen.version == ipaddress.ip_address(address).version
        if local is None and not listen.is_unspecified and same_family:
            local = self.listen_address  # dial from the address we listen on
        config = replace(config, address=address, local_address=local)
        session_config = SessionConfig(
            local_asn=self.local_asn,
            peer_asn=config.asn,
            bgp_id=self.bgp_id,
            peer_address=address,
            hold_time=config.hold_time,
            keepalive_time=config.keepalive,
            connect_retry_time=config.connect_retry,
            passive=config.passive,
            families=config.families,
            idle_hold_time=config.idle_hold_time,
            graceful_restart=config.graceful_restart,
        )
        peer = _Peer(config=config, session_config=session_config)
        peer.log = self.log.bind(peer=address)
        self._peers[address] = peer
        if self._server is not None:
            peer.driver = self._new_driver(peer, session_config)
            peer.driver.start()

    def remove_peer(self, address: str) -> None:
        """Forget a peer, ending its session with Cease/Peer De-configured (RFC 4486)."""
        peer = self._peer(address)
        notification = cease_notification(CeaseSubcode.PEER_DE_CONFIGURED)
        for driver in (peer.extra, peer.driver):
            if driver is not None:
                if driver.state is not SessionState.IDLE:
                    driver.stop(notification)
                driver.close()
        del self._peers[peer.config.address]
        self._notify()

    # --- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._changed = asyncio.Condition()
        self._server = await loop.create_server(
            lambda: BgpStream(self._on_inbound),
            self.listen_address,
            self._listen_port,
            reuse_address=True,
        )
        self.log.info("speaker_started", port=self.listen_port, peers=len(self._peers))
        for peer in self._peers.values():
            peer.driver = self._new_driver(peer, peer.session_config)
            peer.driver.start()

    async def stop(self, message: str = "", timeout: float = 2.0) -> None:
        """Cease/Administrative Shutdown to every peer, then close everything."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        closing: list[asyncio.Future[None]] = []
        for peer in self._peers.values():
            for driver in (peer.extra, peer.driver):
                if driver is None:
                    continue
                if driver.stream is not None:
                    closing.append(driver.stream.closed)
                if driver.state is not SessionState.IDLE:
                    notification = cease_notification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, message)
                    driver.stop(notification)
                driver.close()
        if closing:
            await asyncio.wait(closing, timeout=timeout)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        self.log.info("speaker_stopped")

    # --- routes --------------------------------------------------------------------

    def announce(
        self,
        prefix: Prefix | str,
        *,
        next_hop: str | None = None,
        communities: Iterable[str | int] = (),
        large_communities: Iterable[str | tuple[int, int, int]] = (),
        med: int | None = None,
        origin: int = Origin.IGP,
        attributes: PathAttributes | None = None,
    ) -> None:
        """Originate ``prefix`` (replacing an earlier announcement) to every peer."""
        prefix = parse_prefix(prefix) if isinstance(prefix, str) else prefix
        hop = parse_address(next_hop) if next_hop is not None else None
        if hop is None and prefix.afi != Afi.IPV4:
            msg = f"{prefix}: a next hop is required outside IPv4"
            raise ValueError(msg)
        if hop is not None and hop[0] != prefix.afi:
            msg = f"{prefix}: next hop {next_hop} is not of the prefix's family"
            raise ValueError(msg)
        if attributes is None:
            attributes = PathAttributes(
                origin=origin,
                med=med,
                communities=tuple(parse_community(c) for c in communities),
                large_communities=tuple(parse_large_community(c) for c in large_communities),
            )
        route = LocalRoute(
            prefix=prefix, attributes=attributes, next_hop=hop[1] if hop is not None else None
        )
        self._routes[prefix] = route
        for peer in self._peers.values():
            self._send_routes(peer, [route])

    def withdraw(self, prefix: Prefix | str) -> None:
        prefix = parse_prefix(prefix) if isinstance(prefix, str) else prefix
        if self._routes.pop(prefix, None) is None:
            return
        for peer in self._peers.values():
            driver, negotiated = self._live(peer)
            if negotiated is not None and family_of(prefix) in negotiated.families:
                assert driver is not None
                driver.send_update(build_withdraw(prefix))

    @property
    def local_routes(self) -> dict[Prefix, LocalRoute]:
        return dict(self._routes)

    def received_routes(self, peer: str) -> dict[Prefix, ReceivedRoute]:
        """The peer's Adj-RIB-In (empty while the session is down)."""
        return self._peer(peer).rib_in.snapshot()

    def end_of_rib_received(self, peer: str) -> frozenset[Family]:
        return frozenset(self._peer(peer).end_of_rib)

    def request_refresh(self, peer: str, family: Family | None = None) -> None:
        """Send ROUTE-REFRESH for ``family`` (default: every negotiated family)."""
        p = self._peer(peer)
        driver, negotiated = self._live(p)
        if driver is None or negotiated is None:
            msg = f"peer {peer} is not Established"
            raise RuntimeError(msg)
        for afi, safi in sorted([family] if family is not None else negotiated.families):
            driver.send_route_refresh(RouteRefresh(afi=afi, safi=safi))

    # --- state ---------------------------------------------------------------------

    @property
    def peers(self) -> list[str]:
        return list(self._peers)

    def connection(self, peer: str) -> ConnectionInfo | None:
        """The TCP connection of the peer's current session, if there is one."""
        p = self._peer(peer)
        driver = p.live or p.driver
        return driver.connection_info() if driver is not None else None

    def peer_state(self, peer: str) -> SessionState:
        p = self._peer(peer)
        if p.live is not None:
            return p.live.state
        return p.driver.state if p.driver is not None else SessionState.IDLE

    def negotiated(self, peer: str) -> Negotiated | None:
        return self._live(self._peer(peer))[1]

    def counters(self, peer: str) -> SessionCounters | None:
        p = self._peer(peer)
        driver = p.live or p.driver
        return driver.session.counters if driver is not None else None

    def last_notification(self, peer: str) -> Notification | None:
        """The last NOTIFICATION the peer sent us (kept after the session is down)."""
        return self._peer(peer).last_notification

    def refreshes_received(self, peer: str) -> int:
        return self._peer(peer).refreshes_received

    async def wait_for(self, predicate: Callable[[], object], timeout: float) -> None:
        """Wait until ``predicate()`` is true; it is re-checked after every event."""
        assert self._changed is not None, "start() the speaker first"
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def wait_established(self, peer: str, timeout: float = 10.0) -> None:
        await self.wait_for(lambda: self.peer_state(peer) is SessionState.ESTABLISHED, timeout)

    # --- internals -------------------------------------------------------------------

    def _peer(self, address: str) -> _Peer:
        try:
            return self._peers[_norm(address)]
        except KeyError:
            msg = f"unknown peer {address}"
            raise KeyError(msg) from None

    @staticmethod
    def _live(peer: _Peer) -> tuple[SessionDriver | None, Negotiated | None]:
        driver = peer.live
        if driver is None or driver.state is not SessionState.ESTABLISHED:
            return None, None
        return driver, driver.session.negotiated

    def _new_driver(self, peer: _Peer, config: SessionConfig) -> SessionDriver:
        return SessionDriver(
            Session(config),
            remote=(peer.config.address, peer.config.port),
            local_address=peer.config.local_address,
            ttl=peer.config.ttl,
            on_event=lambda driver, event: self._on_event(peer, driver, event),
            on_state=lambda driver, state: self._on_state(peer, driver, state),
            log=peer.log,
        )

    def _notify(self) -> None:
        changed = self._changed
        if changed is None:
            return

        async def wake() -> None:
            async with changed:
                changed.notify_all()

        asyncio.get_running_loop().create_task(wake())

    def _on_inbound(self, stream: BgpStream) -> None:
        address, port = stream.peername
        peer = self._peers.get(_norm(address)) if address else None
        if peer is None or self._stopping or peer.driver is None:
            self.log.warning("connection_rejected", remote=address, port=port, reason="not a peer")
            stream.abort()
            return
        primary = peer.driver
        log = peer.log or self.log
        if primary.state is SessionState.ACTIVE and primary.stream is None:
            log.info("connection_accepted", port=port)
            primary.attach(stream)
            return
        # Our own attempt is in flight or up: keep both until a BGP Identifier is
        # known, then resolve (RFC 4271 §6.8). Cancelling our connect instead
        # would make two speakers that dial each other drop both connections.
        if primary.state in _DIALING and not primary.inbound and peer.extra is None:
            log.info("connection_collision", port=port, state=primary.state.value)
            extra = self._new_driver(peer, replace(peer.session_config, passive=True))
            peer.extra = extra
            extra.start()
            extra.attach(stream)
            return
        log.info("connection_refused", port=port, state=primary.state.value)
        stream.abort()

    def _on_state(self, peer: _Peer, driver: SessionDriver, state: SessionState) -> None:
        self._resolve_collision(peer)
        self._notify()

    def _resolve_collision(self, peer: _Peer) -> None:
        """RFC 4271 §6.8, once either connection has the peer's BGP Identifier."""
        primary, extra = peer.driver, peer.extra
        if primary is None or extra is None:
            return
        if extra.state is SessionState.IDLE:
            peer.extra = None
            extra.close()
            return
        if primary.state is SessionState.IDLE and primary.stream is None:
            self._adopt(peer, extra)
            primary.close()
            return
        known = [d for d in (primary, extra) if d.state in _KNOWS_PEER_ID]
        if not known:
            return
        established = [d for d in known if d.state is SessionState.ESTABLISHED]
        if len(established) == 1:
            winner = established[0]
        else:
            negotiated = known[0].session.negotiated
            remote_id = negotiated.peer_bgp_id if negotiated is not None else 0
            keep = resolve_collision(self.bgp_id, remote_id)
            winner = primary if keep == "keep-local-initiated" else extra
        loser = extra if winner is primary else primary
        (peer.log or self.log).info(
            "collision_resolved", kept="inbound" if winner.inbound else "outbound"
        )
        if winner is extra:
            self._adopt(peer, extra)
        else:
            peer.extra = None
        loser.stop(cease_notification(CeaseSubcode.CONNECTION_COLLISION_RESOLUTION))
        loser.close()

    @staticmethod
    def _adopt(peer: _Peer, driver: SessionDriver) -> None:
        peer.driver = driver
        peer.extra = None
        peer.replaced = True

    def _on_event(self, peer: _Peer, driver: SessionDriver, event: Event) -> None:
        match event:
            case SessionEstablished(negotiated=negotiated):
                peer.live = driver
                peer.rib_in.clear()
                peer.end_of_rib.clear()
                self._send_all(peer, driver, negotiated, sorted(negotiated.families))
            case SessionDown():
                self._session_down(peer, driver)
            case UpdateReceived(update=update):
                self._receive_update(peer, update)
            case RouteRefreshReceived(refresh=refresh):
                self._receive_refresh(peer, driver, refresh)
            case NotificationReceived(notification=notification):
                peer.last_notification = notification
            case _:
                pass
        self._notify()

    def _session_down(self, peer: _Peer, driver: SessionDriver) -> None:
        if driver is peer.live:
            peer.live = None
            peer.rib_in.clear()
            peer.end_of_rib.clear()
        if driver is peer.extra:
            peer.extra = None
            driver.close()
        elif driver is peer.driver and peer.replaced and not self._stopping:
            # The adopted inbound session was passive; go back to the configured one.
            driver.close()
            fresh = self._new_driver(peer, peer.session_config)
            peer.driver, peer.replaced = fresh, False
            loop = asyncio.get_running_loop()
            loop.call_later(peer.config.idle_hold_time, self._restart, peer, fresh)

    def _restart(self, peer: _Peer, driver: SessionDriver) -> None:
        if peer.driver is driver and not self._stopping:
            driver.start()

    # Adj-RIB-In -------------------------------------------------------------------

    def _receive_update(self, peer: _Peer, update: Update) -> None:
        family = is_end_of_rib(update)
        if family is not None:
            peer.end_of_rib.add(family)
            return
        peer.rib_in.apply(update)

    def _receive_refresh(self, peer: _Peer, driver: SessionDriver, refresh: RouteRefresh) -> None:
        family = (refresh.afi, refresh.safi)
        if refresh.subtype == RouteRefreshSubtype.BORR:
            peer.rib_in.mark_stale(family)
            return
        if refresh.subtype == RouteRefreshSubtype.EORR:
            gone = peer.rib_in.purge_stale(family)
            if gone:
                (peer.log or self.log).info("stale_routes_purged", count=len(gone))
            return
        peer.refreshes_received += 1
        negotiated = driver.session.negotiated
        if negotiated is None or family not in negotiated.families:
            return
        (peer.log or self.log).info("route_refresh_received", afi=refresh.afi, safi=refresh.safi)
        self._send_all(peer, driver, negotiated, [family], refresh=True)

    # Adj-RIB-Out ------------------------------------------------------------------

    def _send_all(
        self,
        peer: _Peer,
        driver: SessionDriver,
        negotiated: Negotiated,
        families: list[Family],
        *,
        refresh: bool = False,
    ) -> None:
        enhanced = refresh and negotiated.enhanced_route_refresh
        for family in families:
            afi, safi = family
            if enhanced:
                borr = RouteRefresh(afi=afi, safi=safi, subtype=RouteRefreshSubtype.BORR)
                driver.send_route_refresh(borr)
            routes = [r for r in self._routes.values() if family_of(r.prefix) == family]
            for route in routes:
                driver.send_update(self._update_for(peer, driver, route))
            if enhanced:
                eorr = RouteRefresh(afi=afi, safi=safi, subtype=RouteRefreshSubtype.EORR)
                driver.send_route_refresh(eorr)
            elif not refresh:
                driver.send_update(end_of_rib(family))

    def _send_routes(self, peer: _Peer, routes: list[LocalRoute]) -> None:
        driver, negotiated = self._live(peer)
        if driver is None or negotiated is None:
            return
        for route in routes:
            if family_of(route.prefix) in negotiated.families:
                driver.send_update(self._update_for(peer, driver, route))

    def _update_for(self, peer: _Peer, driver: SessionDriver, route: LocalRoute) -> Update:
        local = None
        if route.next_hop is None and driver.stream is not None:
            afi, value = parse_address(driver.stream.sockname[0])
            local = value if afi == route.prefix.afi else None
        return build_update(
            route, local_asn=self.local_asn, peer_asn=peer.config.asn, local_address=local
        )

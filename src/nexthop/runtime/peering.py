"""Configured BGP peers over asyncio: listening, dialing, collisions, shutdown.

``Peering`` owns one ``SessionDriver`` per configured peer (two during a
collision) and hands each peer's session events to its owner. What to announce
and what to keep from a peer is the owner's business: the plain ``Speaker``
(``runtime/speaker.py``) and, later, the route server.

* Listener: only configured peer addresses are accepted; anything else is closed
  at once and logged (``connection_rejected``).
* Dialing: a non-passive peer's session asks for connections itself
  (``ConnectRequested``, again after each IdleHold restart, RFC 4271 §8.1.1).
  The default source address is the listen address.
* Connection collision (RFC 4271 §6.8): an inbound connection from a peer whose
  own outbound attempt is in Connect/OpenSent/OpenConfirm gets a second session.
  Once a BGP Identifier is known, ``resolve_collision`` picks the connection to
  keep and the other is closed with Cease/Connection Collision Resolution
  (RFC 4486 §3). An Established session always wins.
* ``stop()`` ends every session with Cease/Administrative Shutdown and an
  optional shutdown communication (RFC 8203/9003); ``remove_peer`` uses
  Cease/Peer De-configured.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import structlog

from nexthop.bgp.constants import BGP_PORT, CeaseSubcode
from nexthop.bgp.fsm import (
    Event,
    Session,
    SessionConfig,
    SessionCounters,
    SessionDown,
    SessionEstablished,
    SessionState,
    resolve_collision,
)
from nexthop.bgp.wire import GracefulRestart, Negotiated, cease_notification
from nexthop.bgp.wire.negotiated import Family
from nexthop.net.prefix import Afi, Safi
from nexthop.runtime.bgp_transport import BgpStream, ConnectionInfo, SessionDriver

__all__ = [
    "END_OF_RIB_ONLY",
    "IPV4_UNICAST",
    "IPV6_UNICAST",
    "PeerConfig",
    "Peering",
    "PeeringEventHandler",
    "normalize_address",
]

IPV4_UNICAST: Family = (Afi.IPV4, Safi.UNICAST)
IPV6_UNICAST: Family = (Afi.IPV6, Safi.UNICAST)
# RFC 4724 §3: the capability with no AFI/SAFI says "I understand End-of-RIB"
# without asking the peer to keep our routes when we go down. Some peers (FRR)
# only send End-of-RIB, and only answer ROUTE-REFRESH after it, when we carry it.
END_OF_RIB_ONLY = GracefulRestart(restart_flags=0, restart_time=0, families=())
_DIALING = (SessionState.CONNECT, SessionState.OPENSENT, SessionState.OPENCONFIRM)
_KNOWS_PEER_ID = (SessionState.OPENCONFIRM, SessionState.ESTABLISHED)

# (peer address, the driver, the event). SessionEstablished arrives once the
# driver is the peer's live session; SessionDown only when the live one ends.
PeeringEventHandler = Callable[[str, SessionDriver, Event], None]


def normalize_address(address: str) -> str:
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
    address when that is a specific address of the same family); ``ttl`` sets the
    IP TTL/hop limit of the session's packets (eBGP multihop)."""

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
    log: Any
    driver: SessionDriver | None = None  # the primary session
    extra: SessionDriver | None = None  # a colliding inbound session (RFC 4271 §6.8)
    replaced: bool = False  # the primary is an adopted inbound session
    live: SessionDriver | None = None  # the Established one


class Peering:
    """The configured peers of one speaker on one listen address."""

    def __init__(
        self,
        local_asn: int,
        bgp_id: int,
        listen_address: str,
        listen_port: int = BGP_PORT,
        *,
        on_event: PeeringEventHandler | None = None,
        log: Any = None,
    ) -> None:
        self.local_asn = local_asn
        self.bgp_id = bgp_id
        self.listen_address = listen_address
        self._listen_port = listen_port
        self._on_peer_event = on_event
        self._peers: dict[str, _Peer] = {}
        self._server: asyncio.Server | None = None
        self._changed: asyncio.Condition | None = None
        self._wake_pending = False
        self._stopping = False
        self.log = log if log is not None else structlog.get_logger("nexthop.peering")

    # --- configuration ------------------------------------------------------------

    @property
    def listen_port(self) -> int:
        """The bound port (the kernel's choice when created with port 0)."""
        if self._server is not None and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self._listen_port

    def add_peer(self, config: PeerConfig) -> str:
        """Configure a peer (started at once when running); returns its address key."""
        address = normalize_address(config.address)
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
        peer = _Peer(config=config, session_config=session_config, log=self.log.bind(peer=address))
        self._peers[address] = peer
        if self._server is not None and not self._stopping:
            peer.driver = self._new_driver(peer, session_config)
            peer.driver.start()
        return address

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
        self.notify()

    # --- lifecycle -------------------------------------------------------------------

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

    # --- state -------------------------------------------------------------------------

    @property
    def peers(self) -> list[str]:
        return list(self._peers)

    def config(self, peer: str) -> PeerConfig:
        return self._peer(peer).config

    def live(self, peer: str) -> tuple[SessionDriver, Negotiated] | None:
        """The peer's Established session and what it negotiated, if there is one."""
        driver = self._peer(peer).live
        if driver is None or driver.state is not SessionState.ESTABLISHED:
            return None
        negotiated = driver.session.negotiated
        return (driver, negotiated) if negotiated is not None else None

    def peer_state(self, peer: str) -> SessionState:
        p = self._peer(peer)
        driver = p.live or p.driver
        return driver.state if driver is not None else SessionState.IDLE

    def counters(self, peer: str) -> SessionCounters | None:
        p = self._peer(peer)
        driver = p.live or p.driver
        return driver.session.counters if driver is not None else None

    def connection(self, peer: str) -> ConnectionInfo | None:
        """The TCP connection of the peer's current session, if there is one."""
        p = self._peer(peer)
        driver = p.live or p.driver
        return driver.connection_info() if driver is not None else None

    async def wait_for(self, predicate: Callable[[], object], timeout: float) -> None:
        """Wait until ``predicate()`` is true; it is re-checked after every event."""
        assert self._changed is not None, "start() first"
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    def notify(self) -> None:
        """Wake ``wait_for`` callers (after any change they may be waiting on)."""
        changed = self._changed
        if changed is None or self._wake_pending:
            return  # one pending wake-up covers every change before it runs
        self._wake_pending = True

        async def wake() -> None:
            self._wake_pending = False
            async with changed:
                changed.notify_all()

        asyncio.get_running_loop().create_task(wake())

    # --- internals -----------------------------------------------------------------------

    def _peer(self, address: str) -> _Peer:
        try:
            return self._peers[normalize_address(address)]
        except KeyError:
            msg = f"unknown peer {address}"
            raise KeyError(msg) from None

    def _new_driver(self, peer: _Peer, config: SessionConfig) -> SessionDriver:
        return SessionDriver(
            Session(config),
            remote=(peer.config.address, peer.config.port),
            local_address=peer.config.local_address,
            ttl=peer.config.ttl,
            on_event=lambda driver, event: self._on_event(peer, driver, event),
            on_state=lambda driver, state: self._on_state(peer),
            log=peer.log,
        )

    def _on_inbound(self, stream: BgpStream) -> None:
        address, port = stream.peername
        peer = self._peers.get(normalize_address(address)) if address else None
        if peer is None or self._stopping or peer.driver is None:
            self.log.warning("connection_rejected", remote=address, port=port, reason="not a peer")
            stream.abort()
            return
        primary = peer.driver
        if primary.state is SessionState.ACTIVE and primary.stream is None:
            peer.log.info("connection_accepted", port=port)
            primary.attach(stream)
            return
        # Our own attempt is in flight or up: keep both until a BGP Identifier is
        # known, then resolve (RFC 4271 §6.8). Cancelling our connect instead
        # would make two speakers that dial each other drop both connections.
        if primary.state in _DIALING and not primary.inbound and peer.extra is None:
            peer.log.info("connection_collision", port=port, state=primary.state.value)
            extra = self._new_driver(peer, replace(peer.session_config, passive=True))
            peer.extra = extra
            extra.start()
            extra.attach(stream)
            return
        peer.log.info("connection_refused", port=port, state=primary.state.value)
        stream.abort()

    def _on_state(self, peer: _Peer) -> None:
        self._resolve_collision(peer)
        self.notify()

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
        peer.log.info("collision_resolved", kept="inbound" if winner.inbound else "outbound")
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
        forward = True
        match event:
            case SessionEstablished():
                peer.live = driver
            case SessionDown():
                forward = driver is peer.live
                if forward:
                    peer.live = None
                self._session_down(peer, driver)
            case _:
                pass
        if forward and self._on_peer_event is not None:
            self._on_peer_event(peer.config.address, driver, event)
        self.notify()

    def _session_down(self, peer: _Peer, driver: SessionDriver) -> None:
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

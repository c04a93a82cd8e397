"""A small asyncio BGP speaker: configured peers, local routes, Adj-RIB-In per peer.

The plain speaker used by tests, the demo and the interop suite. Connections,
collisions and shutdown are ``Peering``'s job (``runtime/peering.py``, over
``SessionDriver`` from ``runtime/bgp_transport.py``); UPDATE building and the
Adj-RIB-In are in ``runtime/routes.py``. This module decides what to send:

* Adj-RIB-Out is the set of local routes. It is sent whole when a session comes
  up, followed by End-of-RIB (RFC 4724 §2) for each family. It is sent again on
  ROUTE-REFRESH (RFC 2918 §4), framed by BoRR/EoRR when enhanced route refresh
  was negotiated (RFC 7313 §4).
* A received BoRR marks the peer's routes of that family stale, and the EoRR
  purges those the peer did not re-send (RFC 7313 §4).
"""

from __future__ import annotations

import gc
import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import structlog

from nexthop.bgp.constants import BGP_PORT, Origin, RouteRefreshSubtype
from nexthop.bgp.fsm import (
    Event,
    NotificationReceived,
    RouteRefreshReceived,
    SessionCounters,
    SessionDown,
    SessionEstablished,
    SessionState,
    UpdateReceived,
)
from nexthop.bgp.wire import (
    Negotiated,
    Notification,
    PathAttributes,
    RouteRefresh,
    Update,
    end_of_rib,
    is_end_of_rib,
)
from nexthop.bgp.wire.negotiated import Family
from nexthop.net.prefix import Afi, Prefix, parse_address, parse_prefix
from nexthop.nva import parse_community
from nexthop.runtime.bgp_transport import ConnectionInfo, SessionDriver
from nexthop.runtime.peering import END_OF_RIB_ONLY, PeerConfig, Peering, normalize_address
from nexthop.runtime.routes import (
    LocalRoute,
    ReceivedRoute,
    ReceivedTable,
    build_update,
    build_withdraw,
    family_of,
    parse_large_community,
)

__all__ = [
    "BULK_GC_THRESHOLDS",
    "END_OF_RIB_ONLY",
    "ConnectionInfo",
    "LocalRoute",
    "PeerConfig",
    "ReceivedRoute",
    "Speaker",
    "parse_community",
    "use_bulk_gc_thresholds",
]

_DEFAULT_GC_THRESHOLDS = (700, 10, 10)  # CPython's
BULK_GC_THRESHOLDS = (100_000, 50, 100)


def use_bulk_gc_thresholds() -> bool:
    """Raise the cyclic garbage collector's thresholds for a process that holds
    a large RIB, unless the application already chose its own.

    A table is millions of small tracked objects that live long; with CPython's
    default thresholds the collector rescans them over and over, which cost
    35-50 % of ingest CPU time (docs/performance.md). Returns True when changed."""
    if gc.get_threshold() != _DEFAULT_GC_THRESHOLDS:
        return False
    gc.set_threshold(*BULK_GC_THRESHOLDS)
    return True


@dataclass(eq=False)
class _PeerRoutes:
    """What we know of one peer's routes and messages."""

    rib_in: ReceivedTable = field(default_factory=ReceivedTable)
    end_of_rib: set[Family] = field(default_factory=set)
    refreshes_received: int = 0
    last_notification: Notification | None = None  # the last one the peer sent


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
        self.log = structlog.get_logger("nexthop.speaker").bind(local=listen_address, asn=local_asn)
        self.peering = Peering(
            local_asn,
            self.bgp_id,
            listen_address,
            listen_port,
            on_event=self._on_event,
            log=self.log,
        )
        self._routes: dict[Prefix, LocalRoute] = {}
        self._state: dict[str, _PeerRoutes] = {}

    # --- configuration and lifecycle -------------------------------------------------

    @property
    def listen_port(self) -> int:
        """The bound port (the kernel's choice when created with port 0)."""
        return self.peering.listen_port

    def add_peer(self, config: PeerConfig) -> None:
        address = self.peering.add_peer(config)
        self._state[address] = _PeerRoutes()

    def remove_peer(self, address: str) -> None:
        """Forget a peer, ending its session with Cease/Peer De-configured."""
        self.peering.remove_peer(address)
        self._state.pop(normalize_address(address), None)

    async def start(self) -> None:
        use_bulk_gc_thresholds()
        await self.peering.start()

    async def stop(self, message: str = "", timeout: float = 2.0) -> None:
        """Cease/Administrative Shutdown (with ``message`` as the shutdown
        communication) to every peer, then close everything."""
        await self.peering.stop(message, timeout)

    # --- routes ---------------------------------------------------------------------------

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
        """Originate ``prefix`` (replacing an earlier announcement) to every peer.
        Without ``next_hop`` an IPv4 route carries our end of each session."""
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
        for peer in self.peering.peers:
            live = self.peering.live(peer)
            if live is not None and family_of(prefix) in live[1].families:
                live[0].send_update(self._update_for(peer, live[0], route))

    def withdraw(self, prefix: Prefix | str) -> None:
        prefix = parse_prefix(prefix) if isinstance(prefix, str) else prefix
        if self._routes.pop(prefix, None) is None:
            return
        for peer in self.peering.peers:
            live = self.peering.live(peer)
            if live is not None and family_of(prefix) in live[1].families:
                live[0].send_update(build_withdraw(prefix))

    @property
    def local_routes(self) -> dict[Prefix, LocalRoute]:
        return dict(self._routes)

    def received_routes(self, peer: str) -> dict[Prefix, ReceivedRoute]:
        """The peer's Adj-RIB-In (empty while the session is down)."""
        return self._routes_of(peer).rib_in.snapshot()

    def received_count(self, peer: str) -> int:
        """How many prefixes the peer's Adj-RIB-In holds, without copying it
        (what ``len(received_routes(peer))`` gives, in O(1))."""
        return len(self._routes_of(peer).rib_in)

    def end_of_rib_received(self, peer: str) -> frozenset[Family]:
        return frozenset(self._routes_of(peer).end_of_rib)

    def request_refresh(self, peer: str, family: Family | None = None) -> None:
        """Send ROUTE-REFRESH for ``family`` (default: every negotiated family)."""
        live = self.peering.live(peer)
        if live is None:
            msg = f"peer {peer} is not Established"
            raise RuntimeError(msg)
        driver, negotiated = live
        for afi, safi in sorted([family] if family is not None else negotiated.families):
            driver.send_route_refresh(RouteRefresh(afi=afi, safi=safi))

    # --- state ------------------------------------------------------------------------------

    @property
    def peers(self) -> list[str]:
        return self.peering.peers

    def peer_state(self, peer: str) -> SessionState:
        return self.peering.peer_state(peer)

    def negotiated(self, peer: str) -> Negotiated | None:
        live = self.peering.live(peer)
        return live[1] if live is not None else None

    def counters(self, peer: str) -> SessionCounters | None:
        return self.peering.counters(peer)

    def connection(self, peer: str) -> ConnectionInfo | None:
        """The TCP connection of the peer's current session, if there is one."""
        return self.peering.connection(peer)

    def last_notification(self, peer: str) -> Notification | None:
        """The last NOTIFICATION the peer sent us (kept after the session is down)."""
        return self._routes_of(peer).last_notification

    def refreshes_received(self, peer: str) -> int:
        return self._routes_of(peer).refreshes_received

    async def wait_for(self, predicate: Callable[[], object], timeout: float) -> None:
        """Wait until ``predicate()`` is true; it is re-checked after every event."""
        await self.peering.wait_for(predicate, timeout)

    async def wait_established(self, peer: str, timeout: float = 10.0) -> None:
        await self.wait_for(lambda: self.peer_state(peer) is SessionState.ESTABLISHED, timeout)

    # --- events -------------------------------------------------------------------------------

    def _routes_of(self, peer: str) -> _PeerRoutes:
        return self._state[self.peering.config(peer).address]  # KeyError: unknown peer

    def _on_event(self, peer: str, driver: SessionDriver, event: Event) -> None:
        state = self._state[peer]
        match event:
            case UpdateReceived(update=update):
                family = is_end_of_rib(update)
                if family is not None:
                    state.end_of_rib.add(family)
                else:
                    state.rib_in.apply(update)
            case SessionEstablished(negotiated=negotiated):
                state.rib_in.clear()
                state.end_of_rib.clear()
                self._send_all(peer, driver, negotiated, sorted(negotiated.families))
            case SessionDown():
                state.rib_in.clear()
                state.end_of_rib.clear()
            case RouteRefreshReceived(refresh=refresh):
                self._receive_refresh(peer, state, driver, refresh)
            case NotificationReceived(notification=notification):
                state.last_notification = notification
            case _:
                pass

    def _receive_refresh(
        self, peer: str, state: _PeerRoutes, driver: SessionDriver, refresh: RouteRefresh
    ) -> None:
        family = (refresh.afi, refresh.safi)
        log = driver.log
        if refresh.subtype == RouteRefreshSubtype.BORR:
            state.rib_in.mark_stale(family)
        elif refresh.subtype == RouteRefreshSubtype.EORR:
            gone = state.rib_in.purge_stale(family)
            if gone:
                log.info("stale_routes_purged", count=len(gone))
        else:
            state.refreshes_received += 1
            negotiated = driver.session.negotiated
            if negotiated is not None and family in negotiated.families:
                log.info("route_refresh_received", afi=refresh.afi, safi=refresh.safi)
                self._send_all(peer, driver, negotiated, [family], refresh=True)

    # --- Adj-RIB-Out ----------------------------------------------------------------------------

    def _send_all(
        self,
        peer: str,
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
            for route in self._routes.values():
                if family_of(route.prefix) == family:
                    driver.send_update(self._update_for(peer, driver, route))
            if enhanced:
                eorr = RouteRefresh(afi=afi, safi=safi, subtype=RouteRefreshSubtype.EORR)
                driver.send_route_refresh(eorr)
            elif not refresh:
                driver.send_update(end_of_rib(family))

    def _update_for(self, peer: str, driver: SessionDriver, route: LocalRoute) -> Update:
        local = None
        if route.next_hop is None and driver.stream is not None:
            afi, value = parse_address(driver.stream.sockname[0])
            local = value if afi == route.prefix.afi else None
        return build_update(
            route,
            local_asn=self.local_asn,
            peer_asn=self.peering.config(peer).asn,
            local_address=local,
        )

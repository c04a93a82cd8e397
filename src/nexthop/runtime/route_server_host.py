"""Run a sans-IO ``RouteServer`` over real TCP (the lab's route server process).

For each of the two instances (route-server-spec §1: ``RouteServiceRole_IN_0``
and ``_IN_1``) the host listens on the instance address's loopback stand-in
(``nexthop.runtime.addresses.AddressMap``) at the lab BGP port. The route server is
passive, like Azure's: NVAs open the sessions (RFC 4271 §8.2.1.1 PassiveTcp
establishment). An accepted connection is kept only when its source address is
the stand-in of a configured peering's ``peer_ip``; any other source is reset.

Each accepted connection gets a fresh passive ``Session`` driven by
``SessionDriver`` (the aioquic ``transmit()`` shape, style guide §1). Session facts
go into the ``RouteServer`` with ``now`` from the loop clock; its outputs are
carried out here:

* ``SendUpdate`` / ``SendRouteRefresh``: written on the instance's session with
  that peering (RFC 4271 §4.3, RFC 2918 §3);
* ``TeardownPeering``: NOTIFICATION (e.g. Cease/Maximum Number of Prefixes Reached,
  RFC 4486 §4) and close; new connections from that peer are refused for
  ``idle_hold`` seconds (RFC 4271 §8.1.1 IdleHoldTimer);
* ``RoutesChanged``: handed to ``on_routes_changed`` so the owner can re-program
  the VNet from ``RouteServer.vnet_routes()``;
* ``RouteServerWarning``: logged.

Addresses are translated at this edge only: the route server works with topology
addresses (peerings, instance IPs); what is on the wire are stand-ins. NEXT_HOP
values are data inside UPDATEs and stay topology addresses.

Peerings configured with BFD get BFD sessions (``nexthop.runtime.bfd_peerings``)
from the start; a BFD Down ends that BGP session at once with Cease/BFD Down
(RFC 9384). ``bfd_status`` is what views show.

``stop()`` sends Cease/Administrative Shutdown (RFC 4486 §4, RFC 8203/9003
communication) on every session and closes the listeners.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import structlog

from nexthop.bfd import BfdStatus
from nexthop.bgp.constants import CeaseSubcode
from nexthop.bgp.fsm import (
    Event,
    RouteRefreshReceived,
    Session,
    SessionConfig,
    SessionDown,
    SessionEstablished,
    SessionState,
    UpdateReceived,
)
from nexthop.bgp.wire import RouteRefresh, cease_notification
from nexthop.bgp.wire.errors import LocalProtocolError
from nexthop.bgp.wire.shared_encoding import SharedEncoder
from nexthop.routeserver import (
    INSTANCE_ROLES,
    Output,
    RoutesChanged,
    RouteServer,
    RouteServerWarning,
    SendRouteRefresh,
    SendUpdate,
    TeardownPeering,
)
from nexthop.routeserver.server import RegionOf
from nexthop.runtime.bfd_peerings import BfdPeerings
from nexthop.runtime.bgp_transport import BgpStream, SessionDriver
from nexthop.runtime.speaker import use_bulk_gc_thresholds

__all__ = [
    "AddressTranslator",
    "HostTimers",
    "HostedSession",
    "RouteServerHost",
    "fresh_route_server",
]


def fresh_route_server(
    model: RouteServer, *, region: str, frontend_region: RegionOf | None
) -> RouteServer:
    """A route server with ``model``'s configuration and peerings and nothing
    learned yet: the one a host serves in place of a model's simulated one."""
    live = RouteServer(model.config, region=region, frontend_region=frontend_region)
    for peering in model.peerings():
        live.add_peering(peering)
    return live


class AddressTranslator(Protocol):
    """Topology address <-> loopback stand-in (``nexthop.runtime.addresses.AddressMap``)."""

    def stand_in(self, address: str) -> str: ...

    def topology_address(self, stand_in: str) -> str | None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class HostTimers:
    """Session timers offered by the route server (RFC 4271 §10). Azure's are
    hold 180 s / keepalive 60 s; the lab's fast mode uses shorter ones."""

    hold_time: int = 180
    keepalive_time: int = 60


@dataclass(frozen=True, slots=True, kw_only=True)
class HostedSession:
    """One (instance, peering) session as the host sees it."""

    instance: str
    peering: str
    peer_ip: str  # topology address
    stand_in: str  # where the peer connects from
    state: SessionState
    established_at: float | None
    flaps: int
    refused_until: float | None


@dataclass(eq=False, slots=True)
class _Slot:
    instance: str
    peering: str
    peer_ip: str
    driver: SessionDriver | None = None
    established: bool = False
    established_at: float | None = None
    flaps: int = 0
    refuse_until: float = 0.0


class RouteServerHost:
    """One ``RouteServer`` served on loopback stand-ins; see the module docstring."""

    def __init__(
        self,
        route_server: RouteServer,
        *,
        addresses: AddressTranslator,
        port: int,
        timers: HostTimers | None = None,
        on_routes_changed: Callable[[RoutesChanged], None] | None = None,
        on_session_change: Callable[[HostedSession], None] | None = None,
        name: str = "",
    ) -> None:
        self.route_server = route_server
        self.name = name or route_server.config.name
        self.port = port
        self._addresses = addresses
        self._timers = timers or HostTimers()
        self._on_routes_changed = on_routes_changed
        self._on_session_change = on_session_change
        self._instance_ips = dict(
            zip(INSTANCE_ROLES, route_server.config.instance_ip_texts, strict=True)
        )
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._servers: list[asyncio.Server] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        # UPDATEs the route server sends to several clients are encoded once per
        # encoding parameters; the memo lives for one batch of outputs.
        self._encoder = SharedEncoder()
        # Sessions with queued UPDATEs, written once per loop iteration (one write
        # per session for all the UPDATEs one read of a peer's bytes produced).
        self._unflushed: dict[SessionDriver, None] = {}
        self.rejected_connections = 0  # from addresses that are not configured peers
        self.refused_connections = 0  # from peers in idle hold or with a session up
        self._bfd: BfdPeerings | None = None
        self.log = structlog.get_logger("nexthop.routeserver").bind(route_server=self.name)

    # --- lifecycle -------------------------------------------------------------

    def listen_addresses(self) -> dict[str, tuple[str, int]]:
        """Instance role -> (stand-in address, port) it listens on."""
        return {
            role: (self._addresses.stand_in(ip), self.port)
            for role, ip in self._instance_ips.items()
        }

    @property
    def running(self) -> bool:
        return bool(self._servers)

    async def start(self) -> None:
        use_bulk_gc_thresholds()
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        try:
            for role, (host, port) in self.listen_addresses().items():
                server = await self._loop.create_server(
                    functools.partial(BgpStream, functools.partial(self._on_inbound, role)),
                    host,
                    port,
                    reuse_address=True,
                )
                self._servers.append(server)
                self.log.info("instance_listening", instance=role, address=host, port=port)
        except OSError:
            await self.stop()
            raise
        self._bfd = BfdPeerings(self._loop, on_down=self._bfd_down, log=self.log)
        self._sync_bfd()

    async def stop(self, message: str = "", timeout: float = 2.0) -> None:
        """Cease/Administrative Shutdown on every session, then close the listeners."""
        self._stopping = True
        for server in self._servers:
            server.close()
        closing: list[asyncio.Future[None]] = []
        for slot in self._slots.values():
            driver, slot.driver = slot.driver, None
            if driver is None:
                continue
            if driver.stream is not None:
                closing.append(driver.stream.closed)
            if driver.state is not SessionState.IDLE:
                driver.stop(cease_notification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, message))
            driver.close()
            self._went_down(slot, "route server stopped")
        if closing:
            await asyncio.wait(closing, timeout=timeout)
        if self._bfd is not None:
            # AdminDown only after the Ceases: FRR takes BGP down on it (docs/bfd.md).
            self._bfd.close()
            self._bfd = None
        for server in self._servers:
            await server.wait_closed()
        self._servers = []
        self.log.info("route_server_stopped")

    # --- views ------------------------------------------------------------------

    def now(self) -> float:
        return self._loop.time() if self._loop is not None else 0.0

    def sessions(self) -> list[HostedSession]:
        """Every configured (instance, peering), Idle when there is no session."""
        rows: list[HostedSession] = []
        now = self.now()
        for peering in self.route_server.peerings():
            for role in INSTANCE_ROLES:
                rows.append(self._row(self._slot(role, peering.name, peering.peer_ip), now))
        return rows

    def _row(self, slot: _Slot, now: float) -> HostedSession:
        driver = slot.driver
        return HostedSession(
            instance=slot.instance,
            peering=slot.peering,
            peer_ip=slot.peer_ip,
            stand_in=self._addresses.stand_in(slot.peer_ip),
            state=driver.state if driver is not None else SessionState.IDLE,
            established_at=slot.established_at if slot.established else None,
            flaps=slot.flaps,
            refused_until=slot.refuse_until if slot.refuse_until > now else None,
        )

    def bfd_status(self, instance: str, peering: str) -> BfdStatus | None:
        """The BFD session of (instance, peering), None without BFD."""
        return self._bfd.status(instance, peering) if self._bfd is not None else None

    def session_state(self, instance: str, peering: str) -> SessionState:
        slot = self._slots.get((instance, peering))
        if slot is None or slot.driver is None:
            return SessionState.IDLE
        return slot.driver.state

    # --- inbound connections ------------------------------------------------------

    def _slot(self, role: str, peering: str, peer_ip: str) -> _Slot:
        key = (role, peering)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot(instance=role, peering=peering, peer_ip=peer_ip)
        return slot

    def _on_inbound(self, role: str, stream: BgpStream) -> None:
        source, port = stream.peername
        topo = self._addresses.topology_address(source) if source else None
        peering = next(
            (
                p
                for p in self.route_server.peerings()
                if topo is not None and _same(p.peer_ip, topo)
            ),
            None,
        )
        log = self.log.bind(instance=role, remote=source, port=port)
        if peering is None or self._stopping:
            log.warning("connection_rejected", reason="not a configured peer")
            self.rejected_connections += 1
            stream.abort()
            return
        slot = self._slot(role, peering.name, peering.peer_ip)
        now = self.now()
        if now < slot.refuse_until:
            log.info("connection_refused", peering=peering.name, reason="idle hold")
            self.refused_connections += 1
            stream.abort()
            return
        old = slot.driver
        if old is not None and old.state is not SessionState.IDLE:
            if old.state is SessionState.ACTIVE and old.stream is None:
                old.attach(stream)
                return
            log.info("connection_refused", peering=peering.name, state=old.state.value)
            self.refused_connections += 1
            stream.abort()
            return
        if old is not None:
            old.close()
        config = SessionConfig(
            local_asn=self.route_server.config.asn,
            peer_asn=peering.peer_asn,
            bgp_id=int(ipaddress.IPv4Address(self._instance_ips[role])),
            peer_address=peering.peer_ip,
            hold_time=self._timers.hold_time,
            keepalive_time=self._timers.keepalive_time,
            passive=True,
        )
        driver = SessionDriver(
            Session(config, encoder=self._encoder),
            remote=(source, port),
            on_event=lambda d, e: self._on_event(slot, d, e),
            log=log.bind(peering=peering.name),
        )
        slot.driver = driver
        log.info("connection_accepted", peering=peering.name)
        driver.start()
        driver.attach(stream)

    # --- session events -> RouteServer -------------------------------------------

    def _on_event(self, slot: _Slot, driver: SessionDriver, event: Event) -> None:
        if driver is not slot.driver:
            return
        try:
            self._feed(slot, driver, event)
        except LocalProtocolError as exc:  # a fact the route server did not expect
            self.log.error("route_server_rejected_event", error=str(exc), peering=slot.peering)

    def _feed(self, slot: _Slot, driver: SessionDriver, event: Event) -> None:
        now = self.now()
        rs = self.route_server
        match event:
            case SessionEstablished(negotiated=negotiated):
                slot.established, slot.established_at = True, now
                self._carry(rs.peer_established(slot.instance, slot.peering, negotiated, now))
                self._session_changed(slot)
            case UpdateReceived(update=update):
                if slot.established:
                    self._carry(rs.receive_update(slot.instance, slot.peering, update, now))
            case RouteRefreshReceived():
                if slot.established:
                    self._carry(rs.receive_route_refresh(slot.instance, slot.peering, now))
            case SessionDown(reason=reason):
                self._went_down(slot, reason.value)
                # The passive session would restart itself; the next accepted
                # connection gets a fresh one instead.
                asyncio.get_running_loop().call_soon(self._retire, slot, driver)
            case _:
                pass

    def _went_down(self, slot: _Slot, reason: str) -> None:
        if not slot.established:
            return
        slot.established, slot.established_at = False, None
        slot.flaps += 1
        self._carry(self.route_server.peer_down(slot.instance, slot.peering, self.now(), reason))
        self._session_changed(slot)

    def _session_changed(self, slot: _Slot) -> None:
        if self._on_session_change is not None:
            self._on_session_change(self._row(slot, self.now()))

    def _retire(self, slot: _Slot, driver: SessionDriver) -> None:
        if slot.driver is driver and driver.state is not SessionState.ESTABLISHED:
            slot.driver = None
            driver.close()

    # --- RouteServer outputs -> sessions -------------------------------------------

    def _live(self, instance: str, peering: str) -> SessionDriver | None:
        slot = self._slots.get((instance, peering))
        driver = slot.driver if slot is not None else None
        if driver is None or driver.state is not SessionState.ESTABLISHED:
            return None
        return driver

    def carry(self, outputs: list[Output]) -> None:
        """Carry out the outputs of a ``RouteServer`` call made by the owner, e.g.
        ``host.carry(rs.add_vnet_peering(spaces, host.now()))``."""
        self._carry(outputs)
        self._sync_bfd()  # the peerings may have changed (reconcile)

    # --- BFD (RFC 5880, RFC 5882) -----------------------------------------------------

    def _sync_bfd(self) -> None:
        if self._bfd is not None:
            local = {role: host for role, (host, _) in self.listen_addresses().items()}
            self._bfd.sync(self.route_server.peerings(), local, self._addresses.stand_in)

    def _bfd_down(self, instance: str, peering: str, reason: str) -> None:
        """BFD saw the path fail: the BGP session ends now with Cease/BFD Down
        (RFC 9384 §2), not at the hold timer; ``reason`` becomes the peering's last error."""
        slot = self._slots.get((instance, peering))
        if slot is None or slot.driver is None or slot.driver.state is SessionState.IDLE:
            return
        self.log.warning("bfd_down", instance=instance, peering=peering, reason=reason)
        self._went_down(slot, reason)
        slot.driver.stop(cease_notification(CeaseSubcode.BFD_DOWN))

    def _carry(self, outputs: list[Output]) -> None:
        unflushed = self._unflushed
        for output in outputs:
            if type(output) is SendUpdate:  # nearly every output
                driver = self._live(output.instance, output.peering)
                if driver is not None:
                    driver.queue_update(output.update)
                    if driver not in unflushed:
                        if not unflushed and self._loop is not None:
                            self._loop.call_soon(self._flush)
                        unflushed[driver] = None
                continue
            match output:
                case SendRouteRefresh(instance=role, peering=name, afi=afi, safi=safi):
                    driver = self._live(role, name)
                    if driver is not None:
                        driver.send_route_refresh(RouteRefresh(afi=afi, safi=safi))
                case TeardownPeering(instance=role, peering=name, notification=notification):
                    slot = self._slots.get((role, name))
                    if slot is None:
                        continue
                    slot.refuse_until = self.now() + output.idle_hold
                    self.log.warning(
                        "peering_teardown", instance=role, peering=name, reason=output.reason
                    )
                    if slot.driver is not None and slot.driver.state is not SessionState.IDLE:
                        slot.driver.stop(notification)
                case RoutesChanged():
                    if self._on_routes_changed is not None:
                        self._on_routes_changed(output)
                case RouteServerWarning(message=message, instance=role, peering=name):
                    self.log.warning(
                        "route_server_warning", msg=message, instance=role, peering=name
                    )
        self._encoder.clear()

    def _flush(self) -> None:
        """Write what ``_carry`` queued on each session since the last flush."""
        unflushed, self._unflushed = self._unflushed, {}
        for driver in unflushed:
            driver.transmit()


def _same(a: str, b: str) -> bool:
    return ipaddress.ip_address(a) == ipaddress.ip_address(b)

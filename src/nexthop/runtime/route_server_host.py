"""Run a sans-IO ``RouteServer`` over real TCP (the lab's route server process).

For each of the two instances (route-server-spec §1: ``RouteServiceRole_IN_0``
and ``_IN_1``) the host listens on the instance address's loopback stand-in
(``nexthop.runtime.addresses.AddressMap``) at the lab BGP port. The route server is
passive, like Azure's: NVAs open the sessions (RFC 4271 §8.2.1.1 PassiveTcp
establishment). An accepted connection is kept only when its source address is
the stand-in of a configured peering's ``peer_ip``; any other source is reset
before anything is kept for it, and a configured peer address opening
connections faster than ``AcceptLimits`` allows is reset too
(``nexthop.runtime.admission``; both counted and logged at most once a second).

Connection collisions (RFC 4271 §6.8): a second connection from a peering whose
session is already past Active is tracked beside the first until its OPEN
(sessions run with ``pause_after_open``); on each OPEN the other connection's
state decides (``resolve_open_collision``): Established or a higher local BGP
Identifier closes the new one, a higher remote one closes the one in
OpenConfirm, each loser with Cease / Connection Collision Resolution. At most
``MAX_CONNECTIONS`` per (instance, peering) are open: a further one replaces the
longest-waiting connection still in OpenSent (a silent connection cannot hold
the peering for its 240 s OpenSent hold time), or is reset when there is none.

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

Bulk work is stepped (issue 10: no event-loop turn longer than 50 ms): the
route server queues a new client's whole table, ROUTE-REFRESH answers and a
downed peer's withdrawals as jobs (``nexthop.routeserver.jobs``;
``RouteServer.set_stepping``), and the host runs them ``JOB_CHUNK`` prefixes at
a time as a step of the loop's ``TurnScheduler``, which shares each turn's
budget with the sessions' receive backlogs (``bgp_transport``).
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
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from nexthop.bfd import BfdStatus
from nexthop.bgp.constants import CeaseSubcode, RouteRefreshSubtype
from nexthop.bgp.fsm import (
    Event,
    OpenReceived,
    RouteRefreshReceived,
    Session,
    SessionConfig,
    SessionDown,
    SessionEstablished,
    SessionState,
    UpdateReceived,
    resolve_open_collision,
)
from nexthop.bgp.wire import RouteRefresh, cease_notification
from nexthop.bgp.wire.errors import LocalProtocolError
from nexthop.bgp.wire.shared_encoding import SharedEncoder
from nexthop.routeserver import (
    INSTANCE_ROLES,
    Output,
    RefreshDue,
    RoutesChanged,
    RouteServer,
    RouteServerWarning,
    SendRouteRefresh,
    SendUpdate,
    TeardownPeering,
)
from nexthop.routeserver.instance import REFRESH_INTERVAL
from nexthop.routeserver.server import RegionOf
from nexthop.runtime.admission import AcceptLimits, TokenBuckets
from nexthop.runtime.bfd_peerings import BfdPeerings
from nexthop.runtime.bgp_transport import BgpStream, SessionDriver
from nexthop.runtime.speaker import use_bulk_gc_thresholds
from nexthop.runtime.turns import TurnScheduler

__all__ = [
    "JOB_CHUNK",
    "MAX_CONNECTIONS",
    "OUTBOUND_LIMIT",
    "AddressTranslator",
    "HostTimers",
    "HostedSession",
    "RouteServerHost",
    "fresh_route_server",
]


MAX_CONNECTIONS = 2  # per (instance, peering): the session and one contender (§6.8)
_REJECT_LOG_S = 1.0  # refused connections are logged at most this often
JOB_CHUNK = 256
"""Prefixes per step of a route-server job (~1-3 ms of work each)."""


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


OUTBOUND_LIMIT = 128 << 20  # octets queued for one peer before Cease/Out of Resources


@dataclass(frozen=True, slots=True, kw_only=True)
class HostTimers:
    """Session timers offered by the route server (RFC 4271 §10). Azure's are
    hold 180 s / keepalive 60 s; the lab's fast mode uses shorter ones. Plus the
    per-session bounds: ``outbound_limit`` octets queued for a peer
    (``SessionConfig.outbound_limit``; above a full table, which is queued at
    once) and ``refresh_interval`` seconds between ROUTE-REFRESH answers."""

    hold_time: int = 180
    keepalive_time: int = 60
    outbound_limit: int | None = OUTBOUND_LIMIT
    refresh_interval: float = REFRESH_INTERVAL


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
    # Further connections of this peering until their OPEN (RFC 4271 §6.8), oldest first.
    contenders: list[SessionDriver] = field(default_factory=list)


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
        accept_limits: AcceptLimits | None = None,
    ) -> None:
        self.route_server = route_server
        self.name = name or route_server.config.name
        self.port = port
        self._addresses = addresses
        self._timers = timers or HostTimers()
        route_server.set_refresh_interval(self._timers.refresh_interval)
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
        self._turns: TurnScheduler | None = None
        self.rejected_connections = 0  # from addresses that are not configured peers
        self.refused_connections = 0  # from peers in idle hold or with a session up
        self.throttled_connections = 0  # past a peer address's AcceptLimits
        self.collisions = 0  # connections closed with Cease / Connection Collision Resolution
        self._buckets = TokenBuckets(accept_limits or AcceptLimits())
        self._quiet_until = 0.0  # refused connections are not logged before this
        self._unlogged = 0
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
        self._turns = TurnScheduler.for_loop(self._loop)
        self._stopping = False
        self.route_server.set_stepping(True)
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
            for contender in slot.contenders:
                if contender.state is not SessionState.IDLE:
                    contender.stop(
                        cease_notification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, message)
                    )
                contender.close()
            slot.contenders.clear()
            driver, slot.driver = slot.driver, None
            if driver is None:
                continue
            if driver.stream is not None:
                closing.append(driver.stream.closed)
            if driver.state is not SessionState.IDLE:
                driver.stop(cease_notification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, message))
            driver.close()
            self._went_down(slot, "route server stopped")
        # The withdrawals' VNet changes, stepped while the loop keeps turning;
        # what is left at the deadline is run at once.
        deadline = self.now() + timeout
        while self.route_server.has_jobs() and self.now() < deadline:
            await asyncio.sleep(0.005)
        if self._turns is not None:
            self._turns.discard(self._job_step)
        self._carry(self.route_server.set_stepping(False))
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
        now = self.now()
        if peering is None or self._stopping:
            # Nothing is kept for an unknown source: no slot, session or bucket.
            self.rejected_connections += 1
            self._refuse(stream, now, "connection_rejected", "not a configured peer", role=role)
            return
        if not self._buckets.allow(peering.peer_ip, now):
            self.throttled_connections += 1
            reason = "connection rate limit"
            self._refuse(
                stream, now, "connection_throttled", reason, role=role, peering=peering.name
            )
            return
        log = self.log.bind(instance=role, remote=source, port=port)
        slot = self._slot(role, peering.name, peering.peer_ip)
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
            self._contend(slot, stream, log)
            return
        if old is not None:
            old.close()
        driver = slot.driver = self._new_driver(slot, stream, log)
        log.info("connection_accepted", peering=peering.name)
        driver.start()
        driver.attach(stream)

    def _new_driver(self, slot: _Slot, stream: BgpStream, log: Any) -> SessionDriver:
        peering = next(p for p in self.route_server.peerings() if p.name == slot.peering)
        config = SessionConfig(
            local_asn=self.route_server.config.asn,
            peer_asn=peering.peer_asn,
            bgp_id=int(ipaddress.IPv4Address(self._instance_ips[slot.instance])),
            peer_address=peering.peer_ip,
            hold_time=self._timers.hold_time,
            keepalive_time=self._timers.keepalive_time,
            passive=True,
            pause_after_open=True,  # collisions are resolved here (RFC 4271 §6.8)
            outbound_limit=self._timers.outbound_limit,
        )
        return SessionDriver(
            Session(config, encoder=self._encoder),
            remote=stream.peername,
            on_event=lambda d, e: self._on_event(slot, d, e),
            log=log.bind(peering=peering.name),
        )

    def _refuse(
        self, stream: BgpStream, now: float, what: str, reason: str, *, role: str, peering: str = ""
    ) -> None:
        """Reset a refused connection; log at most one line per ``_REJECT_LOG_S``
        with how many were refused silently since (a storm must not flood the log)."""
        source, port = stream.peername
        stream.abort()
        if now < self._quiet_until:
            self._unlogged += 1
            return
        self.log.warning(
            what,
            reason=reason,
            instance=role,
            remote=source,
            port=port,
            peering=peering or None,
            also_refused=self._unlogged,
        )
        self._quiet_until, self._unlogged = now + _REJECT_LOG_S, 0

    # --- connection collisions (RFC 4271 §6.8) ------------------------------------

    def _contend(self, slot: _Slot, stream: BgpStream, log: Any) -> None:
        """A further connection of a peering with a session under way: tracked
        until its OPEN; past ``MAX_CONNECTIONS`` it replaces the longest-waiting
        connection still in OpenSent, or is refused."""
        opening = [d for d in (slot.driver, *slot.contenders) if d is not None]
        if len(opening) >= MAX_CONNECTIONS:
            silent = [d for d in opening if d.state is SessionState.OPENSENT]
            if not silent:
                log.info("connection_refused", peering=slot.peering, reason="collision")
                self.refused_connections += 1
                stream.abort()
                return
            log.info("connection_replaces_silent_one", peering=slot.peering)
            self._lose(slot, silent[0])
        driver = self._new_driver(slot, stream, log)
        if slot.driver is None:
            slot.driver = driver
        else:
            slot.contenders.append(driver)
        log.info("connection_accepted", peering=slot.peering, collision=slot.driver is not driver)
        driver.start()
        driver.attach(stream)

    def _lose(self, slot: _Slot, driver: SessionDriver) -> None:
        """Close ``driver``'s connection with Cease / Connection Collision
        Resolution and forget it; a contender takes the session's place."""
        if driver is slot.driver:
            slot.driver = slot.contenders.pop(0) if slot.contenders else None
        elif driver in slot.contenders:
            slot.contenders.remove(driver)
        self.collisions += 1
        driver.collision_dump()
        driver.close()

    def _open_received(self, slot: _Slot, driver: SessionDriver, event: OpenReceived) -> None:
        """§6.8 on receipt of an OPEN: compare with the peering's other connections."""
        local = driver.session.config.bgp_id
        for other in [d for d in (slot.driver, *slot.contenders) if d not in (None, driver)]:
            assert other is not None
            verdict = resolve_open_collision(local, event.open.bgp_id, other.state)
            if verdict == "close-new":
                self.log.info("collision_resolved", peering=slot.peering, closed="new")
                self._lose(slot, driver)
                return
            if verdict == "close-existing":
                self.log.info("collision_resolved", peering=slot.peering, closed="existing")
                self._lose(slot, other)
        assert self._loop is not None
        self._loop.call_soon(driver.resume)

    def _contender_event(self, slot: _Slot, driver: SessionDriver, event: Event) -> None:
        match event:
            case SessionEstablished():  # it won: it becomes the peering's session
                old = slot.driver
                if old is not None and old.state is SessionState.ESTABLISHED:
                    self._lose(slot, driver)  # cannot happen (§6.8 ran at its OPEN); keep one
                    return
                slot.contenders.remove(driver)
                slot.driver = driver
                if old is not None:  # still in OpenSent: it never sent its OPEN
                    self._lose(slot, old)
                self._on_event(slot, driver, event)
            case SessionDown():
                slot.contenders.remove(driver)
                asyncio.get_running_loop().call_soon(driver.close)
            case _:
                pass

    # --- session events -> RouteServer -------------------------------------------

    def _on_event(self, slot: _Slot, driver: SessionDriver, event: Event) -> None:
        if type(event) is OpenReceived:
            if driver is slot.driver or driver in slot.contenders:
                self._open_received(slot, driver, event)
            return
        if driver is not slot.driver:
            if driver in slot.contenders:
                self._contender_event(slot, driver, event)
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
            case RouteRefreshReceived(refresh=refresh):
                # BoRR/EoRR are the peer's own answer's markers, not a request
                if slot.established and refresh.subtype == RouteRefreshSubtype.NORMAL:
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
            slot.driver = slot.contenders.pop(0) if slot.contenders else None
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
                        # behind the UPDATEs queued before it: one outbound buffer
                        refresh = RouteRefresh(afi=afi, safi=safi, subtype=output.subtype)
                        driver.send_route_refresh(refresh)
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
                case RefreshDue(instance=role, peering=name, at=at):
                    if self._loop is not None:
                        self._loop.call_at(at, self._refresh_due, role, name)
                case RoutesChanged():
                    if self._on_routes_changed is not None:
                        self._on_routes_changed(output)
                case RouteServerWarning(message=message, instance=role, peering=name):
                    self.log.warning(
                        "route_server_warning", msg=message, instance=role, peering=name
                    )
        self._encoder.clear()
        turns = self._turns
        if turns is not None and self.route_server.has_jobs():
            turns.add(self._job_step)

    def _job_step(self, deadline: float) -> bool:
        """A ``TurnScheduler`` step: route-server job chunks until ``deadline``."""
        assert self._turns is not None
        clock, rs = self._turns.clock, self.route_server
        while rs.has_jobs():
            self._carry(rs.step_jobs(JOB_CHUNK))
            if clock() >= deadline:
                break
        return rs.has_jobs()

    def _refresh_due(self, role: str, peering: str) -> None:
        """A ROUTE-REFRESH that waited (``RefreshDue``), answered in the guard of
        that peer's session."""
        driver = self._live(role, peering)
        if driver is not None:
            rs = self.route_server
            driver.run_guarded(lambda: self._carry(rs.refresh_due(role, peering, self.now())))

    def _flush(self) -> None:
        """Write what ``_carry`` queued on each session since the last flush."""
        unflushed, self._unflushed = self._unflushed, {}
        for driver in unflushed:
            driver.run_guarded(driver.transmit)


def _same(a: str, b: str) -> bool:
    return ipaddress.ip_address(a) == ipaddress.ip_address(b)

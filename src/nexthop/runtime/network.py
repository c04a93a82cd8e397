"""``LiveNetwork``: the one runtime of ``nexthop serve`` and ``nexthop lab up``.

A live network runs, on one asyncio loop, what a topology makes real:

* one ``RouteServerHost`` per route server (both instances, route-server-spec §1,
  ASN 65515) listening as ``BgpListen`` says (``nexthop.runtime.listen``);
* one ``ProbeRunner`` per load balancer probing every backend over real TCP/HTTP
  (route-server-spec §3, PROBE) from the stand-in of 168.63.129.16 (or, with real
  addresses, from the host), unless ``probes=False``;
* optionally the NVAs it runs itself (``NvaRuntime``): ``nexthop lab up`` is this
  network plus the lab's built-in NVAs and simulated VMs and branches
  (``nexthop.lab.Lab``); ``nexthop serve`` has none (its NVAs are other processes).

One source of truth. The running objects are the only state: the ``World`` that
views, traces and traffic runs read is built over them (``World.from_topology(...,
live=True)`` plus ``attach_route_server``/``use_engine``; the NVA runtime attaches its
NVAs) and never copies them. Each ``RoutesChanged`` records only its prefixes in
the fabric's index over the route server (``Fabric.bgp_routes_changed``); the
backlog is applied in slices once the UPDATEs pause (``_settle``) or by the query
that needs it. From ``start`` on, the views answer from this World: a freshly
started server shows its peerings Idle until an NVA connects.

A committed topology change (``reload``) restarts only what it changes: each
running route server is brought to its new configuration in place
(``nexthop.routeserver.reconcile``: a VNet peering change asks the NVAs for
ROUTE-REFRESH, a new peering is just added); only a changed subnet or ASN
restarts it. A load balancer whose configuration changed gets a fresh engine and
probe runner (health Unknown until probes answer); the others keep theirs. A
probe change never touches BGP.

Calls from other threads (the API's workers) go through ``LoopBridge``; on the
loop itself views run directly.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

import structlog

from nexthop.bgp.fsm import SessionState
from nexthop.config import Topology, route_server_instance_ips
from nexthop.config.types import ROUTE_SERVER_SUBNET
from nexthop.errors import ControlPlaneError
from nexthop.lb import (
    BackendMarkedDown,
    BackendMarkedUp,
    FailureKind,
    LoadBalancerEngine,
    ProbeOutcome,
    ProbeTask,
)
from nexthop.routeserver import INSTANCE_ROLES, Output, RoutesChanged, RouteServer
from nexthop.routeserver.reconcile import reconcile
from nexthop.runtime.addresses import AddressMap, AddressMapError
from nexthop.runtime.listen import BgpListen, BindMode, ListenAddress, ListeningHost, RealAddresses
from nexthop.runtime.loop_bridge import LoopBridge
from nexthop.runtime.loop_lag import LoopLagMonitor
from nexthop.runtime.probes import ProbeRunner, run_probe
from nexthop.runtime.route_server_host import (
    AddressTranslator,
    HostedSession,
    HostTimers,
    RouteServerHost,
)
from nexthop.world import World, liveness
from nexthop.world.model import WorldOptions

__all__ = [
    "AZURE_PROBE_SOURCE",
    "ExternalNva",
    "LiveNetwork",
    "NvaRuntime",
    "probe_stand_in",
    "topology_addresses",
]

_T = TypeVar("_T")

SETTLE_QUIET_S = 0.2
"""How long the UPDATEs must pause before the fabric's backlog is applied."""
SETTLE_MAX_LAG_S = 1.0
"""How long a change may wait while UPDATEs keep coming: past this the backlog is
applied in slices between the UPDATEs (so the VNet never lags a busy feed by more
than about this, and the backlog stays bounded)."""
SETTLE_SLICE = 4000
"""Prefixes applied per loop turn (~2 us each since the index keeps no next hops:
~8 ms a turn, within the 10 ms of ``runtime.turns.TURN_BUDGET_S``)."""

AZURE_PROBE_SOURCE = "168.63.129.16"
"""Where Azure's health probes come from; stand-in mode probes from its stand-in."""


async def probe_stand_in(addresses: AddressMap, task: ProbeTask) -> ProbeOutcome:
    """Run ``task`` against the backend's stand-in and mapped port, from the
    stand-in of ``AZURE_PROBE_SOURCE``; a backend without a stand-in fails the probe."""
    try:
        stand_in = addresses.stand_in(str(task.ip))
    except AddressMapError as exc:
        return ProbeOutcome(success=False, kind=FailureKind.ERROR, detail=str(exc))
    mapped = dataclasses.replace(
        task, ip=ipaddress.ip_address(stand_in), port=addresses.port(task.port)
    )
    return await run_probe(mapped, source=addresses.stand_in(AZURE_PROBE_SOURCE))


class ExternalNva:
    """An NVA that is another process, as its World node reads it
    (``nexthop.world.model.LiveNva``): its sessions are what the route servers
    see; its own table is not visible, so traces through it use its default
    route (``best_route`` is None) and it counts as running."""

    def __init__(self, network: LiveNetwork, address: int) -> None:
        self._network = network
        self._address = address

    @property
    def running(self) -> bool:
        return True

    def established_sessions(self) -> set[tuple[str, str]]:
        return {
            (rs, session.instance)
            for rs, session in self._network.sessions()
            if session.state is SessionState.ESTABLISHED
            and int(ipaddress.ip_address(session.peer_ip)) == self._address
        }

    def best_route(self, address: int) -> None:
        return None


class NvaRuntime(Protocol):
    """NVAs a network runs itself (the lab's built-in ones). ``adopt`` starts,
    keeps or stops them for ``world``'s topology and attaches them to its NVA
    nodes; it is called on the loop after the route servers and probes."""

    async def adopt(self, world: World) -> None: ...

    async def stop(self) -> None: ...

    async def fail(self, nva: str) -> None: ...

    async def restore(self, nva: str) -> None: ...


def topology_addresses(topology: Topology) -> list[str]:
    """Every address a live network serves or connects from, in a stable order
    (so ``serve`` and ``lab up`` give every address the same stand-in)."""
    addresses: list[str] = []
    for rs in topology.route_servers:
        subnet = topology.subnet(rs.vnet, ROUTE_SERVER_SUBNET)
        if subnet is not None:
            addresses += [str(ip) for ip in route_server_instance_ips(subnet.prefix)]
        addresses += [str(peering.peer_ip) for peering in rs.peerings]
    addresses += [str(nva.nic.ip) for nva in topology.nvas]
    addresses += [str(vm.nic.ip) for vm in topology.vms]
    addresses += [str(lb.frontend.ip) for lb in topology.load_balancers]
    return addresses


class LiveNetwork:
    """A topology's route servers, probes and (optionally) NVAs, live on ``loop``;
    see the module docstring.

    ``start``/``reload``/``stop`` run on the loop; the control plane's
    ``LiveRuntime`` methods (``with_world``, ``topology_changed``, ``close``,
    ``fail_nva``, ``restore_nva``) may be called from any thread."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        listen: BgpListen | None = None,
        addresses: AddressTranslator | None = None,
        host_timers: HostTimers | None = None,
        options: WorldOptions | None = None,
        probes: bool = True,
        name: str = "serve",
    ) -> None:
        self.loop = loop
        self.listen = listen or BgpListen()
        if addresses is None:
            addresses = RealAddresses() if self.listen.mode is BindMode.REAL else AddressMap()
        self.addresses = addresses
        self.host_timers = host_timers
        self.options = options or WorldOptions()
        self.probes = probes
        self.nvas: NvaRuntime | None = None
        self.topology: Topology | None = None
        self.world: World | None = None
        self.hosts: dict[str, RouteServerHost] = {}
        self.runners: dict[str, tuple[LoadBalancerEngine, ProbeRunner]] = {}
        self.errors: list[str] = []  # route servers that could not be started
        self._bridge = LoopBridge(loop, busy_code=f"{name}_busy", what=f"the {name} runtime")
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._listeners: list[Callable[[], None]] = []
        self._settler: asyncio.TimerHandle | asyncio.Handle | None = None
        self._last_change = 0.0
        self.loop_lag = LoopLagMonitor(loop, name=name)  # /metrics' event-loop lag
        self._backlog_since: float | None = None  # when the oldest unapplied change came
        self.log = structlog.get_logger(f"nexthop.{name}")

    # --- lifecycle (on the loop) ---------------------------------------------------

    async def start(self, topology: Topology | None) -> None:
        """Run ``topology``; ``OSError`` if an instance cannot listen (nothing is
        left listening then)."""
        self.loop_lag.start()
        async with self._lock:
            await self._adopt(topology, strict=True)

    async def reload(self, topology: Topology | None) -> None:
        """Adopt a committed topology, restarting only what changed; a route server
        that cannot listen is logged and left out (``errors``)."""
        self.loop_lag.start()
        async with self._lock:
            await self._adopt(topology, strict=False)

    async def stop(self, message: str = "nexthop stopping") -> None:
        """Stop the NVAs, the probes and every route server (Cease/Administrative
        Shutdown to every peer, RFC 4486 §4); nothing is left listening."""
        async with self._lock:
            await self._stop_all(message)
        self.loop_lag.stop()

    async def _stop_all(self, message: str) -> None:
        if self._settler is not None:
            self._settler.cancel()
            self._settler = None
        if self.nvas is not None:
            await self.nvas.stop()
        await self._stop_probes(list(self.runners))
        await self._stop_hosts(list(self.hosts), message)
        self.world = None

    async def _stop_hosts(self, names: Sequence[str], message: str) -> None:
        for name in names:
            host = self.hosts.pop(name)
            await host.stop(message)

    def _map_addresses(self, topology: Topology) -> None:
        if isinstance(self.addresses, AddressMap):
            for address in topology_addresses(topology):
                self.addresses.add(address)
            self.addresses.add(AZURE_PROBE_SOURCE)

    async def _adopt(self, topology: Topology | None, *, strict: bool) -> None:
        if topology is None:
            await self._stop_all("route server removed")
            self.topology = None
            return
        self._map_addresses(topology)
        now = self.loop.time()
        world = World.from_topology(topology, now, self.options, live=True)
        if self.world is not None:
            world.events = self.world.events  # the history goes on
        kept: list[tuple[RouteServerHost, list[Output]]] = []
        restart: list[str] = []
        for name, host in self.hosts.items():
            node = world.route_servers.get(name)
            outputs = (
                None
                if node is None
                else reconcile(host.route_server, node.server.config, node.server.peerings(), now)
            )
            if node is None or outputs is None:
                restart.append(name)
                continue
            world.attach_route_server(name, host.route_server)
            node.bfd = host
            kept.append((host, outputs))
        await self._stop_hosts(restart, "configuration changed")
        self.topology, self.world, self.errors = topology, world, []
        for host, outputs in kept:
            host.carry(outputs)  # refreshes, de-configured peerings, resyncs
        try:
            for name, node in world.route_servers.items():
                if name not in self.hosts:
                    await self._start_host(name, node.server, strict=strict)
        except OSError:
            await self._stop_all("route server failed to start")
            raise
        # The fabric's index over each route server starts with a full read: do it
        # now, while a freshly started one is empty, so later changes are recorded
        # per prefix and settled in slices (not one read of the whole table).
        world.fabric.settle_bgp()
        await self._adopt_probes(world)
        for nva in world.nvas.values():
            nva.live = ExternalNva(self, nva.ip)  # the lab replaces its built-in ones
        if self.nvas is not None:
            await self.nvas.adopt(world)
        self._settle_soon()  # the new World's first (full) read, while the tables are fresh
        self._notify()

    async def _start_host(self, name: str, server: RouteServer, *, strict: bool) -> None:
        host = ListeningHost(
            server,
            self.listen,
            addresses=self.addresses,
            timers=self.host_timers,
            on_routes_changed=functools.partial(self._routes_changed, name),
            on_session_change=functools.partial(self._session_changed, name),
            name=name,
        )
        try:
            await host.start()
        except OSError as exc:
            if strict:
                raise
            self.errors.append(f"route server {name}: cannot listen: {exc}")
            self.log.error("route_server_not_started", route_server=name, error=str(exc))
            return
        self.hosts[name] = host
        if self.world is not None and name in self.world.route_servers:
            self.world.route_servers[name].bfd = host

    # --- health probes (route-server-spec §3, PROBE) -----------------------------------

    async def _stop_probes(self, names: Sequence[str]) -> None:
        for name in names:
            _, runner = self.runners.pop(name)
            await runner.stop()

    async def _adopt_probes(self, world: World) -> None:
        """Each load balancer keeps its running engine when its configuration is
        unchanged; a changed or new one gets the World's fresh engine (health
        Unknown) and a runner. Without probes the model's verdicts stand in
        (every backend answering as its configuration says)."""
        if not self.probes:
            liveness.settle_probes(world, self.loop.time())
            return
        await self._stop_probes(
            [
                name
                for name, (engine, _) in self.runners.items()
                if name not in world.load_balancers
                or engine.lb != world.load_balancers[name].engine.lb
            ]
        )
        for name, node in world.load_balancers.items():
            kept = self.runners.get(name)
            if kept is not None:
                world.use_engine(name, kept[0])
                continue
            runner = ProbeRunner(
                node.engine,
                probe=self._probe,
                on_events=functools.partial(self._health_changed, name),
            )
            self.runners[name] = (node.engine, runner)
            runner.start()

    async def _probe(self, task: ProbeTask) -> ProbeOutcome:
        if isinstance(self.addresses, AddressMap):
            return await probe_stand_in(self.addresses, task)
        return await run_probe(task)

    def _health_changed(
        self, lb: str, events: Sequence[BackendMarkedUp | BackendMarkedDown]
    ) -> None:
        world = self.world
        if world is None:
            return
        for event in events:
            kind = "backend_up" if isinstance(event, BackendMarkedUp) else "backend_down"
            world.record(event.at, kind, event.backend, f"{lb}: {event.reason.value}")
            self.log.info(kind, load_balancer=lb, backend=event.backend, reason=event.reason.value)
        self._notify()

    # --- BGP events ------------------------------------------------------------------

    def _routes_changed(self, name: str, change: RoutesChanged) -> None:
        if self.world is not None:
            self.world.routes_changed(name, change.prefixes)  # O(1): one reference
            now = self._last_change = self.loop.time()
            if self._backlog_since is None:
                self._backlog_since = now
            if self._settler is None:
                self._settler = self.loop.call_later(SETTLE_QUIET_S, self._settle)
        self._notify()

    def _settle_soon(self) -> None:
        if self._settler is not None:
            self._settler.cancel()
        self._backlog_since = self.loop.time() - SETTLE_MAX_LAG_S
        self._settler = self.loop.call_soon(self._settle)

    def _settle(self) -> None:
        """Apply the fabric's recorded BGP changes in slices of ``SETTLE_SLICE``
        prefixes, one per loop turn, once the UPDATEs have paused for
        ``SETTLE_QUIET_S`` or the oldest change has waited ``SETTLE_MAX_LAG_S``:
        ingest only records prefixes, no turn applies more than a slice, and the
        first query after a full table finds little or nothing left to do."""
        self._settler = None
        world = self.world
        if world is None:
            return
        now = self.loop.time()
        quiet = self._last_change + SETTLE_QUIET_S - now
        since = now if self._backlog_since is None else self._backlog_since
        lag = since + SETTLE_MAX_LAG_S - now
        if quiet > 0 and lag > 0:
            self._settler = self.loop.call_later(min(quiet, lag), self._settle)
            return
        if world.fabric.settle_bgp(SETTLE_SLICE) > 0:
            self._settler = self.loop.call_soon(self._settle)
        else:
            self._backlog_since = None

    def _session_changed(self, name: str, session: HostedSession) -> None:
        world = self.world
        if world is not None:
            up = session.state is SessionState.ESTABLISHED
            address = int(ipaddress.ip_address(session.peer_ip))
            node = world.nva_by_ip(address)
            world.record(
                self.loop.time(),
                "bgp_up" if up else "bgp_down",
                node.name if node is not None else session.peering,
                f"{name} {session.instance}",
            )
        self._notify()

    # --- views ------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """True while the network runs: the views answer from it, never the model."""
        return self.world is not None

    def listen_addresses(self) -> list[ListenAddress]:
        rows: list[ListenAddress] = []
        for name, host in self.hosts.items():
            ips = dict(zip(INSTANCE_ROLES, host.route_server.config.instance_ip_texts, strict=True))
            for role, (address, port) in host.listen_addresses().items():
                rows.append(
                    ListenAddress(
                        route_server=name,
                        instance=role,
                        instance_ip=ips[role],
                        address=address,
                        port=port,
                    )
                )
        return rows

    def sessions(self) -> list[tuple[str, HostedSession]]:
        """(route server, session) for every configured (instance, peering)."""
        return [(name, s) for name, host in self.hosts.items() for s in host.sessions()]

    def current_world(self) -> World:
        """The World over the running parts, its clock at the loop's now (call on
        the loop); ``ControlPlaneError`` when the network is down."""
        world = self.world
        if world is None:
            raise ControlPlaneError("network_down", "the live network is not running")
        world.advance(self.loop.time())
        return world

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after any live change (routes, sessions, health, NVAs)."""
        self._listeners.append(callback)

    def _notify(self) -> None:
        for callback in self._listeners:
            callback()

    # --- LiveRuntime seam (any thread) -----------------------------------------------

    def _call(self, make: Callable[[], Awaitable[_T]]) -> _T:
        return self._bridge.call(make)

    def with_world(self, fn: Callable[[World], _T]) -> _T:
        async def view() -> _T:
            async with self._lock:
                return fn(self.current_world())

        return self._call(view)

    def topology_changed(self, topology: Topology, world: World) -> None:
        """Adopt a committed topology (the control plane's ``world`` is its model;
        the network builds its own over the running parts). Waits when called from
        another thread."""
        if topology == self.topology or self.loop.is_closed():
            return
        if self._bridge.on_loop():
            self._spawn(self.reload(topology))
            return
        self._call(lambda: self.reload(topology))

    def close(self) -> None:
        """Stop everything (Cease to the peers)."""
        if self.loop.is_closed() or self.world is None:
            return
        if self._bridge.on_loop():
            self._spawn(self.stop())
            return
        self._call(self.stop)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        async def run() -> None:
            await coroutine

        task = self.loop.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def fail_nva(self, nva: str) -> None:
        """Kill a running NVA (the lab's); an external NVA is another process."""
        nvas = self.nvas
        if nvas is None:
            raise ControlPlaneError(
                "external_nva",
                f"NVA {nva!r} is an external process: stop it yourself "
                "(nexthop lab up runs built-in NVAs that can be failed)",
                "nva",
            )
        self._call(lambda: nvas.fail(nva))

    def restore_nva(self, nva: str) -> None:
        nvas = self.nvas
        if nvas is None:
            raise ControlPlaneError(
                "external_nva", f"NVA {nva!r} is an external process: start it yourself", "nva"
            )
        self._call(lambda: nvas.restore(nva))

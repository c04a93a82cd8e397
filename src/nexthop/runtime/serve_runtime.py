"""``ServeRuntime``: the BGP-4 route servers of ``nexthop serve`` over real TCP.

For every route server of the applied topology one ``RouteServerHost`` serves its
two instances (route-server-spec §1: ``RouteServiceRole_IN_0``/``_IN_1``, ASN
65515). The route server is passive (RFC 4271 §8.2.1.1): the NVAs open the
sessions, and a connection is kept only when it comes from a configured peering's
address. Where it listens (``BgpListen``):

* ``BindMode.STAND_IN`` (default): each instance IP's loopback stand-in
  (``nexthop.lab.addresses.AddressMap``, ``10.1.1.4`` -> ``127.1.1.4``) on port
  1790, no privilege needed; peers must connect from their own stand-in;
* ``BindMode.REAL``: the instance IPs themselves on port 179, for a host that
  really owns them; peers connect from their real addresses;
* ``overrides``: an explicit ``(address, port)`` per instance (``IN_0``,
  ``RouteServiceRole_IN_1``, or ``rs/IN_0`` for one route server).

A ``World`` built from the same topology is kept in step with the live route
servers, as the lab does (``nexthop.lab.lab``): its route servers ARE the live
``RouteServer`` objects (``World.attach_route_server``: the fabric reads them as
its BGP sources), each ``RoutesChanged`` re-reads only its prefixes
(``World.routes_changed``, spec §1.6), and each
NVA node's sessions mirror the live ones (what an NVA learned is not visible
here: the model's view is kept for its sessions that are up). Through the
control plane's ``LiveRuntime`` seam the views (learned routes, effective
routes, peering state, ``/metrics``) then answer from that World, once the
first BGP session has come up; until then the model answers (a preview of the
topology, and what a freshly restarted server shows until its peers are back).

Load balancer health (route-server-spec §3, PROBE): unless ``probes=False``, one
``ProbeRunner`` per load balancer probes every backend over real TCP/HTTP, as
``nexthop lab up`` does, at the topology's interval and threshold: at the
backend's stand-in address and port (``AddressMap``, ``10.1.0.4:22`` ->
``127.1.0.4:10022``, from the stand-in of 168.63.129.16) or, in ``REAL`` mode,
at its own address and port. The World's engine for that load balancer IS the
one the runner drives, so backend health and traces follow the real answers;
health starts Unknown (no backend eligible) until the probes have answered.

A committed topology change rebuilds the World; only the route servers whose
configuration changed are restarted (Cease to their peers, who reconnect), and
only the load balancers whose configuration changed start probing afresh (the
others keep their engine, runner and health). ``stop()`` stops the probes and
sends Cease/Administrative Shutdown (RFC 4486 §4) to every peer.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import ipaddress
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog

from nexthop.bgp.constants import BGP_PORT
from nexthop.bgp.fsm import SessionState
from nexthop.config import Topology, route_server_instance_ips
from nexthop.config.types import ROUTE_SERVER_SUBNET
from nexthop.lab.addresses import DEFAULT_BGP_PORT, AddressMap
from nexthop.lab.lab import mirror_live_sessions, probe_stand_in
from nexthop.lb import (
    BackendMarkedDown,
    BackendMarkedUp,
    LoadBalancerEngine,
    ProbeOutcome,
    ProbeTask,
)
from nexthop.routeserver import INSTANCE_ROLES, RoutesChanged, RouteServer
from nexthop.runtime.loop_bridge import LoopBridge
from nexthop.runtime.probes import ProbeRunner, run_probe
from nexthop.runtime.route_server_host import (
    AddressTranslator,
    HostedSession,
    RouteServerHost,
    fresh_route_server,
)
from nexthop.service import ControlPlaneError
from nexthop.world import World
from nexthop.world.model import LearnedRoute

__all__ = [
    "BgpListen",
    "BindMode",
    "ListenAddress",
    "ServeRuntime",
    "parse_bgp_address",
]

_T = TypeVar("_T")
_ROLE_PREFIX = "RouteServiceRole_"


class BindMode(enum.Enum):
    """Where the instances listen and which source addresses peers have."""

    STAND_IN = "standin"
    REAL = "real"


@dataclass(frozen=True, slots=True, kw_only=True)
class BgpListen:
    """The BGP listening plan. ``port`` None means 1790 (stand-ins) or 179 (real);
    ``overrides`` maps ``IN_0``/``RouteServiceRole_IN_0``/``rs/IN_0`` to an
    (address, port) that instance listens on instead."""

    mode: BindMode = BindMode.STAND_IN
    port: int | None = None
    overrides: Mapping[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def default_port(self) -> int:
        if self.port is not None:
            return self.port
        return BGP_PORT if self.mode is BindMode.REAL else DEFAULT_BGP_PORT

    def override(self, route_server: str, role: str) -> tuple[str, int] | None:
        short = role.removeprefix(_ROLE_PREFIX)
        for key in (f"{route_server}/{role}", f"{route_server}/{short}", role, short):
            found = self.overrides.get(key)
            if found is not None:
                return found
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListenAddress:
    """One instance as served: its topology address and where it listens."""

    route_server: str
    instance: str
    instance_ip: str
    address: str
    port: int


def parse_bgp_address(text: str) -> tuple[str, tuple[str, int]]:
    """``IN_0=127.0.0.1:1790`` (or ``rs/IN_1=[::1]:1790``) -> key, (address, port);
    ``ValueError`` naming the problem."""
    key, sep, target = text.partition("=")
    short = key.rpartition("/")[2].removeprefix(_ROLE_PREFIX)
    if not sep or f"{_ROLE_PREFIX}{short}" not in INSTANCE_ROLES:
        msg = f"{text!r}: expected IN_0=ADDRESS:PORT or IN_1=ADDRESS:PORT (optionally RS/IN_0)"
        raise ValueError(msg)
    address, colon, port_text = target.rpartition(":")
    address = address.removeprefix("[").removesuffix("]")
    try:
        ipaddress.ip_address(address)
        port = int(port_text)
    except ValueError:
        colon = ""
        port = 0
    if not colon or not 0 < port < 2**16:
        msg = f"{text!r}: {target!r} is not ADDRESS:PORT"
        raise ValueError(msg)
    return key, (address, port)


class _RealAddresses:
    """Real mode: every address is its own stand-in."""

    def stand_in(self, address: str) -> str:
        return address

    def topology_address(self, stand_in: str) -> str | None:
        try:
            ip = ipaddress.ip_address(stand_in)
        except ValueError:
            return None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ip)


class _ServeHost(RouteServerHost):
    """A host whose instances may each listen on an explicit (address, port)."""

    def __init__(self, route_server: RouteServer, listen: BgpListen, **kwargs: Any) -> None:
        super().__init__(route_server, port=listen.default_port, **kwargs)
        self._listen = listen

    def listen_addresses(self) -> dict[str, tuple[str, int]]:
        addresses = super().listen_addresses()
        for role in addresses:
            found = self._listen.override(self.name, role)
            if found is not None:
                addresses[role] = found
        return addresses


class ServeRuntime:
    """The live route servers of ``nexthop serve`` on ``loop``; see the module docstring.

    ``start``/``reload``/``stop`` run on the loop; the ``LiveRuntime`` methods
    (``with_world``, ``topology_changed``, ``close``) may be called from any
    thread and hand their work to the loop. ``probes=False``: no health probes, the
    load balancers keep the model's health."""

    def __init__(
        self, listen: BgpListen, loop: asyncio.AbstractEventLoop, *, probes: bool = True
    ) -> None:
        self.listen = listen
        self.loop = loop
        self.probes = probes
        self._bridge = LoopBridge(loop, busy_code="bgp_busy", what="the BGP runtime")
        self.addresses: AddressTranslator = (
            _RealAddresses() if listen.mode is BindMode.REAL else AddressMap()
        )
        self.topology: Topology | None = None
        self.world: World | None = None
        self.hosts: dict[str, RouteServerHost] = {}
        self.errors: list[str] = []  # route servers that could not be started
        self.runners: dict[str, tuple[LoadBalancerEngine, ProbeRunner]] = {}
        self._model_learned: dict[str, dict[Any, LearnedRoute]] = {}
        self._ever_established = False
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self.log = structlog.get_logger("nexthop.serve")

    # --- lifecycle (on the loop) ---------------------------------------------------

    async def start(self, topology: Topology | None) -> None:
        """Serve ``topology``'s route servers; ``OSError`` if an instance cannot
        listen (nothing is left listening then)."""
        async with self._lock:
            await self._adopt(topology, strict=True)

    async def reload(self, topology: Topology | None) -> None:
        """Adopt a committed topology; a route server that cannot listen is logged
        and left out (``errors``)."""
        async with self._lock:
            await self._adopt(topology, strict=False)

    async def stop(self, message: str = "nexthop serve stopping") -> None:
        """Cease/Administrative Shutdown to every peer; nothing is left listening."""
        async with self._lock:
            await self._stop_all(message)

    async def _stop_all(self, message: str) -> None:
        await self._stop_probes(list(self.runners))
        await self._stop_hosts(list(self.hosts), message)
        self.world = None

    async def _stop_hosts(self, names: list[str], message: str) -> None:
        for name in names:
            host = self.hosts.pop(name)
            await host.stop(message)

    async def _adopt(self, topology: Topology | None, *, strict: bool) -> None:
        if topology is None:
            await self._stop_all("route server removed")
            self.topology = None
            return
        if isinstance(self.addresses, AddressMap):
            for address in _topology_addresses(topology):
                self.addresses.add(address)
        world = World.from_topology(topology, self.loop.time())
        self._model_learned = {name: dict(node.learned) for name, node in world.nvas.items()}
        keep = {
            name
            for name, host in self.hosts.items()
            if name in world.route_servers
            and _same_server(host.route_server, world.route_servers[name].server)
            and topology.load_balancers == (self.topology.load_balancers if self.topology else [])
        }
        await self._stop_hosts([n for n in self.hosts if n not in keep], "configuration changed")
        self.topology, self.world, self.errors = topology, world, []
        try:
            for name, node in world.route_servers.items():
                host = self.hosts.get(name)
                if host is not None:
                    world.attach_route_server(name, host.route_server)
                    continue
                live = fresh_route_server(
                    node.server, region=node.region, frontend_region=world.frontend_region
                )
                world.attach_route_server(name, live)  # what it knows, nothing more
                await self._start_host(name, live, strict=strict)
        except OSError:
            await self._stop_all("route server failed to start")
            raise
        self._sync_nvas(world)
        await self._adopt_probes(world)

    async def _start_host(self, name: str, live: RouteServer, *, strict: bool) -> None:
        host = _ServeHost(
            live,
            self.listen,
            addresses=self.addresses,
            on_routes_changed=functools.partial(self._routes_changed, name),
            on_session_change=self._session_changed,
            name=name,
        )
        try:
            await host.start()
        except OSError as exc:
            if strict:
                raise
            error = f"route server {name}: cannot listen: {exc}"
            self.errors.append(error)
            self.log.error("route_server_not_started", route_server=name, error=str(exc))
            return
        self.hosts[name] = host

    # --- health probes (route-server-spec §3, PROBE) -----------------------------------

    async def _stop_probes(self, names: list[str]) -> None:
        for name in names:
            _, runner = self.runners.pop(name)
            await runner.stop()

    async def _adopt_probes(self, world: World) -> None:
        """Give each of ``world``'s load balancers its live engine: the running one
        if its configuration is unchanged, else a fresh one (health Unknown) with a
        new runner. Without probes the model's engines stay."""
        if not self.probes:
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
                node.engine = kept[0]
                continue
            engine = LoadBalancerEngine(node.engine.lb, self.loop.time())
            runner = ProbeRunner(
                engine,
                probe=self._probe,
                on_events=functools.partial(self._health_changed, name),
            )
            node.engine = engine
            self.runners[name] = (engine, runner)
            runner.start()

    async def _probe(self, task: ProbeTask) -> ProbeOutcome:
        """Run ``task`` against the backend's stand-in (its own address in real mode)."""
        if not isinstance(self.addresses, AddressMap):
            return await run_probe(task)
        return await probe_stand_in(self.addresses, task)

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

    # --- views ----------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """True once a BGP session has come up (the views answer from the live
        route servers from then on)."""
        return self.world is not None and self._ever_established

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

    def _routes_changed(self, name: str, change: RoutesChanged) -> None:
        if self.world is not None:
            self.world.routes_changed(name, change.prefixes)

    def _session_changed(self, session: HostedSession) -> None:
        if session.state is SessionState.ESTABLISHED:
            self._ever_established = True
        if self.world is not None:
            self._sync_nvas(self.world)

    def _sync_nvas(self, world: World) -> None:
        """Each NVA node's sessions are the live ones (``mirror_live_sessions``)."""
        for name, node in world.nvas.items():
            mirror_live_sessions(node, self.hosts, self._model_learned.get(name, {}))

    # --- LiveRuntime seam (any thread) -----------------------------------------------

    def _on_loop(self) -> bool:
        return self._bridge.on_loop()

    def _call(self, make: Callable[[], Awaitable[_T]]) -> _T:
        return self._bridge.call(make)

    def with_world(self, fn: Callable[[World], _T]) -> _T:
        async def view() -> _T:
            async with self._lock:
                if self.world is None:
                    raise ControlPlaneError("bgp_unavailable", "the BGP route servers are down")
                self._sync_nvas(self.world)
                return fn(self.world)

        return self._call(view)

    def topology_changed(self, topology: Topology, world: World) -> None:
        """Adopt a committed topology (the control plane's ``world`` is its model;
        the runtime builds its own). Waits for the route servers when called from
        another thread."""
        if topology == self.topology or self.loop.is_closed():
            return
        if self._on_loop():
            self._spawn(self.reload(topology))
            return
        self._call(lambda: self.reload(topology))

    def close(self) -> None:
        """Stop the probes and every route server (Cease to the peers)."""
        if self.loop.is_closed() or not (self.hosts or self.runners):
            return
        if self._on_loop():
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
        """The NVAs of ``nexthop serve`` are external processes: nothing to kill here
        (the model records the fault; use ``nexthop lab up`` to inject it live)."""
        self.log.warning("lab_fault_not_applied", nva=nva, reason="external NVA")

    def restore_nva(self, nva: str) -> None:
        self.log.warning("lab_fault_not_applied", nva=nva, reason="external NVA")


def _same_server(live: RouteServer, model: RouteServer) -> bool:
    return live.config == model.config and live.peerings() == model.peerings()


def _topology_addresses(topology: Topology) -> list[str]:
    """Every topology address, in the order the lab maps them (so ``nexthop serve``
    and ``nexthop lab up`` give every address the same stand-in)."""
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

"""``Lab``: a whole topology live on loopback, in one process (``nexthop lab up``).

``up()`` starts, on the running asyncio loop:

* one ``RouteServerHost`` per route server (both instances listening on their
  stand-ins, ``nexthop.lab.addresses``);
* one ``BuiltinNva`` per NVA (BGP from its FRR-style config, probe responder, HA
  heartbeat), except the NVAs named in ``external``: for those the lab only
  accepts the sessions, from the address given (a real FRR, for example);
* one ``ProbeRunner`` per load balancer, probing the NVAs' responders over real
  TCP/HTTP from the stand-in of 168.63.129.16 (route-server-spec §3, PROBE).

A sans-IO ``World`` (``nexthop.world``) built from the same topology is kept in
step with the live parts so that ``trace``/``traffic`` answer for the live
state: its route servers ARE the live ``RouteServer`` objects (the fabric's BGP
sources; each ``RoutesChanged`` re-reads only its prefixes), its load balancer engines ARE the
ones the real probes drive, its NVA nodes mirror the live NVAs (up, sessions,
learned routes, the HA node itself). The world's clock stays at the moment it was
built: live timers run on the loop, never in the model, so ``trace`` never
simulates a probe or heartbeat on top of the real ones.

Timers: ``LAB_FAST`` (probes every 100 ms, heartbeat 100 ms x 3, BGP hold 3 s),
``LAB_AZURE_LIKE`` (probes 5 s x 2, heartbeat 5 s x 3) or ``LAB_TOPOLOGY`` (what
the file says, Azure's BGP timers).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import structlog

from nexthop.bgp.fsm import SessionState
from nexthop.bgp.rib.path import as_path_asns
from nexthop.config import Topology, route_server_instance_ips
from nexthop.config.types import ROUTE_SERVER_SUBNET
from nexthop.lab.addresses import AddressMap, AddressMapError
from nexthop.lab.failover import FailoverResult, measure_failover
from nexthop.lab.nva import DEFAULT_HEARTBEAT_PORT, BuiltinNva
from nexthop.lab.timers import LAB_AZURE_LIKE, LAB_FAST, LAB_TOPOLOGY, LabTimers
from nexthop.lb import (
    BackendMarkedDown,
    BackendMarkedUp,
    FailureKind,
    HaState,
    LoadBalancerEngine,
    ProbeOutcome,
    ProbeTask,
)
from nexthop.net.prefix import Prefix
from nexthop.routeserver import RoutesChanged
from nexthop.runtime.probes import ProbeRunner, run_probe
from nexthop.runtime.route_server_host import HostedSession, RouteServerHost, fresh_route_server
from nexthop.world.build import World
from nexthop.world.model import LearnedRoute, NvaNode, WorldOptions
from nexthop.world.trace import Trace, trace
from nexthop.world.traffic import FlowSpec, TrafficReport, generate_flows, run_traffic

__all__ = [
    "AZURE_PROBE_SOURCE",
    "LAB_AZURE_LIKE",
    "LAB_FAST",
    "LAB_TOPOLOGY",
    "Lab",
    "LabError",
    "LabTimers",
    "mirror_live_sessions",
    "probe_stand_in",
]

AZURE_PROBE_SOURCE = "168.63.129.16"
"""Where Azure's health probes come from; the lab probes from its stand-in."""


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


def mirror_live_sessions(
    node: NvaNode,
    hosts: Mapping[str, RouteServerHost],
    model_learned: Mapping[tuple[str, str, Prefix], LearnedRoute],
) -> None:
    """``node``'s sessions become its Established ones on the live ``hosts``; it
    keeps the model's learned routes for those (the route server cannot see the
    NVA's own table) and drops the others."""
    node.established = {
        (rs, s.instance)
        for rs, host in hosts.items()
        for s in host.sessions()
        if s.state is SessionState.ESTABLISHED and int(ipaddress.ip_address(s.peer_ip)) == node.ip
    }
    node.learned = {
        key: route for key, route in model_learned.items() if (key[0], key[1]) in node.established
    }


class LabError(RuntimeError):
    """A lab operation that cannot be done (unknown or external NVA, not up...)."""


def _ip(value: int) -> str:
    return str(ipaddress.IPv4Address(value))


class Lab:
    """A topology running live on loopback; see the module docstring."""

    def __init__(
        self,
        topology: Topology,
        addresses: AddressMap | Mapping[str, str] | None = None,
        fast: bool = False,
        *,
        timers: LabTimers | None = None,
        external: Mapping[str, str] | None = None,
        heartbeat_port: int = DEFAULT_HEARTBEAT_PORT,
    ) -> None:
        self.topology = topology
        self.timers = timers or (LAB_FAST if fast else LAB_TOPOLOGY)
        self.external = dict(external or {})
        overrides: dict[str, str] = {}
        for name, address in self.external.items():
            nva = topology.nva(name)
            if nva is None:
                raise LabError(f"external NVA {name!r} is not in the topology")
            overrides[str(nva.nic.ip)] = address
        if isinstance(addresses, AddressMap):
            self.addresses = addresses
            for topo, stand_in in overrides.items():
                self.addresses.override(topo, stand_in)
        else:
            self.addresses = AddressMap(overrides={**overrides, **(addresses or {})})
        self._map_addresses(topology)
        self._heartbeat_port = heartbeat_port
        self.world: World | None = None
        self.hosts: dict[str, RouteServerHost] = {}
        self.nvas: dict[str, BuiltinNva] = {}
        self._runners: dict[str, ProbeRunner] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listeners: list[Callable[[], None]] = []
        self._seen: dict[str, tuple[bool, HaState | None]] = {}
        self._external_learned: dict[str, dict[Any, LearnedRoute]] = {}
        self.log = structlog.get_logger("nexthop.lab").bind(topology=topology.name or "")

    def _map_addresses(self, topology: Topology) -> None:
        for address in _topology_addresses(topology):
            self.addresses.add(address)
        self.addresses.add(AZURE_PROBE_SOURCE)

    # --- lifecycle -------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.world is not None

    async def up(self) -> None:
        """Start everything; returns once listeners are bound and sessions dialling."""
        if self.world is not None:
            raise LabError("the lab is already up")
        loop = self._loop = asyncio.get_running_loop()
        world = World.from_topology(
            self.topology, loop.time(), WorldOptions(timers=self.timers.world)
        )
        self.world = world
        try:
            await self._start_route_servers(world)
            self._start_nvas(world)
            for nva in self.nvas.values():
                await nva.start()
            self._start_probes(world, loop)
        except BaseException:
            await self.down()
            raise
        self.log.info(
            "lab_up",
            route_servers=len(self.hosts),
            nvas=len(self.nvas),
            external=sorted(self.external),
            timers=self.timers.name,
        )

    async def down(self) -> None:
        """Stop probes, NVAs (Cease) and route servers; nothing is left listening."""
        for runner in self._runners.values():
            await runner.stop()
        self._runners = {}
        for nva in self.nvas.values():
            await nva.stop("lab down")
        for host in self.hosts.values():
            await host.stop("lab down")
        self.nvas = {}
        self.hosts = {}
        self._seen = {}
        self._external_learned = {}
        if self.world is not None:
            self.log.info("lab_down")
        self.world = None

    async def reload(self, topology: Topology) -> None:
        """Bring the lab down and up again on ``topology`` (a committed change)."""
        was_up = self.world is not None
        await self.down()
        self.topology = topology
        self._map_addresses(topology)
        if was_up:
            await self.up()

    # ControlPlane runtime seam (``ControlPlane.attach_runtime``): called from any
    # thread; the work is handed to the lab's loop.

    def topology_changed(self, topology: Topology, world: World) -> None:
        """Adopt a committed topology: restart the running lab on it (the lab
        keeps its own live World; the control plane's ``world`` is not used)."""
        if topology == self.topology:
            return
        loop = self._loop
        if self.world is None or loop is None or loop.is_closed():
            self.topology = topology
            self._map_addresses(topology)
            return
        asyncio.run_coroutine_threadsafe(self.reload(topology), loop)

    def close(self) -> None:
        """Stop the running lab (on its loop)."""
        loop = self._loop
        if self.world is not None and loop is not None and not loop.is_closed():
            asyncio.run_coroutine_threadsafe(self.down(), loop)

    async def _start_route_servers(self, world: World) -> None:
        for name, node in world.route_servers.items():
            live = fresh_route_server(
                node.server, region=node.region, frontend_region=world.frontend_region
            )
            world.attach_route_server(name, live)  # nothing learned yet
            host = RouteServerHost(
                live,
                addresses=self.addresses,
                port=self.addresses.bgp_port,
                timers=self.timers.route_server,
                on_routes_changed=functools.partial(self._routes_changed, name),
                on_session_change=self._session_changed,
                name=name,
            )
            self.hosts[name] = host
            await host.start()

    def _start_nvas(self, world: World) -> None:
        for nva in self.topology.nvas:
            node = world.nva(nva.name)
            if nva.name in self.external:
                node.ha = None
                self._external_learned[nva.name] = dict(node.learned)
                continue
            peer = nva.ha.heartbeat.peer if nva.ha.heartbeat is not None else None
            peer_nva = self.topology.nva(peer) if peer is not None else None
            live = BuiltinNva(
                nva,
                addresses=self.addresses,
                timers=self.timers.nva,
                ha=node.ha.config if node.ha is not None else None,
                ha_peer=str(peer_nva.nic.ip) if peer_nva is not None else None,
                heartbeat_port=self._heartbeat_port,
                extra_networks=node.branch_prefixes,
                on_change=self._nva_changed,
            )
            node.ha = live.ha  # the model sees the live election
            self.nvas[nva.name] = live

    def _start_probes(self, world: World, loop: asyncio.AbstractEventLoop) -> None:
        for name, node in world.load_balancers.items():
            # Health starts Unknown: only real probe answers count.
            node.engine = LoadBalancerEngine(node.engine.lb, loop.time())
            runner = ProbeRunner(
                node.engine,
                probe=functools.partial(probe_stand_in, self.addresses),
                on_events=functools.partial(self._health_changed, name),
            )
            self._runners[name] = runner
            runner.start()

    # --- faults ------------------------------------------------------------------

    def _builtin(self, name: str) -> BuiltinNva:
        if name in self.external:
            raise LabError(f"NVA {name!r} is external: stop or start its process yourself")
        nva = self.nvas.get(name)
        if nva is None:
            raise LabError(f"no NVA {name!r} in the running lab")
        return nva

    async def fail(self, nva: str) -> None:
        """Kill the NVA (``BuiltinNva.crash``: TCP reset, no probe answers, no beats)."""
        await self._builtin(nva).crash()

    async def restore(self, nva: str) -> None:
        """Start a failed NVA again (HA comes back as standby)."""
        await self._builtin(nva).start()

    async def measure_failover(
        self,
        nva: str | None = None,
        *,
        source: str | None = None,
        destination: str | None = None,
        interval: float = 0.005,
        timeout: float = 60.0,
        existing_flows: int = 8,
        batch: int = 32,
    ) -> FailoverResult:
        """Kill ``nva`` (default: the HA-active one) and time the failover
        (``nexthop.lab.failover.measure_failover``)."""
        return await measure_failover(
            self,
            nva,
            source=source,
            destination=destination,
            interval=interval,
            timeout=timeout,
            existing_flows=existing_flows,
            batch=batch,
        )

    # --- model sync ------------------------------------------------------------------

    def _require_world(self) -> World:
        if self.world is None:
            raise LabError("the lab is not up")
        return self.world

    def _routes_changed(self, name: str, change: RoutesChanged) -> None:
        if self.world is not None:
            self.world.routes_changed(name, change.prefixes)
        self._notify()

    def _session_changed(self, session: HostedSession) -> None:
        if self.world is not None and self.external:
            self._sync_external(self.world)
        self._notify()

    def _health_changed(
        self, lb: str, events: Sequence[BackendMarkedUp | BackendMarkedDown]
    ) -> None:
        if self.world is None:
            return
        for event in events:
            kind = "backend_up" if isinstance(event, BackendMarkedUp) else "backend_down"
            self.world.record(event.at, kind, event.backend, f"{lb}: {event.reason.value}")
        self._notify()

    def _nva_changed(self, nva: BuiltinNva) -> None:
        world = self.world
        if world is not None and self._loop is not None:
            now = self._loop.time()
            seen = (nva.running, nva.ha_state)
            was = self._seen.get(nva.name)
            if was is not None and was[0] != seen[0]:
                world.record(now, "nva_restored" if nva.running else "nva_failed", nva.name)
            if seen[1] is not None and (was is None or was[1] != seen[1]):
                world.record(now, f"ha_{seen[1].value.lower()}", nva.name)
            self._seen[nva.name] = seen
            self._mirror(world, nva)
        self._notify()

    def _mirror(self, world: World, nva: BuiltinNva) -> None:
        """Copy the live NVA's state onto its model node."""
        node = world.nva(nva.name)
        node.up = nva.running
        node.established = set()
        node.learned = {}
        states = nva.sessions()
        for session in node.sessions:
            neighbor = _ip(session.instance_ip)
            if states.get(neighbor) is not SessionState.ESTABLISHED:
                continue
            node.established.add((session.route_server, session.instance))
            for prefix, attrs in nva.received_routes(neighbor).items():
                node.learned[(session.route_server, session.instance, prefix)] = LearnedRoute(
                    prefix=prefix,
                    next_hop=attrs.next_hop if attrs.next_hop is not None else session.instance_ip,
                    as_path=as_path_asns(attrs),
                    route_server=session.route_server,
                    instance=session.instance,
                )

    def synced_world(self) -> World:
        """The live-synced world, every NVA mirrored now (``trace``/``traffic`` use it).

        Built-in NVAs, sessions and routes are also mirrored as they change, so
        ``Lab.world`` is current between calls too."""
        world = self._require_world()
        for nva in self.nvas.values():
            self._mirror(world, nva)
        self._sync_external(world)
        return world

    def _sync_external(self, world: World) -> None:
        # What an external NVA learned is not visible: keep the model's view of it.
        for name in self.external:
            mirror_live_sessions(world.nva(name), self.hosts, self._external_learned.get(name, {}))

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after any live change (routes, health, NVA state)."""
        self._listeners.append(callback)

    def _notify(self) -> None:
        for callback in self._listeners:
            callback()

    async def wait_until(
        self, predicate: Callable[[], object], timeout: float, poll: float = 0.02
    ) -> None:
        """Poll ``predicate`` every ``poll`` seconds; ``TimeoutError`` after ``timeout``."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(poll)

    # --- traffic -----------------------------------------------------------------------

    def trace(
        self,
        source: str,
        destination_ip: str,
        protocol: str | int = "tcp",
        *,
        src_port: int | None = None,
        dst_port: int | None = None,
    ) -> Trace:
        """Trace one flow through the live-synced world (``nexthop.world.trace``)."""
        world = self.synced_world()
        kwargs: dict[str, Any] = {}
        if src_port is not None:
            kwargs["src_port"] = src_port
        if dst_port is not None:
            kwargs["dst_port"] = dst_port
        return trace(world, source, destination_ip, protocol, **kwargs)

    def traffic(
        self,
        flows: Iterable[FlowSpec] | None = None,
        *,
        count: int = 100,
        seed: int = 0,
        source: str | None = None,
        destination: str | None = None,
    ) -> TrafficReport:
        """``nexthop.world.run_traffic`` on the live-synced world: ``flows``, or
        ``count`` generated ones (``generate_flows``, deterministic per ``seed``)."""
        world = self.synced_world()
        if flows is None:
            flows = generate_flows(world, count, seed=seed, source=source, destination=destination)
        return run_traffic(world, flows, world.now)

    # --- status ------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Sessions per NVA per instance, learned route counts, backend health, HA roles."""
        world = self.synced_world()
        sessions: list[dict[str, Any]] = []
        learned: dict[str, dict[str, dict[str, int]]] = {}
        for rs, host in self.hosts.items():
            nva_by_ip = {str(ipaddress.IPv4Address(n.ip)): n.name for n in world.nvas.values()}
            for s in host.sessions():
                sessions.append(
                    {
                        "route_server": rs,
                        "instance": s.instance,
                        "peering": s.peering,
                        "nva": nva_by_ip.get(s.peer_ip),
                        "peer_ip": s.peer_ip,
                        "stand_in": s.stand_in,
                        "state": s.state.value,
                        "flaps": s.flaps,
                    }
                )
            for peering in host.route_server.peerings():
                rows = host.route_server.learned_routes(peering.name)
                learned.setdefault(rs, {})[peering.name] = {
                    role: len(routes) for role, routes in rows.items()
                }
        nvas = {
            name: {
                "kind": "external" if name in self.external else "builtin",
                "address": _ip(node.ip),
                "stand_in": self.addresses.stand_in(_ip(node.ip)),
                "up": node.up,
                "ha": node.ha.state.value if node.ha is not None else None,
                "answers_probe": self.nvas[name].answers_probe if name in self.nvas else None,
            }
            for name, node in world.nvas.items()
        }
        health = {name: lb.engine.backend_health() for name, lb in world.load_balancers.items()}
        return {
            "timers": self.timers.name,
            "sessions": sessions,
            "learned_routes": learned,
            "vnet_routes": {
                rs: [
                    {"prefix": str(prefix), "next_hops": [_ip(h) for h in hops]}
                    for prefix, hops in host.route_server.vnet_routes()
                ]
                for rs, host in self.hosts.items()
            },
            "nvas": nvas,
            "backend_health": health,
            "addresses": self.addresses.as_dict(),
            "bgp_port": self.addresses.bgp_port,
        }

    def established(self, nva: str) -> list[tuple[str, str]]:
        """(route server, instance) pairs where ``nva``'s sessions are Established."""
        world = self._require_world()
        address = _ip(world.nva(nva).ip)
        return sorted(
            (rs, s.instance)
            for rs, host in self.hosts.items()
            for s in host.sessions()
            if s.peer_ip == address and s.state is SessionState.ESTABLISHED
        )

    def backend_state(self, lb: str, backend: str) -> str | None:
        """ "Up"/"Down" of ``backend`` in the first rule of ``lb`` that has it."""
        world = self._require_world()
        for row in world.load_balancers[lb].engine.backend_health():
            if row["name"] == backend:
                return str(row["state"])
        return None


def _topology_addresses(topology: Topology) -> list[str]:
    """Every address the lab serves or connects from, in a stable order."""
    addresses: list[str] = []
    for rs in topology.route_servers:
        subnet = topology.subnet(rs.vnet, ROUTE_SERVER_SUBNET)
        if subnet is not None:
            addresses += [str(ip) for ip in route_server_instance_ips(subnet.prefix)]
        for peering in rs.peerings:
            addresses.append(str(peering.peer_ip))
    for nva in topology.nvas:
        addresses.append(str(nva.nic.ip))
    for vm in topology.vms:
        addresses.append(str(vm.nic.ip))
    for lb in topology.load_balancers:
        addresses.append(str(lb.frontend.ip))
    return addresses

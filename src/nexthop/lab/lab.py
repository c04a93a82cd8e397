"""``Lab``: a whole topology live on loopback, in one process (``nexthop lab up``).

The lab is ``nexthop serve`` plus the NVAs and hosts it plays itself: its
``LiveNetwork`` (``nexthop.runtime.network``, the one runtime of both commands)
runs the route servers (both instances listening on their stand-ins,
``nexthop.runtime.addresses``) and one ``ProbeRunner`` per load balancer probing
the NVAs' responders over real TCP/HTTP from the stand-in of 168.63.129.16
(route-server-spec §3, PROBE); the lab adds, as the network's ``NvaRuntime``:

* one ``BuiltinNva`` per NVA (BGP from its FRR-style config, probe responder, HA
  heartbeat), except the NVAs named in ``external``: for those the lab only
  accepts the sessions, from the address given (a real FRR, for example);
* the simulated VMs and branches of ``trace``/``traffic`` (the World's nodes).

The World that ``trace``/``traffic``/``status`` read is the network's, built over
the running parts: its route servers ARE the live ``RouteServer`` objects, its load
balancer engines ARE the ones the real probes drive, its NVA nodes read the live
NVAs (the HA node itself). Its clock follows the loop's; live timers run on the
loop, never in the model, so ``trace`` never simulates a probe or heartbeat on
top of the real ones.

A committed topology change (``reload``) restarts only what it changes: route
servers and load balancers as ``LiveNetwork`` does, and only the built-in NVAs
whose configuration changed.

Timers: ``LAB_FAST`` (probes every 100 ms, heartbeat 100 ms x 3, BGP hold 3 s),
``LAB_AZURE_LIKE`` (probes 5 s x 2, heartbeat 5 s x 3) or ``LAB_TOPOLOGY`` (what
the file says, Azure's BGP timers).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import structlog

from nexthop.bgp.fsm import SessionState
from nexthop.config import Topology
from nexthop.config.schema import Nva
from nexthop.errors import ControlPlaneError
from nexthop.lab.failover import FailoverResult, measure_failover
from nexthop.lab.nva import DEFAULT_HEARTBEAT_PORT, BuiltinNva
from nexthop.lab.timers import LAB_AZURE_LIKE, LAB_FAST, LAB_TOPOLOGY, LabTimers
from nexthop.lb import HaState
from nexthop.runtime.addresses import AddressMap
from nexthop.runtime.listen import BgpListen
from nexthop.runtime.network import AZURE_PROBE_SOURCE, LiveNetwork, topology_addresses
from nexthop.runtime.route_server_host import RouteServerHost
from nexthop.world.build import World
from nexthop.world.model import LearnedRoute, Session, WorldOptions
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
]


class LabError(ControlPlaneError):
    """A lab operation that cannot be done (unknown or external NVA, not up...)."""

    def __init__(self, message: str) -> None:
        super().__init__("lab_error", message)


def _ip(value: int) -> str:
    return str(ipaddress.IPv4Address(value))


class BuiltinView:
    """A built-in NVA as its World node reads it (``nexthop.world.model.LiveNva``):
    its running flag, its sessions' states and its speaker's table, on read."""

    def __init__(self, nva: BuiltinNva, sessions: Iterable[Session]) -> None:
        self._nva = nva
        self._by_neighbor = {s.instance_ip: (s.route_server, s.instance) for s in sessions}

    @property
    def running(self) -> bool:
        return self._nva.running

    def established_sessions(self) -> set[tuple[str, str]]:
        return {
            self._by_neighbor[neighbor]
            for address, state in self._nva.sessions().items()
            if state is SessionState.ESTABLISHED
            and (neighbor := int(ipaddress.IPv4Address(address))) in self._by_neighbor
        }

    def best_route(self, address: int) -> LearnedRoute | None:
        speaker = self._nva.speaker
        route = speaker.best(address) if speaker is not None else None
        if route is None:
            return None
        rs, instance = self._by_neighbor.get(route.neighbor, ("", ""))
        return LearnedRoute(
            prefix=route.prefix,
            next_hop=route.next_hop,
            as_path=route.as_path,
            route_server=rs,
            instance=instance,
            route_map=route.route_map,
        )


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
        self.network: LiveNetwork | None = None
        self.nvas: dict[str, BuiltinNva] = {}
        self._specs: dict[str, tuple[object, ...]] = {}
        self._listeners: list[Callable[[], None]] = []
        self._seen: dict[str, tuple[bool, HaState | None]] = {}
        self.log = structlog.get_logger("nexthop.lab").bind(topology=topology.name or "")

    def _map_addresses(self, topology: Topology) -> None:
        for address in topology_addresses(topology):
            self.addresses.add(address)
        self.addresses.add(AZURE_PROBE_SOURCE)

    # --- the network's parts ---------------------------------------------------

    @property
    def world(self) -> World | None:
        """The World over the running parts (None while the lab is down)."""
        return self.network.world if self.network is not None else None

    @property
    def hosts(self) -> dict[str, RouteServerHost]:
        return self.network.hosts if self.network is not None else {}

    @property
    def _loop(self) -> asyncio.AbstractEventLoop | None:
        return self.network.loop if self.network is not None else None

    # --- lifecycle -------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.world is not None

    async def up(self) -> None:
        """Start everything; returns once listeners are bound and sessions dialling."""
        if self.world is not None:
            raise LabError("the lab is already up")
        network = LiveNetwork(
            asyncio.get_running_loop(),
            listen=BgpListen(port=self.addresses.bgp_port),
            addresses=self.addresses,
            host_timers=self.timers.route_server,
            options=WorldOptions(timers=self.timers.world),
            name="lab",
        )
        network.nvas = self
        network.on_change(self._notify)
        self.network = network
        try:
            await network.start(self.topology)
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
        network = self.network
        was_up = self.world is not None
        if network is not None:
            await network.stop("lab down")
        await self.stop()  # NVAs a failed start left behind
        if was_up:
            self.log.info("lab_down")

    async def reload(self, topology: Topology) -> None:
        """Adopt a committed topology: only what it changes restarts."""
        self.topology = topology
        self._map_addresses(topology)
        if self.network is not None and self.world is not None:
            await self.network.reload(topology)

    # ControlPlane runtime seam (``ControlPlane.attach_runtime``): the lab's
    # ``LiveNetwork`` is the runtime; these are for callers holding the lab.

    def topology_changed(self, topology: Topology, world: World) -> None:
        """Adopt a committed topology (from any thread; waits when off the loop)."""
        network = self.network
        if topology == self.topology and self.world is not None:
            return
        self.topology = topology
        self._map_addresses(topology)
        if network is None or self.world is None or network.loop.is_closed():
            return
        network.topology_changed(topology, world)

    def close(self) -> None:
        """Stop the running lab (on its loop)."""
        if self.network is not None:
            self.network.close()

    # --- NvaRuntime: the built-in NVAs ---------------------------------------------

    @staticmethod
    def _ha_peer_ip(world: World, nva: Nva) -> str | None:
        """The address of ``nva``'s heartbeat peer, if it has one."""
        peer = nva.ha.heartbeat.peer if nva.ha.heartbeat is not None else None
        peer_nva = world.topology.nva(peer) if peer is not None else None
        return str(peer_nva.nic.ip) if peer_nva is not None else None

    def _spec(self, world: World, nva: Nva) -> tuple[object, ...]:
        """What a built-in NVA is started from: a change restarts it."""
        return (nva, world.nva(nva.name).branch_prefixes, self._ha_peer_ip(world, nva))

    async def adopt(self, world: World) -> None:
        """Start, keep or stop the built-in NVAs for ``world``'s topology and attach
        each to its World node (the node reads the live NVA)."""
        wanted = {n.name: n for n in world.topology.nvas if n.name not in self.external}
        for name in [
            n
            for n in self.nvas
            if n not in wanted or self._specs[n] != self._spec(world, wanted[n])
        ]:
            await self.nvas.pop(name).stop("configuration changed")
            self._specs.pop(name, None)
            self._seen.pop(name, None)
        for name, nva in wanted.items():
            node = world.nva(name)
            live = self.nvas.get(name)
            if live is None:
                live = BuiltinNva(
                    nva,
                    addresses=self.addresses,
                    timers=self.timers.nva,
                    ha=world.ha_configs.get(name),
                    ha_peer=self._ha_peer_ip(world, nva),
                    heartbeat_port=self._heartbeat_port,
                    extra_networks=node.branch_prefixes,
                    on_change=self._nva_changed,
                )
                self.nvas[name] = live
                self._specs[name] = self._spec(world, nva)
                await live.start()
            node.ha = live.ha  # the model sees the live election
            node.live = BuiltinView(live, node.sessions)  # read, never copied

    async def stop(self) -> None:
        for nva in self.nvas.values():
            await nva.stop("lab down")
        self.nvas = {}
        self._specs = {}
        self._seen = {}

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
        self._notify()

    def synced_world(self) -> World:
        """The World over the running parts at the lab's clock (``trace``/``traffic``
        use it): its NVA nodes read the live NVAs, nothing is copied; the clock
        moves to the loop's, so flows age with the rules' idle timeouts."""
        world = self._require_world()
        if self.network is not None:
            world.advance(self.network.loop.time())
        return world

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
                "up": node.running,
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

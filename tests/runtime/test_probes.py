"""Probes against real listeners on 127.0.0.x with short (fast_probes) intervals.

These run on the real event loop; they wait for state changes (with a generous safety
timeout) and assert on states, kinds and counts, never on durations.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Sequence

from nexthop.lb.health import (
    BackendMarkedDown,
    BackendMarkedUp,
    FailureKind,
    HealthState,
    ProbeTracker,
)
from nexthop.lb.model import (
    Backend,
    BackendPool,
    Flow,
    Frontend,
    IpProtocol,
    LoadBalancer,
    LoadBalancingRule,
    Probe,
    ProbeProtocol,
    RuleProtocol,
)
from nexthop.lb.service_lb import Forwarded, LoadBalancerEngine
from nexthop.runtime.probes import (
    ProbeResponder,
    ProbeRunner,
    ResponderMode,
    http_probe,
    self_signed_context,
    tcp_probe,
)

HOST = "127.0.0.1"
SAFETY = 10.0  # only guards against a hung test; never asserted on
Event = BackendMarkedUp | BackendMarkedDown


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
    return port


def probe_for(protocol: ProbeProtocol, port: int, threshold: int = 1) -> Probe:
    return Probe(
        name="p",
        protocol=protocol,
        port=port,
        path=None if protocol is ProbeProtocol.TCP else "/health",
        interval=0.05,
        fast_probes=True,
        probe_threshold=threshold,
    )


class Watch:
    """Collects tracker events and lets a test wait for the next one of a kind."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()

    def __call__(self, events: Sequence[Event]) -> None:
        self.events.extend(events)
        self._changed.set()

    async def wait_for(self, kind: type[Event], count: int = 1) -> Event:
        async with asyncio.timeout(SAFETY):
            while sum(isinstance(e, kind) for e in self.events) < count:
                self._changed.clear()
                await self._changed.wait()
        return [e for e in self.events if isinstance(e, kind)][count - 1]


async def start_runner(probe: Probe) -> tuple[ProbeTracker, ProbeRunner, Watch]:
    loop = asyncio.get_running_loop()
    backend = Backend(name="nva0", ip=ipaddress.ip_address(HOST))
    tracker = ProbeTracker(probe, [backend], loop.time())
    watch = Watch()
    runner = ProbeRunner(tracker, on_events=watch)
    runner.start()
    return tracker, runner, watch


def test_single_probes_report_success_refusal_and_status() -> None:
    async def main() -> None:
        tcp = ProbeResponder(HOST, mode=ResponderMode.TCP)
        http = ProbeResponder(HOST, status=503)
        await tcp.start()
        await http.start()
        try:
            assert (await tcp_probe(HOST, tcp.port, 2.0)).success
            refused = await tcp_probe(HOST, closed_port(), 2.0)
            assert (refused.success, refused.kind) == (False, FailureKind.REFUSED)
            bad = await http_probe(HOST, http.port, "/health", 2.0)
            assert (bad.success, bad.kind, bad.detail) == (False, FailureKind.HTTP_STATUS, "503")
            http.set_status(200)
            assert (await http_probe(HOST, http.port, "/health", 2.0)).success
            assert http.requests == 2
            http.hang = True
            hung = await http_probe(HOST, http.port, "/health", 0.2)
            assert (hung.success, hung.kind) == (False, FailureKind.TIMEOUT)
        finally:
            await tcp.stop()
            await http.stop()

    asyncio.run(main())


def test_tcp_listener_marks_up_and_killed_listener_goes_down_after_threshold() -> None:
    async def main() -> None:
        responder = ProbeResponder("127.0.0.2", mode=ResponderMode.TCP)
        await responder.start()
        probe = probe_for(ProbeProtocol.TCP, responder.port, threshold=3)
        loop = asyncio.get_running_loop()
        backend = Backend(name="nva0", ip=ipaddress.ip_address("127.0.0.2"))
        tracker = ProbeTracker(probe, [backend], loop.time())
        watch = Watch()
        runner = ProbeRunner(tracker, on_events=watch)
        runner.start()
        try:
            await watch.wait_for(BackendMarkedUp)
            assert tracker.status("nva0").consecutive_successes == 3
            assert responder.connections >= 3
            await responder.stop()  # kill the listener
            down = await watch.wait_for(BackendMarkedDown)
            assert isinstance(down, BackendMarkedDown)
            assert down.kind is FailureKind.REFUSED
            assert tracker.status("nva0").consecutive_failures == 3
            assert tracker.up() == frozenset()
        finally:
            await runner.stop()
            await responder.stop()

    asyncio.run(main())


def test_tcp_refused_never_comes_up() -> None:
    async def main() -> None:
        tracker, runner, watch = await start_runner(probe_for(ProbeProtocol.TCP, closed_port()))
        try:
            down = await watch.wait_for(BackendMarkedDown)
            assert isinstance(down, BackendMarkedDown)
            assert down.kind is FailureKind.REFUSED
            assert tracker.status("nva0").state is HealthState.DOWN
            assert not any(isinstance(e, BackendMarkedUp) for e in watch.events)
        finally:
            await runner.stop()

    asyncio.run(main())


def test_http_200_up_then_503_down_immediately_then_back() -> None:
    async def main() -> None:
        responder = ProbeResponder(HOST, status=200)
        await responder.start()
        tracker, runner, watch = await start_runner(
            probe_for(ProbeProtocol.HTTP, responder.port, threshold=5)
        )
        try:
            await watch.wait_for(BackendMarkedUp)
            assert tracker.status("nva0").consecutive_successes == 1  # 200 counts at once
            responder.set_status(503)
            down = await watch.wait_for(BackendMarkedDown)
            assert isinstance(down, BackendMarkedDown)
            assert (down.kind, down.detail) == (FailureKind.HTTP_STATUS, "503")
            assert tracker.status("nva0").consecutive_failures == 1  # threshold 5 ignored
            responder.set_status(200)
            await watch.wait_for(BackendMarkedUp, count=2)
            assert tracker.is_up("nva0")
            assert runner.probes_run >= 3
        finally:
            await runner.stop()
            await responder.stop()

    asyncio.run(main())


async def responders_on_one_port(hosts: Sequence[str]) -> list[ProbeResponder]:
    """One HTTP responder per host, all on the same port (a probe has one port)."""
    for _ in range(20):
        first = ProbeResponder(hosts[0])
        port = await first.start()
        started = [first]
        try:
            for h in hosts[1:]:
                r = ProbeResponder(h, port)
                await r.start()
                started.append(r)
        except OSError:
            for r in started:
                await r.stop()
            continue
        return started
    raise RuntimeError("no common free port")


def test_runner_drives_the_engine_and_new_flows_avoid_a_503_backend() -> None:
    async def main() -> None:
        hosts = ["127.0.0.2", "127.0.0.3"]
        responders = await responders_on_one_port(hosts)
        probe = probe_for(ProbeProtocol.HTTP, responders[0].port, threshold=2)
        lb = LoadBalancer(
            name="ilb",
            region="local",
            frontends=(
                Frontend(
                    name="fe",
                    ip=ipaddress.ip_address("127.0.1.1"),
                    subnet=ipaddress.ip_network("127.0.1.0/24"),
                ),
            ),
            pools=(
                BackendPool(
                    name="pool",
                    backends=tuple(
                        Backend(name=f"nva{i}", ip=ipaddress.ip_address(h))
                        for i, h in enumerate(hosts)
                    ),
                ),
            ),
            probes=(probe,),
            rules=(
                LoadBalancingRule(
                    name="ha",
                    frontend="fe",
                    pool="pool",
                    probe="p",
                    protocol=RuleProtocol.ALL,
                    frontend_port=0,
                    backend_port=0,
                ),
            ),
            table_size=251,
        )
        loop = asyncio.get_running_loop()
        engine = LoadBalancerEngine(lb, loop.time())
        watch = Watch()
        runner = ProbeRunner(engine, on_events=watch)
        runner.start()
        flows = [Flow.of(IpProtocol.TCP, "10.1.0.1", 1024 + i, "10.2.0.1", 443) for i in range(200)]
        try:
            await watch.wait_for(BackendMarkedUp, count=2)
            placed = {}
            for f in flows:
                d = engine.forward(f, loop.time(), via_frontend="fe")
                assert isinstance(d, Forwarded)
                placed[f] = d.backend
            assert set(placed.values()) == {"nva0", "nva1"}
            responders[1].set_status(503)
            down = await watch.wait_for(BackendMarkedDown)
            assert isinstance(down, BackendMarkedDown)
            assert (down.backend, down.kind) == ("nva1", FailureKind.HTTP_STATUS)
            rows = {r["name"]: r for r in engine.backend_health()}
            assert (rows["nva1"]["state"], rows["nva1"]["reason"]) == (
                "Down",
                "Down_Probe_HttpStatusCodeError",
            )
            assert rows["nva0"]["state"] == "Up"
            fresh = [
                Flow.of(IpProtocol.TCP, "10.1.0.2", 1024 + i, "10.2.0.1", 443) for i in range(200)
            ]
            for f in fresh:
                d = engine.forward(f, loop.time(), via_frontend="fe")
                assert isinstance(d, Forwarded)
                assert d.backend == "nva0"
            for f in flows:  # established TCP stays where it was
                d = engine.forward(f, loop.time(), via_frontend="fe")
                assert isinstance(d, Forwarded)
                assert d.backend == placed[f]
            assert all(r.requests > 0 for r in responders)
        finally:
            await runner.stop()
            for r in responders:
                await r.stop()

    asyncio.run(main())


def test_https_probe_accepts_a_self_signed_backend(
    require_daemon: Callable[[str, str, str], str],
) -> None:
    require_daemon("HTTPS probe test", "openssl", "openssl")

    async def main() -> None:
        tls = await self_signed_context("probe")
        assert tls is not None
        responder = ProbeResponder(HOST, tls=tls)
        await responder.start()
        try:
            assert (await http_probe(HOST, responder.port, "/h", 2.0, tls=True)).success
            responder.set_status(500)
            bad = await http_probe(HOST, responder.port, "/h", 2.0, tls=True)
            assert (bad.kind, bad.detail) == (FailureKind.HTTP_STATUS, "500")
            plain = await http_probe(HOST, responder.port, "/h", 2.0, tls=False)
            assert not plain.success  # plain HTTP to a TLS port is not a 200
        finally:
            await responder.stop()

    asyncio.run(main())


def test_probes_can_come_from_a_chosen_source_address() -> None:
    async def main() -> None:
        responder = ProbeResponder(HOST, mode=ResponderMode.TCP)
        await responder.start()
        loop = asyncio.get_running_loop()
        backend = Backend(name="nva0", ip=ipaddress.ip_address(HOST))
        tracker = ProbeTracker(probe_for(ProbeProtocol.TCP, responder.port), [backend], loop.time())
        watch = Watch()
        runner = ProbeRunner(tracker, on_events=watch, source="127.0.0.5")
        runner.start()
        try:
            await watch.wait_for(BackendMarkedUp)
            assert responder.last_peer == "127.0.0.5"
        finally:
            await runner.stop()
            await responder.stop()

    asyncio.run(main())

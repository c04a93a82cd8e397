"""The benchmark scenarios, bgperf-style: tester(s) -> target -> (monitors).

1. ``ingest``: one peer sends N prefixes; time from the first UPDATE written until
   the target's own CLI reports all N.
2. ``propagation``: one peer sends N to a target configured as a route server;
   two monitor peers (``benchmarks.peer``) must each receive all N.
3. ``churn``: after ingesting N, withdraw 10% of the table, then re-announce it;
   time each phase until the target's count returns to 0.9 N, then N.
4. ``peers``: P peers (8 or 64) each send 4,000 distinct routes at once; the
   route-server targets (``nexthop``, ``rs-core``) also reflect every peer's
   routes to the others while they ingest.
6. ``scaling``: ingest at several sizes (10k, 100k, 1M by default) on the product;
   seconds per 100k routes by size (``benchmarks.tables.scaling_rows``).

(5, ``failover``, and 7, ``lab-convergence``, run the live lab, not a daemon:
``benchmarks.failover`` and ``benchmarks.lab_convergence``.)

Every run starts a fresh target. A run fails if the count does not change for
``STALL_SECONDS`` (bgperf2's rule), if the target dies, or if a session does not
come up; with ``Workload.timeout`` it ends as ``timeout`` ("did not finish in T
s") once that many seconds have passed since its first UPDATE, however slowly
the count still moves. Sends run in a thread, so a target that stops reading
cannot hold the harness past the timeout either. CPU seconds come from /proc
deltas of the target's process tree, peak RSS from VmHWM; the injector's own
send time and the harness CPU are recorded so a result can show it measured the
target, not the injector.
"""

from __future__ import annotations

import contextlib
import functools
import os
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.blaster import Blaster, Stream, encode_groups, synthetic_stream, withdraw_stream
from benchmarks.peer import Peer
from benchmarks.routes import RouteGroup, blaster_next_hop, synthetic_routes
from benchmarks.targets import (
    CliTimeoutError,
    PeerSpec,
    Target,
    TargetUnavailableError,
    tree_cpu_seconds,
    tree_peak_rss,
)
from nexthop.net.prefix import Prefix

__all__ = [
    "SCENARIOS",
    "STALL_SECONDS",
    "Layout",
    "RunResult",
    "RunTimeoutError",
    "Workload",
    "run_scenario",
    "wait_for_count",
]

STALL_SECONDS = 30.0
POLL_SECONDS = 0.1
POLL_FRACTION = 0.02
MIN_POLL_SECONDS = 0.005
"""Polls come every ``POLL_FRACTION`` of the time waited so far, at least
``MIN_POLL_SECONDS`` and at most ``poll`` apart: the end of a run is seen within
about 2 % of its time (5 ms at the smallest sizes) instead of within a fixed 0.1 s,
which made a 10k-route run (~0.05 s) look twice as slow. A 1M run is polled about
200 times instead of 70; one REST poll of ``nexthop serve`` costs it ~0.9 ms of CPU."""
ACCEPT_TIMEOUT = 60.0
BLASTER_ASN = 65011
MONITOR_ASN = 65021
PEERS_ROUTES = 4000


@dataclass(frozen=True, slots=True, kw_only=True)
class Layout:
    """Where the harness peers listen (the target connects to them)."""

    blaster_net: str = "127.0.1."
    monitor_net: str = "127.0.2."
    blaster_port: int = 17911
    monitor_port: int = 17921

    def blaster(self, i: int) -> str:
        return f"{self.blaster_net}{1 + i}"

    def monitor(self, i: int) -> str:
        return f"{self.monitor_net}{1 + i}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Workload:
    """What one scenario run does."""

    scenario: str
    n: int = 100_000
    shape: str = "single"
    peers: int = 1
    mrt: str | None = None
    timeout: float | None = None  # seconds from the first UPDATE; None: stall rule only


@dataclass(slots=True, kw_only=True)
class RunResult:
    scenario: str
    target: str
    run: int
    n: int
    shape: str
    peers: int
    ok: bool = False
    status: str = "ok"  # ok | failed | timeout | unavailable | n/a
    error: str | None = None
    elapsed_s: float | None = None
    send_s: float | None = None
    established_s: float | None = None
    cpu_s: float | None = None
    harness_cpu_s: float | None = None
    peak_rss_bytes: int | None = None
    count: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class RunFailedError(RuntimeError):
    pass


class RunTimeoutError(RunFailedError):
    """The run passed its timeout; the message is "did not finish in T s"."""


def did_not_finish(timeout: float) -> str:
    return f"did not finish in {timeout:g} s"


def wait_for_count(
    read: Callable[[], int],
    goal: int,
    *,
    alive: Callable[[], bool] = lambda: True,
    stall: float = STALL_SECONDS,
    poll: float = POLL_SECONDS,
    deadline: float | None = None,
    timeout: float | None = None,
) -> tuple[float, int]:
    """Poll ``read()`` until it equals ``goal``; return (seconds, count).

    Raises ``RunFailedError`` when the count is unchanged for ``stall`` seconds or
    ``alive()`` turns false, ``RunTimeoutError`` once ``time.perf_counter()`` passes
    ``deadline`` (``timeout`` is the run's limit, for the message).
    """
    start = time.perf_counter()
    last, last_change = -1, start
    while True:
        if deadline is not None and time.perf_counter() > deadline:
            limit = timeout if timeout is not None else deadline - start
            msg = f"{did_not_finish(limit)} (count {last} of {goal})"
            raise RunTimeoutError(msg)
        try:
            value = read()
        except CliTimeoutError:
            value = last  # a busy target's CLI is slow; that is not a stall by itself
        now = time.perf_counter()
        if value == goal:
            return now - start, value
        if value != last:
            last, last_change = value, now
        elif now - last_change > stall and (value >= 0 or deadline is None):
            # with a deadline, a target whose API does not answer is waited for until
            # the deadline (issue 10: serve's API stops answering while it is busy)
            msg = (
                f"count stalled at {value} of {goal} for {stall:.0f}s"
                if value >= 0
                else f"no answer from the target's CLI for {stall:.0f}s"
            )
            raise RunFailedError(msg)
        if not alive():
            msg = f"target exited with count {value} of {goal}"
            raise RunFailedError(msg)
        time.sleep(min(poll, max(MIN_POLL_SECONDS, (now - start) * POLL_FRACTION)))


def _establish_all(peers: list[Peer], target: Target, timeout: float) -> None:
    """Bring every harness session up: accept the target's connections, or dial it."""
    errors: list[str] = []
    dial = target.dial_address()

    def accept(peer: Peer) -> None:
        try:
            if dial is None:
                peer.accept(timeout)
            else:
                peer.connect(dial, target.port, timeout)
        except Exception as exc:
            errors.append(f"{peer.local_address}: {exc!r}")

    threads = [threading.Thread(target=accept, args=(p,)) for p in peers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        msg = f"sessions not established: {errors[0]} ({len(errors)} of {len(peers)})"
        raise RunFailedError(msg)


class _Run:
    """Shared plumbing for one run: peers, target, resource accounting."""

    def __init__(self, target: Target, result: RunResult, layout: Layout) -> None:
        self.layout = layout
        self.target = target
        self.result = result
        self.peers: list[Peer] = []
        self.cpu0 = 0.0
        self.harness0 = 0.0
        self.timeout: float | None = None
        self.deadline: float | None = None
        self.senders: list[threading.Thread] = []

    def clock(self) -> float:
        """Start the run's clock (the first UPDATE is about to be written): returns
        ``time.perf_counter()`` and arms the deadline of ``timeout``."""
        t0 = time.perf_counter()
        if self.timeout is not None and self.deadline is None:
            self.deadline = t0 + self.timeout
        return t0

    def wait(
        self, read: Callable[[], int], goal: int, poll: float = POLL_SECONDS
    ) -> tuple[float, int]:
        """``wait_for_count`` on this run's target, stall rule and deadline."""
        return wait_for_count(
            read,
            goal,
            alive=self.target.alive,
            poll=poll,
            deadline=self.deadline,
            timeout=self.timeout,
        )

    def send(self, blaster: Blaster, stream: Stream, *, end_of_rib: bool = True) -> _Send:
        """Write ``stream`` from a thread (see ``_Send``); ``close()`` ends a stuck one."""
        sending = _Send(blaster, stream, end_of_rib)
        self.senders.append(sending.thread)
        return sending

    def add_blaster(self, i: int, asn: int, rs: bool = False) -> tuple[Blaster, PeerSpec]:
        blaster = Blaster(local_address=self.layout.blaster(i), local_asn=asn)
        blaster.peer.listen(self.layout.blaster_port)
        self.peers.append(blaster.peer)
        spec = PeerSpec(
            address=self.layout.blaster(i),
            port=self.layout.blaster_port,
            asn=asn,
            route_server_client=rs,
            name=f"feeder{i}",
        )
        return blaster, spec

    def add_monitor(self, i: int) -> tuple[Peer, PeerSpec]:
        monitor = Peer(local_address=self.layout.monitor(i), local_asn=MONITOR_ASN + i, count=True)
        monitor.listen(self.layout.monitor_port)
        self.peers.append(monitor)
        spec = PeerSpec(
            address=self.layout.monitor(i),
            port=self.layout.monitor_port,
            asn=MONITOR_ASN + i,
            route_server_client=True,
            name=f"client{i}",
        )
        return monitor, spec

    def start(self, specs: list[PeerSpec]) -> None:
        begin = time.perf_counter()
        self.target.start(specs)
        _establish_all(self.peers, self.target, ACCEPT_TIMEOUT)
        self.result.established_s = time.perf_counter() - begin
        self.cpu0 = tree_cpu_seconds(self.target.pids())
        self.harness0 = _own_cpu()

    def finish(self) -> None:
        pids = self.target.pids()
        self.result.cpu_s = tree_cpu_seconds(pids) - self.cpu0
        self.result.harness_cpu_s = _own_cpu() - self.harness0
        self.result.peak_rss_bytes = tree_peak_rss(pids)

    def close(self) -> None:
        for peer in self.peers:
            peer.close()
        for thread in self.senders:  # closed sockets end any sendall still blocked
            thread.join(timeout=10)
        self.target.stop()


class _Send:
    """One blaster write in a thread: ``result()`` waits for it and returns the
    seconds ``sendall`` took (None if the socket was closed under it)."""

    def __init__(self, blaster: Blaster, stream: Stream, end_of_rib: bool) -> None:
        self.seconds: float | None = None
        self.error: OSError | None = None

        def write() -> None:
            try:
                self.seconds = blaster.blast(stream, end_of_rib=end_of_rib)
            except OSError as exc:
                self.error = exc

        self.thread = threading.Thread(target=write, daemon=True)
        self.thread.start()

    def result(self) -> float | None:
        self.thread.join()
        return self.seconds


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


@functools.lru_cache(maxsize=4)
def _stream(workload: Workload, peer_index: int, asn: int) -> Stream:
    """Encoded once per workload and reused across targets and runs."""
    return encode_groups(_routes(workload, peer_index, asn))


@functools.lru_cache(maxsize=2)
def _routes(workload: Workload, peer_index: int, asn: int) -> list[RouteGroup]:
    if workload.mrt:
        from benchmarks.mrt import replay_routes  # noqa: PLC0415

        return replay_routes(
            workload.mrt, peer_asn=asn, next_hop=blaster_next_hop(peer_index), limit=workload.n
        )
    return synthetic_routes(
        workload.shape,
        workload.n,
        peer_asn=asn,
        next_hop=blaster_next_hop(peer_index),
        offset=peer_index * workload.n,
    )


# --- scenarios ------------------------------------------------------------------


def _ingest(run: _Run, workload: Workload) -> None:
    stream = _stream(workload, 0, BLASTER_ASN)
    goal = len(stream.prefixes)
    run.result.n = goal
    blaster, spec = run.add_blaster(0, BLASTER_ASN)
    run.start([spec])
    t0 = run.clock()
    sending = run.send(blaster, stream)
    _, count = run.wait(run.target.received, goal)
    run.result.elapsed_s = time.perf_counter() - t0
    run.result.send_s = sending.result()
    run.result.count = count
    _wait_programmed(run, stream.prefixes, t0)
    run.finish()


def _covering(prefixes: Sequence[Prefix]) -> Prefix:
    """The shortest prefix covering every one of ``prefixes`` (one family)."""
    low, high = min(prefixes), max(prefixes)
    width = low.max_length
    length = width - (low.value ^ high.value).bit_length()
    mask = ((1 << length) - 1) << (width - length)
    return Prefix(low.afi, low.value & mask, length)


def _wait_programmed(run: _Run, prefixes: Sequence[Prefix], t0: float) -> None:
    """For a target that programs a VNet (``nexthop serve``): wait until a NIC's
    effective routes hold every route too, and record when (``programmed_s``, from
    the same t0). Peak RSS and CPU are then read after it, so they include the
    VNet's index. The run's time (``elapsed_s``) stays the accepted count."""
    space = _covering(prefixes)
    if run.target.programmed(space, len(prefixes)) is None:
        return

    def programmed() -> int:
        return run.target.programmed(space, len(prefixes)) or 0

    run.wait(programmed, len(prefixes))
    run.result.extra["programmed_s"] = time.perf_counter() - t0


def _propagation(run: _Run, workload: Workload) -> None:
    stream = _stream(workload, 0, BLASTER_ASN)
    goal = len(stream.prefixes)
    run.result.n = goal
    blaster, spec = run.add_blaster(0, BLASTER_ASN, rs=True)
    monitors = [run.add_monitor(i) for i in range(2)]
    run.start([spec] + [m[1] for m in monitors])
    t0 = run.clock()
    sending = run.send(blaster, stream)
    times = []
    for monitor, _ in monitors:
        clients_goal = goal + run.target.extra_advertised
        run.wait(lambda m=monitor: m.count, clients_goal, poll=0.02)  # type: ignore[misc]
        times.append(time.perf_counter() - t0)
    run.result.elapsed_s = max(times)
    run.result.send_s = sending.result()
    run.result.count = min(m.count for m, _ in monitors)
    run.result.extra["monitor_s"] = times
    _wait_programmed(run, stream.prefixes, t0)
    run.finish()


def _churn(run: _Run, workload: Workload) -> None:
    groups = _routes(workload, 0, BLASTER_ASN)
    stream = _stream(workload, 0, BLASTER_ASN)
    goal = len(stream.prefixes)
    run.result.n = goal
    churned: set[Prefix] = set(stream.prefixes[::10])
    withdraw = withdraw_stream([p for p in stream.prefixes if p in churned])
    again = encode_groups(
        [
            RouteGroup(attributes=g.attributes, prefixes=kept)
            for g in groups
            if (kept := tuple(p for p in g.prefixes if p in churned))
        ]
    )
    blaster, spec = run.add_blaster(0, BLASTER_ASN)
    run.start([spec])
    t0 = run.clock()
    sending = run.send(blaster, stream)
    run.wait(run.target.received, goal)
    ingest_s = time.perf_counter() - t0
    sending.result()
    t1 = time.perf_counter()
    sending = run.send(blaster, withdraw, end_of_rib=False)
    run.wait(run.target.received, goal - len(churned))
    withdraw_s = time.perf_counter() - t1
    send_w = sending.result() or 0.0
    t2 = time.perf_counter()
    sending = run.send(blaster, again, end_of_rib=False)
    _, count = run.wait(run.target.received, goal)
    announce_s = time.perf_counter() - t2
    run.result.elapsed_s = withdraw_s + announce_s
    run.result.send_s = send_w + (sending.result() or 0.0)
    run.result.count = count
    run.result.extra.update(
        ingest_s=ingest_s, withdraw_s=withdraw_s, reannounce_s=announce_s, churned=len(churned)
    )
    run.finish()


def _many_peers(run: _Run, workload: Workload) -> None:
    per_peer = workload.n
    streams: list[Stream] = []
    blasters: list[Blaster] = []
    specs: list[PeerSpec] = []
    for i in range(workload.peers):
        asn = 65100 + i
        streams.append(
            synthetic_stream(
                workload.shape, per_peer, peer_asn=asn, peer_index=i, offset=i * per_peer
            )
        )
        blaster, spec = run.add_blaster(i, asn)
        blasters.append(blaster)
        specs.append(spec)
    goal = per_peer * workload.peers
    run.start(specs)
    t0 = run.clock()
    sendings = [run.send(b, s) for b, s in zip(blasters, streams, strict=True)]
    _, count = run.wait(run.target.received, goal)
    run.result.elapsed_s = time.perf_counter() - t0
    run.result.send_s = max((s.result() or 0.0) for s in sendings)
    run.result.count = count
    run.finish()


SCENARIOS: dict[str, Callable[[_Run, Workload], None]] = {
    "ingest": _ingest,
    "propagation": _propagation,
    "churn": _churn,
    "peers": _many_peers,
    # the ingest run at several table sizes (benchmarks.tables.scaling_rows)
    "scaling": _ingest,
}

# Targets that cannot take part in a scenario, and why.
NOT_APPLICABLE: dict[tuple[str, str], str] = {
    ("propagation", "exabgp"): "ExaBGP has no RIB and does not re-advertise received routes",
    ("propagation", "speaker-core"): "the plain Speaker does not re-advertise (see rs-core)",
}


def run_scenario(
    target: Target, workload: Workload, run_index: int, layout: Layout | None = None
) -> RunResult:
    result = RunResult(
        scenario=workload.scenario,
        target=target.name,
        run=run_index,
        n=workload.n * max(1, workload.peers if workload.scenario == "peers" else 1),
        shape="mrt" if workload.mrt else workload.shape,
        peers=workload.peers,
    )
    reason = NOT_APPLICABLE.get((workload.scenario, target.name))
    if reason is not None:
        result.status, result.error = "n/a", reason
        return result
    run = _Run(target, result, layout or Layout())
    run.timeout = workload.timeout
    try:
        SCENARIOS[workload.scenario](run, workload)
        result.ok = True
    except TargetUnavailableError as exc:
        result.status, result.error = "unavailable", str(exc)
    except (RunFailedError, OSError) as exc:
        timed_out = isinstance(exc, RunTimeoutError)
        result.status, result.error = ("timeout" if timed_out else "failed"), str(exc)
        with contextlib.suppress(CliTimeoutError):
            result.count = target.received() if target.alive() else result.count
        tail = target.tail_log(5)
        if tail:
            result.extra["log_tail"] = tail
    finally:
        run.close()
    return result


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def workdir_for(root: Path, target: str) -> Path:
    return root / target

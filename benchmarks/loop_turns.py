"""Event-loop turns of ``nexthop serve`` during the big BGP bursts (issue 10's 50 ms).

Runs the product (``serve_target.NexthopServe``) and reads what it exports in
``/metrics`` (``nexthop.runtime.loop_lag``): the longest turn of the last 10 s
(``nexthop_event_loop_longest_turn_seconds``) and the lag histogram
(``nexthop_event_loop_lag_seconds``). A poller thread scrapes ``/metrics`` and
times ``/healthz`` every ``--poll`` seconds during each phase, so a phase's
longest turn is the largest gauge value seen while it ran (phases are separated
by a quiet pause longer than the gauge's window). Phases:

* ``ingest``: one feeder sends N routes (8 per attribute set by default); until
  ``accepted_routes`` on IN_0 is N (the total time is reported too);
* ``full-sync``: a client connects to a server holding the N routes; until it
  holds N + 1 (the hub's address space);
* ``peer-down``: the feeder's session drops with the full table; until the
  client is left with the hub's address space;
* ``propagation``: a fresh server with two clients up; the feeder sends N;
  until both clients hold N + 1.

Run (under the machine's benchmark lock)::

    flock /work/wt/bench.lock python -m benchmarks.loop_turns --n 100000
    NEXTHOP_BENCH_SRC=/tmp/before/src python -m benchmarks.loop_turns --n 1000000
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.blaster import Blaster, Stream, synthetic_stream
from benchmarks.peer import Peer
from benchmarks.rest import ApiClient, ApiError
from benchmarks.scenarios import BLASTER_ASN, MONITOR_ASN, Layout, wait_for_count
from benchmarks.serve_target import API_HOST, NexthopServe
from benchmarks.targets import PeerSpec

__all__ = ["PhaseResult", "main"]

QUIET_S = 11.0  # longer than the longest-turn gauge's 10 s window
_GAUGE = re.compile(r"^nexthop_event_loop_longest_turn_seconds\{[^}]*\} (\S+)$", re.M)
_LAG_COUNT = re.compile(r"^nexthop_event_loop_lag_seconds_count\{[^}]*\} (\S+)$", re.M)
_LAG_BUCKET = re.compile(
    r'^nexthop_event_loop_lag_seconds_bucket\{le="([^"]+)"[^}]*\} (\S+)$', re.M
)


@dataclass(slots=True)
class PhaseResult:
    phase: str
    n: int
    seconds: float = 0.0
    longest_turn_s: float = 0.0
    max_lag_bucket_s: str = ""  # upper bound of the highest lag bucket that grew
    worst_healthz_s: float = 0.0
    unanswered: int = 0  # polls (metrics or healthz) without an answer in 10 s
    polls: int = 0


@dataclass(slots=True)
class _Poller:
    """Scrapes ``/metrics`` and times ``/healthz`` in a thread while a phase runs."""

    port: int
    interval: float
    result: PhaseResult
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _buckets0: dict[str, float] = field(default_factory=dict)

    def __enter__(self) -> _Poller:
        self._buckets0 = self._scrape(ApiClient(API_HOST, self.port))[1]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        self._poll(ApiClient(API_HOST, self.port))  # the turns up to the phase's end
        self._lag_delta(ApiClient(API_HOST, self.port))

    def _scrape(self, api: ApiClient) -> tuple[float, dict[str, float]]:
        status, body = api.get("/metrics")
        api.close()
        text = body.decode()
        if status != 200 or not _LAG_COUNT.search(text):
            msg = "/metrics has no nexthop_event_loop_lag_seconds"
            raise ApiError(msg)
        gauge = max((float(v) for v in _GAUGE.findall(text)), default=0.0)
        return gauge, {le: float(v) for le, v in _LAG_BUCKET.findall(text)}

    def _poll(self, api: ApiClient) -> None:
        result = self.result
        result.polls += 1
        try:
            result.worst_healthz_s = max(result.worst_healthz_s, api.healthz())
            gauge, _ = self._scrape(api)
            result.longest_turn_s = max(result.longest_turn_s, gauge)
        except ApiError:
            result.unanswered += 1

    def _lag_delta(self, api: ApiClient) -> None:
        try:
            _, buckets = self._scrape(api)
        except ApiError:
            return
        previous = 0.0
        for le, count in buckets.items():  # cumulative, in increasing bounds
            grew = count - self._buckets0.get(le, 0.0)
            if grew > previous:
                self.result.max_lag_bucket_s = le
            previous = max(previous, grew)

    def _run(self) -> None:
        api = ApiClient(API_HOST, self.port)
        while not self._stop.wait(self.interval):
            self._poll(api)
        api.close()


def _phase(
    name: str, n: int, port: int, poll: float, body: Callable[[], None], results: list[PhaseResult]
) -> None:
    result = PhaseResult(phase=name, n=n)
    with _Poller(port, poll, result):
        start = time.perf_counter()
        body()
        result.seconds = time.perf_counter() - start
    results.append(result)
    print(json.dumps(asdict(result)), flush=True)


def _serve(workdir: Path, specs: list[PeerSpec]) -> NexthopServe:
    target = NexthopServe(workdir)
    target.start(specs)
    return target


def _accepted(target: NexthopServe, name: str) -> Callable[[], int]:
    def read() -> int:
        assert target.api is not None
        row = target.api.peering("rs", name)
        return int(row["instances"]["RouteServiceRole_IN_0"]["accepted_routes"])

    return read


def run(n: int, shape: str, phases: Sequence[str], poll: float, workdir: Path) -> list[PhaseResult]:
    layout = Layout()
    stream: Stream = synthetic_stream(shape, n, peer_asn=BLASTER_ASN)
    goal = len(stream.prefixes)
    results: list[PhaseResult] = []
    feeder_spec = PeerSpec(address=layout.blaster(0), port=0, asn=BLASTER_ASN, name="feeder0")
    client_specs = [
        PeerSpec(
            address=layout.monitor(i),
            port=0,
            asn=MONITOR_ASN + i,
            route_server_client=True,
            name=f"client{i}",
        )
        for i in range(2)
    ]
    if {"ingest", "full-sync", "peer-down"} & set(phases):
        target = _serve(workdir / "a", [feeder_spec, *client_specs])
        feeder = Blaster(local_address=layout.blaster(0), local_asn=BLASTER_ASN)
        client = Peer(local_address=layout.monitor(0), local_asn=MONITOR_ASN, count=True)
        try:
            dial = target.dial_address()
            assert dial is not None
            feeder.peer.connect(dial, target.port, 60)
            time.sleep(QUIET_S)

            def ingest() -> None:
                feeder.blast(stream)
                wait_for_count(_accepted(target, "feeder0"), goal, alive=target.alive)

            _phase("ingest", goal, target.api_port, poll, ingest, results)
            if "full-sync" in phases or "peer-down" in phases:
                time.sleep(QUIET_S)

                def full_sync() -> None:
                    client.connect(dial, target.port, 60)
                    wait_for_count(lambda: client.count, goal + 1, alive=target.alive, poll=0.02)

                _phase("full-sync", goal, target.api_port, poll, full_sync, results)
            if "peer-down" in phases:
                time.sleep(QUIET_S)

                def peer_down() -> None:
                    feeder.close()
                    wait_for_count(lambda: client.count, 1, alive=target.alive, poll=0.02)

                _phase("peer-down", goal, target.api_port, poll, peer_down, results)
        finally:
            feeder.close()
            client.close()
            target.stop()
    if "propagation" in phases:
        target = _serve(workdir / "b", [feeder_spec, *client_specs])
        feeder = Blaster(local_address=layout.blaster(0), local_asn=BLASTER_ASN)
        clients = [
            Peer(local_address=layout.monitor(i), local_asn=MONITOR_ASN + i, count=True)
            for i in range(2)
        ]
        try:
            dial = target.dial_address()
            assert dial is not None
            for peer in (feeder.peer, *clients):
                peer.connect(dial, target.port, 60)
            time.sleep(QUIET_S)

            def propagation() -> None:
                feeder.blast(stream)
                for peer in clients:
                    wait_for_count(lambda p=peer: p.count, goal + 1, alive=target.alive, poll=0.02)  # type: ignore[misc]

            _phase("propagation", goal, target.api_port, poll, propagation, results)
        finally:
            feeder.close()
            for peer in clients:
                peer.close()
            target.stop()
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loop_turns")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--shape", default="eight")
    parser.add_argument("--phases", default="ingest,full-sync,peer-down,propagation")
    parser.add_argument("--poll", type=float, default=0.5)
    parser.add_argument("--workdir", default="/tmp/nexthop-loop-turns")
    parser.add_argument("--out", help="also write the results here (JSON)")
    args = parser.parse_args(argv)
    results = run(args.n, args.shape, args.phases.split(","), args.poll, Path(args.workdir))
    if args.out:
        Path(args.out).write_text(json.dumps([asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    main()

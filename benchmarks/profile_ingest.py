"""In-process, socket-free stage benchmark of nexthop's ingest and propagation path.

Usage: ``python -m benchmarks.profile_ingest --n 1000000 --shape eight`` (from the
repository root, with the project virtualenv). The N prefixes are pre-encoded as
UPDATEs with the harness's independent encoder (``benchmarks.bgpbytes``): ``eight``
gives every 8 prefixes their own attribute set, ``single`` one set for all. Then
each stage is timed on its own, in this process, with no sockets or event loop:

* ``decode``: ``MessageReader`` (interning on, as ``Session`` uses it) over the
  whole byte stream, fed in 64 KiB reads;
* ``speaker``: the decoded UPDATEs applied to the plain speaker's Adj-RIB-In
  (``runtime.routes.ReceivedTable.apply``, what ``benchmarks.nexthop_target`` counts);
* ``rs_ingest``: ``RouteServer.receive_update`` with only the sending peer up
  (on one instance, or both with ``--instances 2`` as ``RouteServerHost`` does);
* ``rs_propagate``: the same with 2 route-server clients established, so every
  UPDATE is also diffed against 2 Adj-RIB-Outs and packed into outbound UPDATEs;
* ``encode``: the outbound UPDATEs of ``rs_propagate`` encoded to bytes
  (``encode_message``, what ``Session.send_update`` does);
* ``rs_down``: the sender of ``rs_propagate``'s table goes down
  (``RouteServer.peer_down`` on each instance): its Adj-RIB-In and Loc-RIB
  paths go, the VNet is reprogrammed and the 2 clients are sent withdrawals.

Memory: the RSS growth while each RIB is built (``/proc/self/status`` VmRSS,
after a garbage collection) divided by N, and the process peak (VmHWM). With
``--tracemalloc`` the retained Python allocations of each stage are traced too
(slower). ``--profile STAGE`` runs that stage under pyinstrument
(``pip install pyinstrument``) and prints the call tree.

The garbage collector runs with the thresholds ``Speaker.start()`` and
``RouteServerHost.start()`` set (``--gc default`` for CPython's own).

Results: a table on stdout and ``benchmarks/results/profile_ingest.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.bgpbytes import END_OF_RIB_IPV4, encode_attributes, pack_announcements
from benchmarks.routes import blaster_next_hop, synthetic_routes
from nexthop.bgp.wire import MessageReader, Negotiated, Update, encode_message
from nexthop.bgp.wire.messages import Message
from nexthop.net.prefix import parse_prefix
from nexthop.routeserver import IN_0, INSTANCE_ROLES, PeeringConfig, RouteServer, SendUpdate
from nexthop.routeserver.config import AZURE_ASN, RouteServerConfig
from nexthop.runtime.routes import ReceivedTable
from nexthop.runtime.speaker import use_bulk_gc_thresholds

__all__ = ["main", "run"]

SENDER_ASN = 65011
CLIENT_ASNS = (65012, 65013)
READ_SIZE = 65536
RESULTS = Path(__file__).parent / "results" / "profile_ingest.json"
STAGES = ("decode", "speaker", "rs_ingest", "rs_propagate", "encode", "rs_down")


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _rss_mb() -> float:
    gc.collect()
    return _status_kb("VmRSS") / 1024


def build_stream(shape: str, n: int) -> tuple[bytes, int]:
    """The pre-encoded UPDATE stream (plus End-of-RIB) and its message count."""
    groups = synthetic_routes(shape, n, peer_asn=SENDER_ASN, next_hop=blaster_next_hop(1), offset=0)
    messages = pack_announcements((encode_attributes(g.attributes), g.prefixes) for g in groups)
    messages.append(END_OF_RIB_IPV4)
    return b"".join(messages), len(messages)


def _negotiated(peer_asn: int, bgp_id: int) -> Negotiated:
    return Negotiated(asn4=True, local_asn=AZURE_ASN, peer_asn=peer_asn, peer_bgp_id=bgp_id)


def decode(stream: bytes) -> list[Message]:
    reader = MessageReader(intern_attributes=True)
    negotiated = _negotiated(SENDER_ASN, 1)
    out: list[Message] = []
    append = out.append
    for start in range(0, len(stream), READ_SIZE):
        reader.feed(stream[start : start + READ_SIZE])  # bytes, as a socket read gives
        while (message := reader.next_message(negotiated)) is not None:
            append(message)
    return out


def speaker_ingest(updates: list[Update]) -> ReceivedTable:
    rib = ReceivedTable()
    for update in updates:
        rib.apply(update)
    return rib


def route_server(clients: int) -> RouteServer:
    """Configured like ``benchmarks.nexthop_target`` in route-server mode."""
    config = RouteServerConfig(
        name="bench",
        subnet=parse_prefix("10.9.0.0/26"),
        max_peers=8,
        max_routes_per_peer=10_000_000,
        max_total_routes=10_000_000,
        count_readvertised_routes=True,
    )
    server = RouteServer(config)
    asns = (SENDER_ASN, *CLIENT_ASNS[:clients])
    for i, asn in enumerate(asns):
        server.add_peering(PeeringConfig(name=f"peer{i}", peer_ip=f"10.1.0.{10 + i}", peer_asn=asn))
    for role in INSTANCE_ROLES:
        for i, asn in enumerate(asns):
            server.peer_established(role, f"peer{i}", _negotiated(asn, 0x0A01000A + i), 0.0)
    return server


def rs_feed(server: RouteServer, updates: list[Update], instances: int) -> list[Update]:
    """Feed every UPDATE from peer0; returns the UPDATEs sent to clients on IN_0."""
    roles = INSTANCE_ROLES[:instances]
    sent: list[Update] = []
    receive = server.receive_update
    for update in updates:
        for role in roles:
            for output in receive(role, "peer0", update, 0.0):
                if isinstance(output, SendUpdate) and output.instance == IN_0:
                    sent.append(output.update)
    return sent


def rs_down(server: RouteServer, instances: int) -> list[Update]:
    """peer0 (the sender) goes down; returns the UPDATEs sent to clients on IN_0."""
    sent: list[Update] = []
    for role in INSTANCE_ROLES[:instances]:
        for output in server.peer_down(role, "peer0", 0.0):
            if isinstance(output, SendUpdate) and output.instance == IN_0:
                sent.append(output.update)
    return sent


def encode(sent: list[Update]) -> int:
    negotiated = _negotiated(CLIENT_ASNS[0], 0)
    return sum(len(encode_message(u, negotiated)) for u in sent)


def _timed(fn: Callable[[], Any], profile: bool) -> tuple[Any, float, float]:
    profiler: Any = None
    if profile:
        from pyinstrument import Profiler  # noqa: PLC0415

        profiler = Profiler(interval=0.001)
        profiler.start()
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    return result, elapsed, cpu


def run(
    n: int,
    shape: str,
    *,
    instances: int = 1,
    stages: tuple[str, ...] = STAGES,
    profile: str = "",
    trace: bool = False,
) -> dict[str, Any]:
    """Run the stages; returns the result record (also what is written as JSON)."""
    stream, count = build_stream(shape, n)
    record: dict[str, Any] = {
        "n": n,
        "shape": shape,
        "instances": instances,
        "updates": count,
        "stream_octets": len(stream),
        "python": platform.python_version(),
        "gc_thresholds": list(gc.get_threshold()),
        "stages": {},
    }
    rows: dict[str, dict[str, float]] = record["stages"]

    def stage(name: str, fn: Callable[[], Any]) -> Any:
        if trace:
            tracemalloc.start()
        before = _rss_mb()
        result, elapsed, cpu = _timed(fn, profile == name)
        row = {
            "seconds": round(elapsed, 3),
            "cpu_seconds": round(cpu, 3),
            "prefixes_per_cpu_s": round(n / cpu),
        }
        row["rss_growth_mb"] = round(_rss_mb() - before, 1)
        row["bytes_per_route"] = round(row["rss_growth_mb"] * 1024 * 1024 / n)
        if trace:
            current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            row["traced_mb"] = round(current / 2**20, 1)
            row["traced_peak_mb"] = round(peak / 2**20, 1)
        rows[name] = row
        return result

    messages = stage("decode", lambda: decode(stream))
    updates = [m for m in messages if isinstance(m, Update) and (m.nlri or m.withdrawn)]
    del messages
    if "speaker" in stages:
        rib = stage("speaker", lambda: speaker_ingest(updates))
        assert len(rib) == n, f"speaker holds {len(rib)} of {n}"
        del rib
    if "rs_ingest" in stages:
        server = route_server(clients=0)
        stage("rs_ingest", lambda: rs_feed(server, updates, instances))
        status = server.peering_status("peer0")[IN_0]
        assert status.accepted_routes == n, f"route server accepted {status.accepted_routes}"
        del server
    if {"rs_propagate", "encode", "rs_down"} & set(stages):
        server = route_server(clients=2)
        sent = stage("rs_propagate", lambda: rs_feed(server, updates, instances))
        advertised = server.peering_status("peer1")[IN_0].advertised_routes
        assert advertised == n, f"client 1 was given {advertised} of {n}"
        record["outbound_updates"] = len(sent)
        if "encode" in stages:
            record["outbound_octets"] = stage("encode", lambda: encode(sent))
        del sent
        if "rs_down" in stages:
            withdrawals = stage("rs_down", lambda: rs_down(server, instances))
            withdrawn = sum(len(u.withdrawn) for u in withdrawals)
            assert withdrawn == 2 * n, f"clients were sent {withdrawn} withdrawals of {2 * n}"
            left = server.peering_status("peer1")[IN_0].advertised_routes
            assert left == 0, f"client 1 still holds {left}"
            record["down_updates"] = len(withdrawals)
            del withdrawals
        del server
    record["peak_rss_mb"] = round(_status_kb("VmHWM") / 1024, 1)
    return record


def _print(record: dict[str, Any]) -> None:
    n = record["n"]
    print(
        f"{n:,} prefixes, shape {record['shape']}, {record['updates']:,} UPDATEs in, "
        f"{record['instances']} instance(s); gc thresholds {record['gc_thresholds']}; "
        f"peak RSS {record['peak_rss_mb']} MB"
    )
    head = (
        f"{'stage':<14}{'wall s':>9}{'CPU s':>9}{'prefixes/CPU-s':>16}{'RSS +MB':>9}{'B/route':>9}"
    )
    print(head)
    print("-" * len(head))
    for name, row in record["stages"].items():
        print(
            f"{name:<14}{row['seconds']:>9.3f}{row['cpu_seconds']:>9.3f}{row['prefixes_per_cpu_s']:>16,}"
            f"{row['rss_growth_mb']:>9.1f}{row['bytes_per_route']:>9,}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_ingest")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--shape", choices=("eight", "single", "table"), default="eight")
    parser.add_argument("--instances", type=int, choices=(1, 2), default=1)
    parser.add_argument("--stages", default=",".join(STAGES[1:]), help="after decode")
    parser.add_argument("--profile", choices=STAGES, default="", help="pyinstrument tree")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument(
        "--gc",
        choices=("bulk", "default"),
        default="bulk",
        help="bulk: the thresholds Speaker/RouteServerHost.start() set; default: CPython's",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.gc == "bulk":
        use_bulk_gc_thresholds()
    record = run(
        args.n,
        args.shape,
        instances=args.instances,
        stages=tuple(args.stages.split(",")),
        profile=args.profile,
        trace=args.tracemalloc,
    )
    _print(record)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()

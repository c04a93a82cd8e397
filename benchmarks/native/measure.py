"""Measure the native UPDATE decoder prototype against the Python decoder.

Usage (repository root, project virtualenv; builds the extension first)::

    python -m benchmarks.native.build
    python -m benchmarks.native.measure --n 1000000 --shape eight

The stream is the one ``benchmarks.profile_ingest`` times (``build_stream``: the
harness's own encoder, End-of-RIB included), split into UPDATE bodies. Then:

1. every body is decoded by both decoders and the objects compared (fallbacks,
   i.e. native None, are counted; any difference is an error);
2. CPU seconds (``time.process_time``, so other load on the machine matters
   less) of ``decode_update`` over all bodies with an ``AttributeCache`` (as
   ``MessageReader(intern_attributes=True)`` calls it), and of the native decoder
   (with a cache dict, falling back to ``decode_update`` on None), with records
   built by writing slots and by calling the classes; best of ``--repeat``;
3. the ``profile_ingest`` decode stage (framing + decode) and speaker stage
   (Adj-RIB-In) with the Python decoder, and the projected ingest with the
   native one: decode stage - Python decoder + native decoder + speaker stage;
4. equality over the real UPDATEs in ``../shared/vectors`` (tcpdump captures and
   MRT BGP4MP dumps), each body decoded as 2- and 4-octet AS, iBGP and eBGP.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import struct
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks.bgpbytes import split_messages
from benchmarks.mrt import _MESSAGE_SUBTYPES, BGP4MP, BGP4MP_ET, _open
from benchmarks.native.build import HERE, MODULE, load
from benchmarks.profile_ingest import SENDER_ASN, build_stream, speaker_ingest
from benchmarks.profile_ingest import decode as decode_stage
from nexthop.bgp.constants import MessageType
from nexthop.bgp.wire import Negotiated, Update
from nexthop.bgp.wire.errors import MessageError
from nexthop.bgp.wire.update import AttributeCache, decode_update
from nexthop.routeserver.config import AZURE_ASN
from nexthop.runtime.speaker import use_bulk_gc_thresholds

__all__ = ["compare", "load_built", "main", "mrt_bodies", "pcap_bodies", "vector_bodies"]

REPO = HERE.parents[1]
VECTORS = REPO.parent / "shared" / "vectors"
# Outcomes of ``compare``: the first three are fine.
EQUAL, FALLBACK, BOTH_REJECT = "equal", "fallback", "both reject"
MISMATCH, ACCEPTS_INVALID = "MISMATCH", "NATIVE ACCEPTS INVALID"
NegotiatedVariants = tuple[Negotiated, ...]
# 2- and 4-octet AS, iBGP and eBGP: what the native decoder takes as arguments.
VARIANTS: NegotiatedVariants = tuple(
    Negotiated(asn4=asn4, local_asn=AZURE_ASN, peer_asn=peer)
    for asn4 in (False, True)
    for peer in (AZURE_ASN, SENDER_ASN)
)


def load_built() -> ModuleType:
    """The extension built in place by ``python -m benchmarks.native.build``."""
    built = sorted(HERE.glob(f"{MODULE}*.so"))
    if not built:
        raise SystemExit("not built: run python -m benchmarks.native.build first")
    return load(built[0])


def compare(native: ModuleType, body: bytes, n: Negotiated) -> str:
    """One body through both decoders (no caches): one of the outcome strings."""
    try:
        expected: Update | None = decode_update(body, n)
    except MessageError:
        expected = None
    got = native.decode_update_body(body, n.asn4, n.external)
    if got is None:
        return FALLBACK if expected is not None else BOTH_REJECT
    if expected is None:
        return ACCEPTS_INVALID
    return EQUAL if got == expected else MISMATCH


# --- real UPDATEs from ../shared/vectors ------------------------------------------


def _vectors_util() -> Any:
    path = REPO / "tests" / "vectors_util.py"
    spec = importlib.util.spec_from_file_location("vectors_util", path)
    if spec is None or spec.loader is None:
        msg = "tests/vectors_util.py not found"
        raise ImportError(msg)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("vectors_util", module)
    spec.loader.exec_module(module)
    return module


def pcap_bodies() -> Iterator[bytes]:
    """UPDATE bodies of every BGP stream in the tcpdump test captures."""
    util = _vectors_util()
    for path in sorted((VECTORS / "tcpdump").iterdir()):
        if path.suffix not in (".pcap", ".pcapng"):
            continue
        for stream in util.bgp_streams(path).values():
            for raw in util.bgp_messages(stream):
                if raw[18] == MessageType.UPDATE:
                    yield raw[19:]


def mrt_bodies(path: Path) -> Iterator[bytes]:
    """UPDATE bodies of the BGP4MP MESSAGE records of an MRT file (RFC 6396 §4.4)."""
    with _open(path) as f:
        while len(header := f.read(12)) == 12:
            _ts, mrt_type, subtype, length = struct.unpack("!IHHI", header)
            data = f.read(length)
            if mrt_type == BGP4MP_ET:
                data = data[4:]
            if mrt_type not in (BGP4MP, BGP4MP_ET) or subtype not in _MESSAGE_SUBTYPES:
                continue
            as_width = 4 if _MESSAGE_SUBTYPES[subtype][0] else 2
            i = 2 * as_width + 2  # peer AS, local AS, interface index
            width = 16 if int.from_bytes(data[i : i + 2], "big") == 2 else 4  # AFI
            message = data[i + 2 + 2 * width :]
            if len(message) >= 19 and message[18] == MessageType.UPDATE:
                yield message[19:]


def vector_bodies() -> dict[str, list[bytes]]:
    """Every real UPDATE body in the vectors, by source."""
    sources = {"tcpdump pcaps": list(pcap_bodies())}
    for path in sorted((VECTORS / "mrt").rglob("*")):
        if path.is_file() and path.suffix not in (".rst", ".md", ".txt") and "expect" not in str(
            path
        ):
            bodies = list(mrt_bodies(path))
            if bodies:
                sources[f"mrt {path.name}"] = bodies
    return sources


# --- timing --------------------------------------------------------------------------


def _cpu(fn: Callable[[], Any], repeat: int) -> tuple[Any, float]:
    best, result = float("inf"), None
    for _ in range(repeat):
        result = None
        gc.collect()
        start = time.process_time()
        result = fn()
        best = min(best, time.process_time() - start)
    return result, best


def _bodies(stream: bytes) -> list[bytes]:
    return [body for kind, body in split_messages(bytearray(stream)) if kind == MessageType.UPDATE]


def measure_shape(native: ModuleType, shape: str, n: int, repeat: int) -> dict[str, Any]:
    stream, _count = build_stream(shape, n)
    bodies = _bodies(stream)
    negotiated = Negotiated(asn4=True, local_asn=AZURE_ASN, peer_asn=SENDER_ASN, peer_bgp_id=1)
    asn4, external = negotiated.asn4, negotiated.external
    outcomes: dict[str, int] = {}
    for body in bodies:
        outcome = compare(native, body, negotiated)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    fast = native.decode_update_body

    def python() -> list[Update]:
        cache = AttributeCache()
        return [decode_update(b, negotiated, cache) for b in bodies]

    def native_run() -> list[Update]:
        cache: dict[bytes, Any] = {}
        fallback = AttributeCache()
        return [
            fast(b, asn4, external, cache) or decode_update(b, negotiated, fallback) for b in bodies
        ]

    py_updates, py_s = _cpu(python, repeat)
    native.set_construction(True)
    _, call_s = _cpu(native_run, repeat)
    native.set_construction(False)
    native.set_untrack_atomic(False)
    _, tracked_s = _cpu(native_run, repeat)
    native.set_untrack_atomic(True)
    c_updates, c_s = _cpu(native_run, repeat)
    assert c_updates == py_updates
    _, stage_s = _cpu(lambda: decode_stage(stream), repeat)
    routes = [u for u in py_updates if u.nlri or u.withdrawn]
    del py_updates
    _, speaker_py_s = _cpu(lambda: speaker_ingest(routes), repeat)
    routes = [u for u in c_updates if u.nlri or u.withdrawn]
    del c_updates
    _, speaker_c_s = _cpu(lambda: speaker_ingest(routes), repeat)
    return {
        "shape": shape,
        "n": n,
        "updates": len(bodies),
        "outcomes": outcomes,
        "python_s": py_s,
        "native_call_s": call_s,
        "native_tracked_s": tracked_s,
        "native_s": c_s,
        "decode_stage_s": stage_s,
        "speaker_py_s": speaker_py_s,
        "speaker_native_s": speaker_c_s,
    }


def _print_shape(r: dict[str, Any]) -> None:
    count = r["updates"]
    us = 1e6 / count
    ingest_py = r["decode_stage_s"] + r["speaker_py_s"]
    ingest_c = r["decode_stage_s"] - r["python_s"] + r["native_s"] + r["speaker_native_s"]
    print(f"\n{r['n']:,} prefixes, shape {r['shape']}: {count:,} UPDATEs; outcomes {r['outcomes']}")
    print(f"{'':<38}{'CPU s':>9}{'us/UPDATE':>11}{'ns/prefix':>11}")
    rows = (
        ("decode_update (Python, interning)", r["python_s"]),
        ("native, records by class call", r["native_call_s"]),
        ("native, slot writes, all GC-tracked", r["native_tracked_s"]),
        ("native, slot writes (default)", r["native_s"]),
        ("decode stage (MessageReader, Python)", r["decode_stage_s"]),
        ("speaker stage on Python's UPDATEs", r["speaker_py_s"]),
        ("speaker stage on native UPDATEs", r["speaker_native_s"]),
        ("ingest = decode + speaker, Python", ingest_py),
        ("ingest projected with native", ingest_c),
    )
    for label, seconds in rows:
        print(f"{label:<38}{seconds:>9.3f}{seconds * us:>11.2f}{seconds * 1e9 / r['n']:>11.0f}")
    print(
        f"decoder speedup x{r['python_s'] / r['native_s']:.1f} (class call "
        f"x{r['python_s'] / r['native_call_s']:.1f}, GC-tracked "
        f"x{r['python_s'] / r['native_tracked_s']:.1f}); ingest x{ingest_py / ingest_c:.2f}"
    )


def check_vectors(native: ModuleType) -> bool:
    ok = True
    print("\nreal UPDATEs (each as 2-/4-octet AS x iBGP/eBGP):")
    for source, bodies in vector_bodies().items():
        outcomes: dict[str, int] = {}
        for body in bodies:
            for n in VARIANTS:
                outcome = compare(native, body, n)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        ok = ok and not (outcomes.keys() & {MISMATCH, ACCEPTS_INVALID})
        print(f"  {source}: {len(bodies):,} UPDATEs; {outcomes}")
    return ok


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.native.measure")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--shape", choices=("eight", "single", "table"), action="append")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--no-vectors", action="store_true")
    args = parser.parse_args(argv)
    use_bulk_gc_thresholds()  # as profile_ingest and Speaker.start()
    native = load_built()
    ok = True
    for shape in args.shape or ["eight"]:
        record = measure_shape(native, shape, args.n, args.repeat)
        ok = ok and record["outcomes"].keys() <= {EQUAL, FALLBACK, BOTH_REJECT}
        _print_shape(record)
    if not args.no_vectors:
        ok = check_vectors(native) and ok
    if not ok:
        raise SystemExit("native and Python decoders disagree")


if __name__ == "__main__":
    main()

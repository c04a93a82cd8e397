"""Pre-encoded UPDATE blaster (bgpdump2 ``--blaster`` style).

All UPDATEs are encoded before the session comes up; once Established they are
written with one ``sendall`` followed by End-of-RIB (RFC 4724 §2), and the write
time is reported so a run can show it measured the target, not the injector
(bgperf2's ``testers (s)`` column).

Run by hand::

    python -m benchmarks.blaster --shape table --n 100000 \\
        --local 127.0.0.11 --asn 65011 --listen 17911
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.bgpbytes import (
    END_OF_RIB_IPV4,
    encode_attributes,
    pack_announcements,
    pack_withdrawals,
)
from benchmarks.mrt import replay_routes
from benchmarks.peer import Peer
from benchmarks.routes import SHAPES, RouteGroup, blaster_next_hop, synthetic_routes
from nexthop.bgp.wire.messages import PathAttributes
from nexthop.net.prefix import Prefix

__all__ = [
    "Blaster",
    "Stream",
    "encode_groups",
    "mrt_stream",
    "synthetic_stream",
    "withdraw_stream",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Stream:
    """Concatenated UPDATE messages and what they carry."""

    data: bytes
    prefixes: tuple[Prefix, ...]
    attribute_sets: int
    messages: int


def encode_groups(groups: Sequence[RouteGroup]) -> Stream:
    blobs: dict[PathAttributes, bytes] = {}
    pairs = []
    prefixes: list[Prefix] = []
    for group in groups:
        blob = blobs.get(group.attributes)
        if blob is None:
            blob = blobs[group.attributes] = encode_attributes(group.attributes)
        pairs.append((blob, group.prefixes))
        prefixes.extend(group.prefixes)
    messages = pack_announcements(pairs)
    return Stream(
        data=b"".join(messages),
        prefixes=tuple(prefixes),
        attribute_sets=len(blobs),
        messages=len(messages),
    )


def synthetic_stream(
    shape: str, n: int, *, peer_asn: int, peer_index: int = 0, offset: int = 0
) -> Stream:
    groups = synthetic_routes(
        shape, n, peer_asn=peer_asn, next_hop=blaster_next_hop(peer_index), offset=offset
    )
    return encode_groups(groups)


def mrt_stream(
    path: str, *, peer_asn: int, peer_index: int = 0, limit: int | None = None
) -> Stream:
    groups = replay_routes(
        path, peer_asn=peer_asn, next_hop=blaster_next_hop(peer_index), limit=limit
    )
    return encode_groups(groups)


def withdraw_stream(prefixes: Sequence[Prefix]) -> Stream:
    messages = pack_withdrawals(prefixes)
    return Stream(
        data=b"".join(messages),
        prefixes=tuple(prefixes),
        attribute_sets=0,
        messages=len(messages),
    )


class Blaster:
    """One injecting peer: a ``Peer`` plus timed writes of pre-encoded streams."""

    def __init__(self, *, local_address: str, local_asn: int) -> None:
        self.peer = Peer(local_address=local_address, local_asn=local_asn)

    def blast(self, stream: Stream, *, end_of_rib: bool = True) -> float:
        """Write ``stream`` (and End-of-RIB) in one ``sendall``; return seconds taken."""
        data = stream.data + END_OF_RIB_IPV4 if end_of_rib else stream.data
        start = time.perf_counter()
        self.peer.send(data)
        return time.perf_counter() - start

    def close(self) -> None:
        self.peer.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.blaster")
    parser.add_argument("--shape", choices=SHAPES, default="single")
    parser.add_argument("--mrt", help="replay this MRT file instead of a synthetic shape")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--local", default="127.0.0.11")
    parser.add_argument("--asn", type=int, default=65011)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--listen", type=int, help="accept the target's connection on this port")
    target.add_argument("--connect", help="connect to the target at ADDRESS:PORT")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.mrt:
        stream = mrt_stream(args.mrt, peer_asn=args.asn, limit=args.n)
    else:
        stream = synthetic_stream(args.shape, args.n, peer_asn=args.asn)
    print(
        f"encoded {len(stream.prefixes)} prefixes, {stream.attribute_sets} attribute sets, "
        f"{stream.messages} UPDATEs in {time.perf_counter() - start:.2f}s"
    )
    blaster = Blaster(local_address=args.local, local_asn=args.asn)
    if args.listen:
        blaster.peer.listen(args.listen)
        blaster.peer.accept(timeout=120)
    else:
        address, port = args.connect.rsplit(":", 1)
        blaster.peer.connect(address, int(port), timeout=120)
    print(f"sent in {blaster.blast(stream):.3f}s; Ctrl-C to close the session")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        blaster.close()


if __name__ == "__main__":
    main()

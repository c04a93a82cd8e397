"""Benchmark: next hop lookups in a VNet carrying 100,000 BGP routes.

Run: ``.venv/bin/python -m benchmarks.vnet_lookup [--routes N] [--lookups M]``.
Prints a table and writes ``benchmarks/results/vnet_lookup.json``.

The BGP table mimics the prefix-length mix of an Internet table (about 60% /24,
then /22, /23, /20, /21 ..., a few host routes); 20% of the prefixes have two
ECMP next hops. Destinations are drawn half from inside the announced prefixes
and half uniformly from the IPv4 space, so both deep and shallow matches count.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

from nexthop.net.prefix import Afi, Prefix, format_address, parse_address, parse_prefix
from nexthop.net.trie import PrefixTrie
from nexthop.vnet import (
    BgpRoute,
    Fabric,
    NextHopType,
    Nic,
    Region,
    Route,
    RouteTable,
    Subnet,
    VirtualNetwork,
    next_hop,
)

RESULTS = Path(__file__).parent / "results" / "vnet_lookup.json"

# (prefix length, weight in percent), roughly an IPv4 Internet table.
LENGTH_MIX: tuple[tuple[int, float], ...] = (
    (8, 0.02),
    (9, 0.01),
    (10, 0.03),
    (11, 0.1),
    (12, 0.3),
    (13, 0.5),
    (14, 0.9),
    (15, 1.0),
    (16, 1.4),
    (17, 1.3),
    (18, 2.2),
    (19, 3.4),
    (20, 5.0),
    (21, 5.4),
    (22, 10.5),
    (23, 9.0),
    (24, 57.5),
    (25, 0.3),
    (26, 0.3),
    (27, 0.2),
    (28, 0.2),
    (29, 0.2),
    (30, 0.1),
    (32, 0.1),
)
HUB_SPACE = parse_prefix("10.0.0.0/16")
NVA1 = parse_address("10.0.2.4")[1]
NVA2 = parse_address("10.0.2.5")[1]


def make_routes(count: int, rng: random.Random) -> list[BgpRoute]:
    lengths = [length for length, _ in LENGTH_MIX]
    weights = [weight for _, weight in LENGTH_MIX]
    seen: set[Prefix] = set()
    routes: list[BgpRoute] = []
    while len(routes) < count:
        length = rng.choices(lengths, weights)[0]
        address = rng.randrange(1 << 24, 224 << 24)  # 1.0.0.0 .. 223.255.255.255
        shift = 32 - length
        prefix = Prefix(Afi.IPV4, (address >> shift) << shift, length)
        if prefix in seen or HUB_SPACE.overlaps(prefix):
            continue
        seen.add(prefix)
        hops = (NVA1, NVA2) if rng.random() < 0.2 else (NVA1,)
        routes.append(BgpRoute(prefix=prefix, next_hops=hops))
    return routes


def make_fabric() -> Fabric:
    fabric = Fabric()
    fabric.add_region(Region(name="westeurope"))
    fabric.add_vnet(
        VirtualNetwork(
            name="hub", region="westeurope", address_spaces=(HUB_SPACE, parse_prefix("fd00::/48"))
        )
    )
    fabric.add_subnet(
        Subnet(vnet="hub", name="RouteServerSubnet", prefix=parse_prefix("10.0.1.0/26"))
    )
    fabric.add_subnet(Subnet(vnet="hub", name="nva", prefix=parse_prefix("10.0.2.0/24")))
    fabric.add_route_table(
        RouteTable(
            name="vms-rt",
            region="westeurope",
            routes=(
                Route(
                    name="inspect-web",
                    address_prefix=parse_prefix("192.0.2.0/24"),
                    next_hop_type=NextHopType.VIRTUAL_APPLIANCE,
                    next_hop_ip=NVA2,
                ),
                Route(
                    name="blackhole",
                    address_prefix=parse_prefix("198.18.0.0/15"),
                    next_hop_type=NextHopType.NONE,
                ),
            ),
        )
    )
    fabric.add_subnet(
        Subnet(vnet="hub", name="vms", prefix=parse_prefix("10.0.8.0/24"), route_table="vms-rt")
    )
    fabric.add_nic(
        Nic(name="vm1", vnet="hub", subnet="vms", private_ip=parse_address("10.0.8.4")[1])
    )
    return fabric


def make_destinations(routes: list[BgpRoute], count: int, rng: random.Random) -> list[int]:
    destinations: list[int] = []
    for i in range(count):
        if i % 2:
            destinations.append(rng.randrange(0, 1 << 32))
        else:
            prefix = routes[rng.randrange(len(routes))].prefix
            destinations.append(prefix.value | rng.randrange(1 << (32 - prefix.length)))
    return destinations


def timed(label: str, count: int, run: Callable[[], object]) -> dict[str, object]:
    start = time.perf_counter()
    run()
    elapsed = time.perf_counter() - start
    return {
        "case": label,
        "lookups": count,
        "seconds": round(elapsed, 4),
        "lookups_per_second": round(count / elapsed),
        "us_per_lookup": round(elapsed / count * 1e6, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=4271)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    routes = make_routes(args.routes, rng)
    fabric = make_fabric()

    start = time.perf_counter()
    fabric.set_bgp_routes("hub", routes)
    effective = fabric.effective_routes("vm1")
    index = fabric.lookup_index("vm1")
    compile_seconds = time.perf_counter() - start

    destinations = make_destinations(routes, args.lookups, rng)
    texts = [format_address(Afi.IPV4, d) for d in destinations[: args.lookups // 4]]
    trie: PrefixTrie[BgpRoute] = PrefixTrie()
    for route in routes:
        trie.insert(route.prefix, route)

    lookup = index.lookup
    longest = trie.longest_match
    v4 = Afi.IPV4
    results = [
        timed("PrefixTrie.longest_match(afi, int)", len(destinations),
              lambda: [longest(v4, d) for d in destinations]),
        timed("LookupIndex.lookup(afi, int)", len(destinations),
              lambda: [lookup(v4, d) for d in destinations]),
        timed("next_hop(index, (afi, int))", len(destinations),
              lambda: [next_hop(index, (v4, d)) for d in destinations]),
        timed("next_hop(index, 'a.b.c.d')", len(texts),
              lambda: [next_hop(index, t) for t in texts]),
        timed("Fabric.lookup(nic, 'a.b.c.d') cached", len(texts),
              lambda: [fabric.lookup("vm1", t) for t in texts]),
    ]  # fmt: skip

    lengths_present = len({route.prefix.length for route in routes})
    report = {
        "bgp_routes": len(routes),
        "effective_routes": len(effective),
        "active_prefixes": len(index),
        "distinct_prefix_lengths": lengths_present,
        "compile_seconds": round(compile_seconds, 3),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "results": results,
    }

    print(
        f"{len(routes):,} BGP routes, {len(effective):,} effective routes, "
        f"{lengths_present} prefix lengths; effective routes + index built in "
        f"{compile_seconds:.3f} s"
    )
    print(f"{'case':<40} {'lookups':>9} {'lookups/s':>12} {'us/lookup':>10}")
    for row in results:
        print(
            f"{row['case']!s:<40} {row['lookups']:>9,} {row['lookups_per_second']:>12,} "
            f"{row['us_per_lookup']:>10}"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

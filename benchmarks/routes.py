"""Synthetic route sets for the blaster, in the shapes the benchmark plan names.

* ``single``: N unique /32s (100.0.0.0 + i), one attribute set for all (bgperf's
  ``gen_paths``; the best case for attribute caching).
* ``eight``: the same /32s, a distinct attribute set every 8 prefixes.
* ``table``: a full-table-like mix: prefix lengths /8-/24 weighted like the public
  IPv4 table, origin ASes each reached over 10-12 distinct AS paths, and a few
  communities per path. Prefixes are unique but may nest, as in the real table.

Every route set is a list of ``RouteGroup``: one ``PathAttributes`` and its prefixes.
Generation is deterministic for a given (shape, n, offset, seed).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from nexthop.bgp.constants import AsPathSegmentType, Origin
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes
from nexthop.net.prefix import Afi, Prefix

__all__ = [
    "LENGTH_WEIGHTS",
    "SHAPES",
    "RouteGroup",
    "blaster_next_hop",
    "synthetic_routes",
]

SHAPES = ("single", "eight", "table")
BASE_32 = 100 << 24  # 100.0.0.0
TEST_NET_1 = (192 << 24) | (2 << 8)  # 192.0.2.0/24, RFC 5737: never loopback (GoBGP drops it)

# Share of each prefix length in the public IPv4 table (rounded, CIDR-report-like).
LENGTH_WEIGHTS: dict[int, float] = {
    8: 0.0001,
    9: 0.0001,
    10: 0.0003,
    11: 0.0006,
    12: 0.0012,
    13: 0.0025,
    14: 0.004,
    15: 0.006,
    16: 0.013,
    17: 0.009,
    18: 0.015,
    19: 0.027,
    20: 0.045,
    21: 0.05,
    22: 0.115,
    23: 0.105,
    24: 0.6058,
}
_BAD_FIRST_OCTETS = frozenset({0, 10, 127}) | frozenset(range(224, 256))


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteGroup:
    """Prefixes announced together with one attribute set."""

    attributes: PathAttributes
    prefixes: tuple[Prefix, ...]


def blaster_next_hop(index: int) -> int:
    """192.0.2.(10 + index): a documentation address per injecting peer."""
    return TEST_NET_1 | (10 + index % 240)


def _path(*asns: int) -> tuple[AsPathSegment, ...]:
    return (AsPathSegment(AsPathSegmentType.AS_SEQUENCE, asns),)


def synthetic_routes(
    shape: str, n: int, *, peer_asn: int, next_hop: int, offset: int = 0, seed: int = 1
) -> list[RouteGroup]:
    """Build ``n`` unique IPv4 routes of ``shape`` as attribute groups.

    ``offset`` shifts the /32 range so several peers can announce disjoint sets.
    """
    if shape == "single":
        attrs = PathAttributes(origin=Origin.IGP, as_path=_path(peer_asn), next_hop=next_hop)
        return [RouteGroup(attributes=attrs, prefixes=_host_prefixes(n, offset))]
    if shape == "eight":
        prefixes = _host_prefixes(n, offset)
        return [
            RouteGroup(
                attributes=PathAttributes(
                    as_path=_path(peer_asn, 4_200_000_000 + (offset + start) // 8),
                    next_hop=next_hop,
                ),
                prefixes=prefixes[start : start + 8],
            )
            for start in range(0, n, 8)
        ]
    if shape == "table":
        return _table_routes(n, peer_asn=peer_asn, next_hop=next_hop, seed=seed + offset)
    msg = f"unknown shape {shape!r}; expected one of {SHAPES}"
    raise ValueError(msg)


def _host_prefixes(n: int, offset: int) -> tuple[Prefix, ...]:
    base = BASE_32 + offset
    if base + n > (224 << 24):
        msg = "prefix range runs past 223.255.255.255"
        raise ValueError(msg)
    return tuple(Prefix(Afi.IPV4, base + i, 32) for i in range(n))


def _table_prefixes(n: int, rng: random.Random) -> list[Prefix]:
    """``n`` unique prefixes with lengths drawn from ``LENGTH_WEIGHTS``.

    Each length walks its own 2**length space with an odd multiplier (a bijection),
    skipping 0/8, 10/8, 127/8 and class D/E, so prefixes never repeat.
    """
    lengths = list(LENGTH_WEIGHTS)
    counts = {length: round(n * w) for length, w in LENGTH_WEIGHTS.items()}
    counts[24] += n - sum(counts.values())
    out: list[Prefix] = []
    for length in lengths:
        space = 1 << length
        multiplier = (rng.randrange(space // 2) * 2 + 1) if space > 2 else 1
        k = 0
        made = 0
        while made < counts[length]:
            if k >= space:
                msg = f"cannot place {counts[length]} unique /{length} prefixes"
                raise ValueError(msg)
            value = ((k * multiplier) % space) << (32 - length)
            k += 1
            if value >> 24 in _BAD_FIRST_OCTETS:
                continue
            out.append(Prefix(Afi.IPV4, value, length))
            made += 1
    rng.shuffle(out)
    return out


def _table_routes(n: int, *, peer_asn: int, next_hop: int, seed: int) -> list[RouteGroup]:
    rng = random.Random(seed)
    prefixes = _table_prefixes(n, rng)
    origins = max(1, n // 13)  # about 13 prefixes per origin AS, as in the real table
    transit = [rng.randrange(1000, 65000) for _ in range(400)]
    paths_per_origin: dict[int, list[PathAttributes]] = {}
    groups: dict[PathAttributes, list[Prefix]] = {}
    for prefix in prefixes:
        # Zipf-like origin popularity: a few large origins, a long tail of small ones.
        origin_index = min(origins - 1, int(origins * rng.random() ** 3))
        options = paths_per_origin.get(origin_index)
        if options is None:
            origin_asn = 131072 + origin_index
            options = []
            for _ in range(rng.randint(10, 12)):
                middle = tuple(rng.sample(transit, rng.randint(1, 5)))
                communities = tuple(
                    sorted((m << 16) | rng.randrange(1, 1000) for m in middle[: rng.randint(0, 3)])
                )
                options.append(
                    PathAttributes(
                        origin=Origin.IGP if rng.random() < 0.9 else Origin.INCOMPLETE,
                        as_path=_path(peer_asn, *middle, origin_asn),
                        next_hop=next_hop,
                        med=rng.choice((None, 0, 10, 100)),
                        communities=communities,
                    )
                )
            paths_per_origin[origin_index] = options
        groups.setdefault(rng.choice(options), []).append(prefix)
    return [RouteGroup(attributes=a, prefixes=tuple(p)) for a, p in groups.items()]

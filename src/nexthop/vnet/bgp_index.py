"""One VNet's BGP routes, indexed per prefix over the route server that programs them.

The route server is the one source of truth (route-server-spec §1.6: it programs
each prefix's ECMP next hops into the VNet); a ``BgpSource`` is anything that
answers ``vnet_route(prefix)`` (one prefix, ``()`` when not programmed) and
``vnet_routes()`` (all of them), as ``RouteServer`` does. ``BgpIndex`` is a view
over it: the injected prefixes in a ``PrefixTrie`` (longest match for lookups)
and a ``SortedPrefixes`` (rank and range for pages).

Lazy, per prefix: ``mark(prefixes)`` only records which prefixes changed (the
``RoutesChanged.prefixes`` of one UPDATE), so ingesting routes costs a dict
insert per prefix here; ``settle()`` re-reads exactly those prefixes from the
source before any query, and ``settle(limit)`` lets a runtime drain a backlog in
bounded slices between event-loop turns. A fresh source (``attach``) is read in
full once, at the first settle.

Injection filter (spec §1.4 "Prefix acceptance", §1.11 ``program``): a route
equal to or more specific than one of the ``ranges`` (the VNet's address spaces
and those of the spokes that use its gateway) is not injected. Such routes are
held back, not dropped, so a peering change that shrinks the ranges brings them
back without re-reading the source; a change of ranges moves only the routes
inside the ranges that changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from nexthop.net.prefix import Prefix
from nexthop.net.trie import PrefixTrie
from nexthop.vnet.sorted_prefixes import SortedPrefixes, end_of

__all__ = ["BgpIndex", "BgpSource", "StaticBgpSource"]

Hops = tuple[int, ...]


class BgpSource(Protocol):
    """What programs a VNet's BGP routes: ``RouteServer`` or ``StaticBgpSource``."""

    def vnet_route(self, prefix: Prefix) -> Hops: ...

    def vnet_routes(self) -> Iterable[tuple[Prefix, Hops]]: ...


class StaticBgpSource:
    """A fixed set of routes (``Fabric.set_bgp_routes``, tests, benchmarks)."""

    __slots__ = ("_routes",)

    def __init__(self, routes: dict[Prefix, Hops]) -> None:
        self._routes = routes

    def vnet_route(self, prefix: Prefix) -> Hops:
        return self._routes.get(prefix, ())

    def vnet_routes(self) -> list[tuple[Prefix, Hops]]:
        return list(self._routes.items())


def _guard_of(ranges: Iterable[Prefix]) -> PrefixTrie[None]:
    guard: PrefixTrie[None] = PrefixTrie()
    for prefix in ranges:
        guard.insert(prefix, None)
    return guard


class BgpIndex:
    """The injected BGP routes of one source, updated per changed prefix."""

    __slots__ = (
        "_dirty",
        "_full",
        "_guard",
        "_new_ranges",
        "held_back",
        "order",
        "ranges",
        "routes",
        "source",
    )

    def __init__(self, source: BgpSource, ranges: Iterable[Prefix] = ()) -> None:
        self.source = source
        self.routes: PrefixTrie[Hops] = PrefixTrie()
        self.order = SortedPrefixes()
        self.held_back: dict[Prefix, Hops] = {}
        self.ranges = tuple(ranges)
        self._guard = _guard_of(self.ranges)
        self._new_ranges: tuple[Prefix, ...] | None = None
        self._dirty: dict[Prefix, None] = {}
        self._full = True

    # -- changes (cheap: recorded, applied by settle) ------------------------------

    def mark(self, prefixes: Iterable[Prefix]) -> None:
        """The source's programming of ``prefixes`` changed."""
        if not self._full:
            self._dirty.update(dict.fromkeys(prefixes))

    def set_ranges(self, ranges: Iterable[Prefix]) -> None:
        """The injection filter's ranges (applied at the next settle)."""
        ranges = tuple(ranges)
        self._new_ranges = None if ranges == self.ranges else ranges

    @property
    def pending(self) -> int:
        """Prefixes recorded but not yet applied (-1: a full read is due)."""
        return -1 if self._full else len(self._dirty)

    def settle(self, limit: int | None = None) -> int:
        """Apply what changed (at most ``limit`` dirty prefixes); the number left."""
        if self._full:
            self._read_all()
        if self._new_ranges is not None:
            self._change_ranges(self._new_ranges)
        dirty = self._dirty
        if not dirty:
            return 0
        if limit is None or limit >= len(dirty):
            batch: Iterable[Prefix] = dirty
            self._dirty = {}
        else:
            batch = [dirty.popitem()[0] for _ in range(limit)]
        route = self.source.vnet_route
        apply = self._apply
        for prefix in batch:
            apply(prefix, route(prefix))
        return len(self._dirty)

    def _read_all(self) -> None:
        self._full = False
        self._dirty = {}
        self.routes = PrefixTrie()
        self.order = SortedPrefixes()
        self.held_back = {}
        for prefix, hops in self.source.vnet_routes():
            self._apply(prefix, hops)

    def _apply(self, prefix: Prefix, hops: Hops) -> None:
        held = self.held_back
        if held:
            held.pop(prefix, None)
        if hops and self._guard and self._guard.covering(prefix):
            held[prefix] = hops
            hops = ()
        if hops:
            if self.routes.get(prefix) is None:
                self.order.add(prefix)
            self.routes.insert(prefix, hops)
        elif self.routes.pop(prefix) is not None:
            self.order.remove(prefix)

    def _change_ranges(self, ranges: tuple[Prefix, ...]) -> None:
        """Move the routes inside added ranges to ``held_back`` and give back the
        held routes no range covers any more; untouched routes are not visited."""
        self._new_ranges = None
        added = [r for r in ranges if r not in self.ranges]
        self.ranges, self._guard = ranges, _guard_of(ranges)
        for space in added:
            for prefix in list(self.inside(space)):
                hops = self.routes.pop(prefix)
                assert hops is not None
                self.order.remove(prefix)
                self.held_back[prefix] = hops
        for prefix, hops in list(self.held_back.items()):
            if not self._guard.covering(prefix):
                del self.held_back[prefix]
                self._apply(prefix, hops)

    # -- queries (call settle first) ---------------------------------------------------

    def __len__(self) -> int:
        return len(self.routes)

    def inside(self, space: Prefix) -> Iterator[Prefix]:
        """Injected prefixes equal to or more specific than ``space``, in order."""
        start, count = self.order.within(space)
        end = end_of(space)
        for prefix in self.order.iter_from(start):
            if count <= 0 or not prefix < end:
                return
            count -= 1
            yield prefix

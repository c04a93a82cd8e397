"""One VNet's BGP routes, indexed per prefix over the route server that programs them.

The route server is the one source of truth (route-server-spec §1.6: it programs
each prefix's ECMP next hops into the VNet); a ``BgpSource`` is anything that
answers ``vnet_route(prefix)`` (one prefix, ``()`` when not programmed) and
``vnet_routes()`` (all of them), as ``RouteServer`` does. ``BgpIndex`` is a view
over it that keeps no next hops: which prefixes are injected (``InjectedPrefixes``,
longest match for lookups) and a ``SortedPrefixes`` (rank and range for pages);
the hops of an injected prefix are read from the source when a row or a lookup
needs them.

Lazy, per prefix: ``mark(prefixes)`` only records the ``RoutesChanged.prefixes``
of one UPDATE (the tuple itself, one reference per UPDATE, not an entry per
prefix), so ingesting routes costs one append here; ``settle()`` re-reads exactly
those prefixes from the source before any query, and ``settle(limit)`` lets a
runtime drain a backlog in bounded slices between event-loop turns. A prefix
marked twice is re-read twice (re-reading is idempotent, and the work stays
proportional to the changes). A fresh source (``attach``) is read in full once,
at the first settle, and applied in slices like any backlog.

Injection filter (spec §1.4 "Prefix acceptance", §1.11 ``program``): a route
equal to or more specific than one of the ``ranges`` (the VNet's address spaces
and those of the spokes that use its gateway) is not injected. Such routes are
held back, not dropped, so a peering change that shrinks the ranges brings them
back without re-reading the whole source; a change of ranges moves only the
routes inside the ranges that changed.

Memory: the sets hold the ``Prefix`` objects (and their ``value`` ints) the route
server already holds, so an injected route costs a set slot and a sorted-list slot
(about 50 bytes at 1M routes) instead of a trie entry with its own key, pair and
hops (about 130).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from nexthop.net.prefix import MAX_LENGTH, Afi, Prefix
from nexthop.vnet.sorted_prefixes import SortedPrefixes, end_of

__all__ = ["BgpIndex", "BgpSource", "InjectedPrefixes", "StaticBgpSource"]

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


class _Ranges:
    """The injection filter's ranges: ``covers(prefix)`` is one mask and one set
    probe per range length present (usually one or two), no validation, no list."""

    __slots__ = ("_probes",)

    def __init__(self, ranges: Iterable[Prefix]) -> None:
        by_length: dict[tuple[int, int], set[int]] = {}
        for r in ranges:
            by_length.setdefault((r.afi, r.length), set()).add(r.value)
        self._probes: dict[int, list[tuple[int, int, set[int]]]] = {}
        for (afi, length), values in sorted(by_length.items()):
            width = 32 if afi == Afi.IPV4 else 128
            mask = ((1 << length) - 1) << (width - length)
            self._probes.setdefault(afi, []).append((length, mask, values))

    def __bool__(self) -> bool:
        return bool(self._probes)

    def covers(self, prefix: Prefix) -> bool:
        """True when a range is equal to or less specific than ``prefix``."""
        for length, mask, values in self._probes.get(prefix.afi, ()):
            if length > prefix.length:
                return False
            if prefix.value & mask in values:
                return True
        return False


class InjectedPrefixes:
    """The set of injected prefixes with longest-prefix match; next hops come from
    the source (``get``/``longest_match`` answer as ``PrefixTrie`` does).

    Per address family and prefix length, a ``set`` of network addresses (the
    ``value`` ints of the route server's own ``Prefix`` objects, so nothing is
    allocated per route but the set slot); ``longest_match`` masks the address
    once per length present, longest first (the handful of lengths a table uses).
    """

    __slots__ = ("_probes", "_size", "_source", "_tables")

    def __init__(self, source: BgpSource) -> None:
        self._source = source
        self._tables: dict[int, dict[int, set[int]]] = {afi: {} for afi in MAX_LENGTH}
        # per family: (length, mask, addresses), longest first
        self._probes: dict[int, tuple[tuple[int, int, set[int]], ...]] = dict.fromkeys(
            MAX_LENGTH, ()
        )
        self._size = 0

    def _rebuild(self, afi: int) -> None:
        width = 32 if afi == Afi.IPV4 else 128
        self._probes[afi] = tuple(
            (length, ((1 << length) - 1) << (width - length), table)
            for length, table in sorted(self._tables[afi].items(), reverse=True)
        )

    def __len__(self) -> int:
        return self._size

    def __contains__(self, prefix: object) -> bool:
        if not isinstance(prefix, Prefix):
            return False
        table = self._tables.get(prefix.afi, {}).get(prefix.length)
        return table is not None and prefix.value in table

    def add(self, prefix: Prefix) -> bool:
        """Mark ``prefix`` injected; False if it already was."""
        tables = self._tables[prefix.afi]
        table = tables.get(prefix.length)
        if table is None:
            table = tables[prefix.length] = set()
            self._rebuild(prefix.afi)
        elif prefix.value in table:
            return False
        table.add(prefix.value)
        self._size += 1
        return True

    def discard(self, prefix: Prefix) -> bool:
        """Mark ``prefix`` not injected; False if it was not."""
        tables = self._tables.get(prefix.afi, {})
        table = tables.get(prefix.length)
        if table is None or prefix.value not in table:
            return False
        table.remove(prefix.value)
        self._size -= 1
        if not table:
            del tables[prefix.length]
            self._rebuild(prefix.afi)
        return True

    def get(self, prefix: Prefix) -> Hops | None:
        """The source's hops for an injected ``prefix``; None if it is not injected."""
        return self._source.vnet_route(prefix) if prefix in self else None

    def longest_prefix(self, afi: int, address: int) -> Prefix | None:
        """The most specific injected prefix containing ``address`` (no hops read)."""
        for length, mask, table in self._probes.get(afi, ()):
            network = address & mask
            if network in table:
                return Prefix(afi, network, length)
        return None

    def longest_match(self, afi: int, address: int) -> tuple[Prefix, Hops] | None:
        """The most specific injected prefix containing ``address``, with its hops."""
        prefix = self.longest_prefix(afi, address)
        return None if prefix is None else (prefix, self._source.vnet_route(prefix))


class BgpIndex:
    """The injected BGP routes of one source, updated per changed prefix."""

    __slots__ = (
        "_backlog",
        "_fresh",
        "_full",
        "_guard",
        "_new_ranges",
        "_offset",
        "_pending",
        "held_back",
        "order",
        "ranges",
        "routes",
        "source",
    )

    def __init__(self, source: BgpSource, ranges: Iterable[Prefix] = ()) -> None:
        self.source = source
        self.routes = InjectedPrefixes(source)
        self.order = SortedPrefixes()
        self.held_back: set[Prefix] = set()
        self.ranges = tuple(ranges)
        self._guard = _Ranges(self.ranges)
        self._new_ranges: tuple[Prefix, ...] | None = None
        self._fresh: list[tuple[Prefix, Hops]] = []  # the full read, not applied yet
        self._backlog: deque[Sequence[Prefix]] = deque()
        self._offset = 0  # prefixes of _backlog[0] already applied
        self._pending = 0
        self._full = True

    # -- changes (cheap: recorded, applied by settle) ------------------------------

    def mark(self, prefixes: Iterable[Prefix]) -> None:
        """The source's programming of ``prefixes`` changed."""
        if self._full:
            return  # the full read at the first settle covers them
        batch = prefixes if isinstance(prefixes, tuple | list) else tuple(prefixes)
        if batch:
            self._backlog.append(batch)
            self._pending += len(batch)

    def set_ranges(self, ranges: Iterable[Prefix]) -> None:
        """The injection filter's ranges (applied at the next settle)."""
        ranges = tuple(ranges)
        self._new_ranges = None if ranges == self.ranges else ranges

    @property
    def pending(self) -> int:
        """Prefixes recorded but not yet applied (-1: a full read is due)."""
        return -1 if self._full else self._pending

    def settle(self, limit: int | None = None) -> int:
        """Apply what changed (at most ``limit`` recorded prefixes); the number left."""
        if self._full:
            self._read_all()
        if self._new_ranges is not None:
            self._change_ranges(self._new_ranges)
        left = self._pending if limit is None else min(limit, self._pending)
        fresh = self._fresh
        if fresh and left > 0:  # the full read first, its hops as read
            take = min(left, len(fresh))
            self._apply_all(reversed(fresh[-take:]))
            del fresh[-take:]
            left -= take
            self._pending -= take
        backlog, route = self._backlog, self.source.vnet_route
        while left > 0:
            batch, start = backlog[0], self._offset
            end = min(len(batch), start + left)
            part = batch if start == 0 and end == len(batch) else batch[start:end]
            self._apply_all(zip(part, map(route, part), strict=True))
            left -= end - start
            self._pending -= end - start
            if end == len(batch):
                backlog.popleft()
                self._offset = 0
            else:
                self._offset = end
        return self._pending

    def _read_all(self) -> None:
        """Start over from the source: its whole programming, read once, is applied
        in slices (from the end, so each slice is one ``del``) before any later mark."""
        self._full = False
        self.routes = InjectedPrefixes(self.source)
        self.order = SortedPrefixes()
        self.held_back = set()
        self._backlog.clear()
        self._offset = 0
        self._fresh = [(prefix, hops) for prefix, hops in self.source.vnet_routes() if hops]
        self._fresh.reverse()  # taken from the end (one ``del`` a slice), applied in order
        self._pending = len(self._fresh)

    def _apply(self, prefix: Prefix, hops: Hops) -> None:
        self._apply_all(((prefix, hops),))

    def _apply_all(self, changes: Iterable[tuple[Prefix, Hops]]) -> None:
        """Bring each (prefix, hops the source programs now) into the index: held
        back inside the ranges, else injected (hops) or removed (none)."""
        held = self.held_back
        covers = self._guard.covers if self._guard else None
        add, discard = self.routes.add, self.routes.discard
        order_add, order_remove = self.order.add, self.order.remove
        for prefix, hops in changes:
            if held:
                held.discard(prefix)
            if hops and covers is not None and covers(prefix):
                held.add(prefix)
                injected = False
            else:
                injected = bool(hops)
            if injected:
                if add(prefix):
                    order_add(prefix)
            elif discard(prefix):
                order_remove(prefix)

    def _change_ranges(self, ranges: tuple[Prefix, ...]) -> None:
        """Move the routes inside added ranges to ``held_back`` and give back the
        held routes no range covers any more; untouched routes are not visited."""
        self._new_ranges = None
        added = [r for r in ranges if r not in self.ranges]
        self.ranges, self._guard = ranges, _Ranges(ranges)
        for space in added:
            for prefix in list(self.inside(space)):
                self.routes.discard(prefix)
                self.order.remove(prefix)
                self.held_back.add(prefix)
        for prefix in list(self.held_back):
            if not self._guard.covers(prefix):
                self.held_back.discard(prefix)
                self._apply(prefix, self.source.vnet_route(prefix))

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

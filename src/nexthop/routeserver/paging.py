"""Learned/advertised routes by page and by prefix, at the cost of the page.

``az network routeserver peering list-learned-routes`` lists a peering's
accepted Adj-RIB-In and ``list-advertised-routes`` its Adj-RIB-Out
(route-server-spec §1.7, "List APIs"); both are dicts keyed by prefix, with no
order. A page (rows ``skip``.. ``skip + top`` in (prefix, path id) order, or
only the rows equal to or inside a prefix, like ``show ip bgp X
longer-prefixes``) is cut from a ``SortedKeys`` index of the table's keys:
O(log n + page) once the index exists.

Indexes are built on the first query of a (peering, table) and then kept
current lazily: the instance appends each batch of changed prefixes it
propagates (``changed``, one list append per UPDATE, nothing per prefix) to a
journal, and a query replays what its index has not seen, looking each
prefix up in the live tables (O(changes), not O(table)). An event that
replaces a whole table (session up or down, ROUTE-REFRESH, reconfiguration)
drops the affected indexes instead, and so does a journal grown larger than
the largest index (replaying it would cost more than a rebuild); nobody pays
for an index nobody asks for.

Keys: a ``Prefix`` for path id 0 (every path without ADD-PATH) and
``(afi, value, length, path_id)`` otherwise, so keys sort by (prefix, path id)
and the keys within a prefix P are one contiguous run: from P to
``(afi, P.value + 2**(max_length - P.length), 0)`` (a prefix inside P has an
address in that range and a length >= P's; a shorter one at P's address sorts
before P).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from nexthop.net.prefix import Prefix
from nexthop.routeserver.sorted_keys import Key, SortedKeys

__all__ = ["JOURNAL_FLOOR", "RouteIndexes", "TableKeys", "key_of", "prefix_range"]

JOURNAL_FLOOR = 4096
"""Changes the journal may hold before its size is compared with the indexes'."""

TableKeys = Callable[[], Iterable[Key]]
"""Every key of one table (to build its index)."""
KeysAt = Callable[[Prefix], Iterable[Key]]
"""The keys one table holds now for one prefix (to replay a change)."""


def key_of(prefix: Prefix, path_id: int) -> Key:
    return prefix if not path_id else (*prefix, path_id)


def prefix_of(key: Key) -> Prefix:
    return key if isinstance(key, Prefix) else Prefix(*key[:3])


def path_id_of(key: Key) -> int:
    return 0 if isinstance(key, Prefix) else int(key[3])


def prefix_range(within: Prefix) -> tuple[Key, Key]:
    """(lowest key within ``within``, first key above them)."""
    return within, (within.afi, within.value + (1 << (within.max_length - within.length)), 0)


def _next_prefix_key(prefix: Prefix) -> Key:
    """The lowest key above every key of ``prefix`` (any path id)."""
    return (prefix.afi, prefix.value, prefix.length + 1)


@dataclass(slots=True)
class _Index:
    keys: SortedKeys
    seen: int  # journal position replayed up to
    keys_at: KeysAt


@dataclass(slots=True)
class RouteIndexes:
    """The indexes of one instance, by (table kind, peering), and the journal."""

    _indexes: dict[tuple[str, str], _Index] = field(default_factory=dict)
    _journal: list[Collection[Prefix]] = field(default_factory=list)
    _base: int = 0  # journal position of _journal[0]
    _pending: int = 0  # prefixes held in the journal

    def changed(self, prefixes: Collection[Prefix]) -> None:
        """Prefixes whose Loc-RIB entry, and so any peer's tables, may have
        changed. O(1): the collection is kept, not copied (the caller must
        not change it afterwards)."""
        if not self._indexes or not prefixes:
            return
        self._journal.append(prefixes)
        self._pending += len(prefixes)
        if self._pending > max(JOURNAL_FLOOR, *(len(i.keys) for i in self._indexes.values())):
            self.drop_all()

    def drop(self, kind: str, peering: str) -> None:
        """Table ``kind`` of ``peering`` was replaced whole: rebuild on demand."""
        self._indexes.pop((kind, peering), None)

    def drop_peering(self, peering: str) -> None:
        for kind, name in list(self._indexes):
            if name == peering:
                del self._indexes[kind, name]

    def drop_all(self) -> None:
        self._indexes.clear()
        self._base += len(self._journal)
        self._journal.clear()
        self._pending = 0

    def page(
        self,
        kind: str,
        peering: str,
        build: tuple[TableKeys, KeysAt],
        *,
        within: Prefix | None,
        skip: int,
        top: int | None,
    ) -> tuple[list[Key], int]:
        """Keys ``skip``..``skip + top`` of the table (``top`` None: to the
        end), within ``within`` when given, and how many keys match in all."""
        index = self._current(kind, peering, build)
        keys = index.keys
        lo, hi = 0, len(keys)
        if within is not None:
            low, high = prefix_range(within)
            lo, hi = keys.bisect(low), keys.bisect(high)
        start = lo + skip
        stop = hi if top is None else min(hi, start + top)
        return keys.page(start, stop), hi - lo

    # --- internals -----------------------------------------------------------

    def _current(self, kind: str, peering: str, build: tuple[TableKeys, KeysAt]) -> _Index:
        all_keys, keys_at = build
        end = self._base + len(self._journal)
        index = self._indexes.get((kind, peering))
        if index is None:
            index = _Index(SortedKeys(all_keys()), end, keys_at)
            self._indexes[kind, peering] = index
            return index
        batches = self._journal[index.seen - self._base :]
        prefixes: Iterable[Prefix] = batches[0] if len(batches) == 1 else set().union(*batches)
        for prefix in prefixes:
            _replay(index.keys, prefix, index.keys_at(prefix))
        index.seen = end
        self._compact()
        return index

    def _compact(self) -> None:
        """Forget the journal entries every index has replayed."""
        oldest = min((i.seen for i in self._indexes.values()), default=self._base)
        drop = oldest - self._base
        if drop > 0:
            self._pending -= sum(len(batch) for batch in self._journal[:drop])
            del self._journal[:drop]
            self._base = oldest


def _replay(keys: SortedKeys, prefix: Prefix, now: Iterable[Key]) -> None:
    """Make ``keys``'s entries for ``prefix`` equal ``now``."""
    want = set(now)
    lo, hi = keys.bisect(prefix), keys.bisect(_next_prefix_key(prefix))
    have = set(keys.page(lo, hi)) if hi > lo else set()
    for key in have - want:
        keys.discard(key)
    for key in want - have:
        keys.add(key)

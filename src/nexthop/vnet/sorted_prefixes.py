"""An ordered set of prefixes with rank and range queries, for paging routes.

``Prefix`` is a ``NamedTuple`` ``(afi, value, length)``, so the natural order puts a
supernet right before its more specifics and every prefix inside ``P`` in one
contiguous run starting at ``P`` itself. Effective-route pages ("rows within P,
skip S, top T") are then a rank lookup plus a slice.

Design: the prefixes are kept in sorted chunks of at most ``2 * LOAD`` items (a
list of lists, plus each chunk's last item for bisection), the layout of the
``sortedcontainers`` package's ``SortedList``, written here in ~100 lines rather
than adding a dependency. ``add``/``remove`` cost O(log n) comparisons plus one
``list.insert`` into a chunk of at most 2 * LOAD items; ``rank`` adds a sum over
the chunk lengths before the position (n / LOAD integers, ~2,000 at 1M routes).
A plain sorted ``list`` with ``bisect.insort`` would move up to n pointers per
insert (seconds per 100k at 1M routes); sorting on demand would cost
O(n log n) on the first page after every change.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from itertools import islice

from nexthop.net.prefix import Prefix

__all__ = ["SortedPrefixes", "end_of"]

LOAD = 512


def end_of(prefix: Prefix) -> Prefix:
    """A bound just past every prefix inside ``prefix`` (not itself a valid prefix):
    everything ``q`` with ``prefix <= q < end_of(prefix)`` lies inside ``prefix``."""
    size = 1 << (prefix.max_length - prefix.length)
    return Prefix(prefix.afi, prefix.value + size, 0)


class SortedPrefixes:
    """A sorted set of ``Prefix``: ``add``, ``remove``, ``rank``, ``iter_from``."""

    __slots__ = ("_chunks", "_maxes", "_size")

    def __init__(self, items: Iterable[Prefix] = ()) -> None:
        ordered = sorted(set(items))
        self._chunks = [ordered[i : i + LOAD] for i in range(0, len(ordered), LOAD)]
        self._maxes = [chunk[-1] for chunk in self._chunks]
        self._size = len(ordered)

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Prefix]:
        for chunk in self._chunks:
            yield from chunk

    def __contains__(self, prefix: object) -> bool:
        if not isinstance(prefix, Prefix):
            return False
        i = bisect_left(self._maxes, prefix)
        if i == len(self._maxes):
            return False
        chunk = self._chunks[i]
        return chunk[bisect_left(chunk, prefix)] == prefix

    def add(self, prefix: Prefix) -> bool:
        """Insert ``prefix``; False when it was already there."""
        chunks, maxes = self._chunks, self._maxes
        if not maxes:
            chunks.append([prefix])
            maxes.append(prefix)
            self._size = 1
            return True
        i = bisect_left(maxes, prefix)
        if i == len(maxes):  # past the end (ascending input): append to the last chunk
            i -= 1
            chunk = chunks[i]
            chunk.append(prefix)
            maxes[i] = prefix
        else:
            chunk = chunks[i]
            j = bisect_left(chunk, prefix)
            if chunk[j] == prefix:
                return False
            chunk.insert(j, prefix)
        self._size += 1
        if len(chunk) > 2 * LOAD:
            chunks[i : i + 1] = [chunk[:LOAD], chunk[LOAD:]]
            maxes[i : i + 1] = [chunk[LOAD - 1], chunk[-1]]
        return True

    def remove(self, prefix: Prefix) -> bool:
        """Remove ``prefix``; False when it was not there."""
        chunks, maxes = self._chunks, self._maxes
        i = bisect_left(maxes, prefix)
        if i == len(maxes):
            return False
        chunk = chunks[i]
        j = bisect_left(chunk, prefix)
        if chunk[j] != prefix:
            return False
        del chunk[j]
        self._size -= 1
        if not chunk:
            del chunks[i]
            del maxes[i]
        elif j == len(chunk):
            maxes[i] = chunk[-1]
        return True

    def rank(self, prefix: Prefix) -> int:
        """How many stored prefixes sort before ``prefix``."""
        i = bisect_left(self._maxes, prefix)
        before = sum(map(len, self._chunks[:i]))
        if i == len(self._chunks):
            return before
        return before + bisect_left(self._chunks[i], prefix)

    def iter_from(self, index: int) -> Iterator[Prefix]:
        """The stored prefixes from position ``index`` on, in order."""
        index = max(index, 0)
        for i, chunk in enumerate(self._chunks):
            if index < len(chunk):
                yield from islice(chunk, index, None)
                for rest in self._chunks[i + 1 :]:
                    yield from rest
                return
            index -= len(chunk)

    def within(self, prefix: Prefix) -> tuple[int, int]:
        """``(start, count)``: the position of the first stored prefix inside
        ``prefix`` (equal or more specific) and how many there are."""
        start = self.rank(prefix)
        return start, self.rank(end_of(prefix)) - start

"""``SortedKeys``: a sorted set of table keys with positional access, for the
paginated route views (``az network routeserver peering list-learned-routes``
by page, ``routeserver.paging``).

A Python ``dict`` (how the RIBs store a table) has no order by key, and a
sorted ``list`` costs O(n) per insertion (a memmove of the whole tail): a
million-route table kept sorted that way costs seconds per thousand changes.
Here the keys are held in blocks of at most ``2 * BLOCK`` sorted keys with each
block's last key in ``_maxes``, so an insertion or removal is two bisections
and a memmove within one block (O(log n + BLOCK)); a position (``$skip``) is
found through the blocks' cumulative lengths, recomputed only after the block
sizes changed (O(n / BLOCK)). ``page(lo, hi)`` returns keys[lo:hi] touching
only the blocks it spans.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator
from itertools import accumulate
from typing import Any

__all__ = ["BLOCK", "SortedKeys"]

BLOCK = 512
"""Target block length; a block splits in two above ``2 * BLOCK`` keys."""

Key = Any  # tuples of ints (a ``Prefix``, or a prefix with a path id): totally ordered


class SortedKeys:
    """A set of mutually comparable keys, kept sorted."""

    __slots__ = ("_blocks", "_len", "_maxes", "_offsets")

    def __init__(self, keys: Iterable[Key] = ()) -> None:
        ordered = sorted(set(keys))
        self._blocks: list[list[Key]] = [
            ordered[i : i + BLOCK] for i in range(0, len(ordered), BLOCK)
        ]
        self._maxes: list[Key] = [block[-1] for block in self._blocks]
        self._len = len(ordered)
        self._offsets: list[int] | None = None

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[Key]:
        for block in self._blocks:
            yield from block

    def __contains__(self, key: Key) -> bool:
        i = bisect_left(self._maxes, key)
        if i == len(self._maxes):
            return False
        block = self._blocks[i]
        j = bisect_left(block, key)
        return j < len(block) and block[j] == key

    def add(self, key: Key) -> None:
        maxes, blocks = self._maxes, self._blocks
        if not blocks:
            blocks.append([key])
            maxes.append(key)
            self._len, self._offsets = 1, None
            return
        i = bisect_left(maxes, key)
        if i == len(maxes):
            i -= 1  # beyond every key: it goes at the end of the last block
        block = blocks[i]
        j = bisect_left(block, key)
        if j < len(block) and block[j] == key:
            return
        insort(block, key)
        maxes[i] = block[-1]
        self._len += 1
        self._offsets = None
        if len(block) > 2 * BLOCK:
            half = len(block) // 2
            blocks[i : i + 1] = [block[:half], block[half:]]
            maxes[i : i + 1] = [block[half - 1], block[-1]]

    def discard(self, key: Key) -> None:
        maxes = self._maxes
        i = bisect_left(maxes, key)
        if i == len(maxes):
            return
        block = self._blocks[i]
        j = bisect_left(block, key)
        if j == len(block) or block[j] != key:
            return
        del block[j]
        self._len -= 1
        self._offsets = None
        if block:
            maxes[i] = block[-1]
        else:
            del self._blocks[i]
            del maxes[i]

    def bisect(self, key: Key) -> int:
        """The position ``key`` has or would have (the count of keys below it)."""
        i = bisect_left(self._maxes, key)
        if i == len(self._maxes):
            return self._len
        return self._starts()[i] + bisect_left(self._blocks[i], key)

    def page(self, lo: int, hi: int) -> list[Key]:
        """keys[lo:hi], touching only the blocks that hold them."""
        lo, hi = max(lo, 0), min(hi, self._len)
        if lo >= hi:
            return []
        starts = self._starts()
        i = bisect_right(starts, lo) - 1
        out: list[Key] = []
        offset = lo - starts[i]
        want = hi - lo
        while len(out) < want:
            block = self._blocks[i]
            out += block[offset : offset + want - len(out)]
            i, offset = i + 1, 0
        return out

    def _starts(self) -> list[int]:
        """The position of each block's first key."""
        if self._offsets is None:
            self._offsets = [0, *accumulate(len(b) for b in self._blocks)][:-1]
        return self._offsets

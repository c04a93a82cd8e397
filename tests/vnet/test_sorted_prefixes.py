"""SortedPrefixes against a sorted Python list: membership, rank, ranges, iteration."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nexthop.net.prefix import Prefix
from nexthop.vnet.sorted_prefixes import SortedPrefixes


@st.composite
def prefixes(draw: st.DrawFn) -> Prefix:
    length = draw(st.integers(0, 12))
    value = draw(st.integers(0, (1 << length) - 1)) << (32 - length) if length else 0
    return Prefix(1, value, length)


@settings(max_examples=200)
@given(
    ops=st.lists(st.tuples(st.booleans(), prefixes()), max_size=3000),
    probe=prefixes(),
    start=st.integers(0, 3000),
)
def test_matches_a_sorted_list(ops: list[tuple[bool, Prefix]], probe: Prefix, start: int) -> None:
    ordered = SortedPrefixes()
    model: set[Prefix] = set()
    for add, prefix in ops:
        if add:
            assert ordered.add(prefix) == (prefix not in model)
            model.add(prefix)
        else:
            assert ordered.remove(prefix) == (prefix in model)
            model.discard(prefix)
    expected = sorted(model)
    assert list(ordered) == expected
    assert len(ordered) == len(expected)
    assert (probe in ordered) == (probe in model)
    assert ordered.rank(probe) == sum(1 for p in expected if p < probe)
    assert list(ordered.iter_from(start)) == expected[start:]
    first, count = ordered.within(probe)
    inside = [p for p in expected if probe.contains(p)]
    assert expected[first : first + count] == inside

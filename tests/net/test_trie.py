"""PrefixTrie: exact operations, longest match, covered/covering, against a brute-force model."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexthop.net.prefix import Afi, Prefix, parse_address, parse_prefix
from nexthop.net.trie import PrefixTrie

WIDTH = {Afi.IPV4: 32, Afi.IPV6: 128}


def p(text: str) -> Prefix:
    return parse_prefix(text)


@st.composite
def prefixes(draw: st.DrawFn, afi: Afi | None = None) -> Prefix:
    family = draw(st.sampled_from([Afi.IPV4, Afi.IPV6])) if afi is None else afi
    width = WIDTH[family]
    # Short address pools make nesting and collisions common.
    top = draw(st.integers(0, 3))
    length = draw(st.integers(0, width))
    address = (top << (width - 2)) | draw(st.integers(0, (1 << (width - 2)) - 1))
    shift = width - length
    return Prefix(family, (address >> shift) << shift, length)


def addresses(afi: Afi) -> st.SearchStrategy[int]:
    width = WIDTH[afi]
    return st.builds(
        lambda top, low: (top << (width - 2)) | low,
        st.integers(0, 3),
        st.integers(0, (1 << (width - 2)) - 1),
    )


def brute_longest(model: dict[Prefix, int], afi: int, address: int) -> tuple[Prefix, int] | None:
    best = [(pfx, v) for pfx, v in model.items() if pfx.contains_address(afi, address)]
    if not best:
        return None
    return max(best, key=lambda pair: pair[0].length)


def test_exact_insert_get_remove_len() -> None:
    trie: PrefixTrie[str] = PrefixTrie()
    assert len(trie) == 0
    assert not trie
    trie.insert(p("10.0.0.0/8"), "a")
    trie[p("10.1.0.0/16")] = "b"
    trie.insert(p("10.0.0.0/8"), "a2")  # replace, not a new entry
    assert len(trie) == 2
    assert trie.get(p("10.0.0.0/8")) == "a2"
    assert trie[p("10.1.0.0/16")] == "b"
    assert trie.get(p("10.2.0.0/16")) is None
    assert trie.get(p("10.2.0.0/16"), "dflt") == "dflt"
    assert trie.get(p("10.0.0.0/9")) is None  # no /9 table at all
    assert p("10.1.0.0/16") in trie
    assert p("10.1.0.0/17") not in trie
    assert "10.1.0.0/16" not in trie
    assert trie.remove(p("10.1.0.0/16")) == "b"
    assert len(trie) == 1
    with pytest.raises(KeyError):
        trie.remove(p("10.1.0.0/16"))
    with pytest.raises(KeyError):
        _ = trie[p("10.1.0.0/16")]
    del trie[p("10.0.0.0/8")]
    assert len(trie) == 0
    assert trie.longest_match(Afi.IPV4, parse_address("10.0.0.1")[1]) is None


def test_longest_match_picks_most_specific_and_families_are_separate() -> None:
    trie: PrefixTrie[str] = PrefixTrie()
    for text in ("0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "::/0", "2001:db8::/32"):
        trie.insert(p(text), text)
    afi, addr = parse_address("10.1.2.3")
    assert trie.longest_match(afi, addr) == (p("10.1.2.0/24"), "10.1.2.0/24")
    afi, addr = parse_address("10.1.3.3")
    assert trie.longest_match(afi, addr) == (p("10.1.0.0/16"), "10.1.0.0/16")
    afi, addr = parse_address("192.0.2.1")
    assert trie.longest_match(afi, addr) == (p("0.0.0.0/0"), "0.0.0.0/0")
    afi, addr = parse_address("2001:db8::1")
    assert trie.longest_match(afi, addr) == (p("2001:db8::/32"), "2001:db8::/32")
    afi, addr = parse_address("2001:db9::1")
    assert trie.longest_match(afi, addr) == (p("::/0"), "::/0")
    assert trie.longest_match(99, 1) is None


def test_host_routes_and_default_route() -> None:
    trie: PrefixTrie[int] = PrefixTrie()
    trie.insert(p("192.0.2.7/32"), 1)
    trie.insert(p("2001:db8::7/128"), 2)
    assert trie.longest_match(*parse_address("192.0.2.7")) == (p("192.0.2.7/32"), 1)
    assert trie.longest_match(*parse_address("192.0.2.8")) is None
    assert trie.longest_match(*parse_address("2001:db8::7")) == (p("2001:db8::7/128"), 2)


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        (Prefix(Afi.IPV4, 0x0A000001, 8), "host bits must be zero"),
        (Prefix(Afi.IPV4, 0, 33), "length must be 0..32"),
        (Prefix(Afi.IPV6, 0, 129), "length must be 0..128"),
        (Prefix(7, 0, 0), "unknown address family 7"),
        (Prefix(Afi.IPV4, 1 << 32, 32), "address out of range"),
    ],
)
def test_invalid_prefixes_are_rejected(prefix: Prefix, message: str) -> None:
    trie: PrefixTrie[int] = PrefixTrie()
    with pytest.raises(ValueError, match=message):
        trie.insert(prefix, 1)
    assert len(trie) == 0


def test_covered_and_covering() -> None:
    trie: PrefixTrie[int] = PrefixTrie()
    texts = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.2.0.0/16", "11.0.0.0/8", "0.0.0.0/0"]
    for i, text in enumerate(texts):
        trie.insert(p(text), i)
    assert [x for x, _ in trie.covered(p("10.0.0.0/8"))] == [
        p("10.0.0.0/8"),
        p("10.1.0.0/16"),
        p("10.1.2.0/24"),
        p("10.2.0.0/16"),
    ]
    assert [x for x, _ in trie.covering(p("10.1.2.0/24"))] == [
        p("0.0.0.0/0"),
        p("10.0.0.0/8"),
        p("10.1.0.0/16"),
        p("10.1.2.0/24"),
    ]
    assert [x for x, _ in trie.covering(p("10.3.0.0/16"))] == [p("0.0.0.0/0"), p("10.0.0.0/8")]
    assert trie.covered(p("12.0.0.0/8")) == []


def test_iteration_is_sorted() -> None:
    trie: PrefixTrie[int] = PrefixTrie()
    for text in ("2001:db8::/32", "10.1.0.0/16", "10.0.0.0/8", "9.0.0.0/8"):
        trie.insert(p(text), 0)
    assert trie.prefixes() == [
        p("9.0.0.0/8"),
        p("10.0.0.0/8"),
        p("10.1.0.0/16"),
        p("2001:db8::/32"),
    ]


# -- properties against a brute-force dict ------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    entries=st.lists(st.tuples(prefixes(), st.integers()), max_size=40),
    removals=st.lists(prefixes(), max_size=10),
    probes4=st.lists(addresses(Afi.IPV4), max_size=20),
    probes6=st.lists(addresses(Afi.IPV6), max_size=20),
)
def test_matches_brute_force(
    entries: list[tuple[Prefix, int]],
    removals: list[Prefix],
    probes4: list[int],
    probes6: list[int],
) -> None:
    trie: PrefixTrie[int] = PrefixTrie()
    model: dict[Prefix, int] = {}
    for prefix, value in entries:
        trie.insert(prefix, value)
        model[prefix] = value
    for prefix in removals:
        if prefix in model:
            assert trie.remove(prefix) == model.pop(prefix)
        else:
            with pytest.raises(KeyError):
                trie.remove(prefix)
    assert len(trie) == len(model)
    assert list(trie) == sorted(model.items())
    for prefix, value in model.items():
        assert trie.get(prefix) == value
    for afi, probes in ((Afi.IPV4, probes4), (Afi.IPV6, probes6)):
        for address in probes:
            assert trie.longest_match(afi, address) == brute_longest(model, afi, address)
        # Every stored prefix's own network address matches at least that prefix.
    for prefix in model:
        match = trie.longest_match(prefix.afi, prefix.value)
        assert match is not None
        assert match[0].length >= prefix.length


@settings(max_examples=150, deadline=None)
@given(
    entries=st.lists(prefixes(Afi.IPV4), max_size=40),
    query=prefixes(Afi.IPV4),
)
def test_covered_and_covering_match_brute_force(entries: list[Prefix], query: Prefix) -> None:
    trie: PrefixTrie[None] = PrefixTrie()
    for prefix in entries:
        trie.insert(prefix, None)
    stored = set(entries)
    assert [x for x, _ in trie.covered(query)] == sorted(x for x in stored if query.contains(x))
    assert [x for x, _ in trie.covering(query)] == sorted(
        (x for x in stored if x.contains(query)), key=lambda x: x.length
    )


@settings(max_examples=50, deadline=None)
@given(entries=st.lists(prefixes(Afi.IPV6), max_size=30), query=prefixes(Afi.IPV6))
def test_covered_ipv6_matches_brute_force(entries: list[Prefix], query: Prefix) -> None:
    trie: PrefixTrie[None] = PrefixTrie()
    for prefix in entries:
        trie.insert(prefix, None)
    stored = set(entries)
    assert [x for x, _ in trie.covered(query)] == sorted(x for x in stored if query.contains(x))

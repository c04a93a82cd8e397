"""Adj-RIB-In (soft reconfiguration), Loc-RIB (best + change feed), Adj-RIB-Out diff."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rib_helpers import P, path, seq

from nexthop.bgp.constants import AsPathSegmentType
from nexthop.bgp.rib.adj_rib_in import AdjRibIn
from nexthop.bgp.rib.adj_rib_out import AdjRibOut, Advertisement, apply_diff
from nexthop.bgp.rib.decision import Reason
from nexthop.bgp.rib.loc_rib import LocRib
from nexthop.bgp.rib.path import AttributeInterner, Path, format_as_path, neighbour_as, prepend_as
from nexthop.bgp.wire.messages import AsPathSegment, PathAttributes
from nexthop.net.prefix import Afi, Prefix, parse_prefix

Q = parse_prefix("10.200.0.0/16")


def reject_long(p: Path) -> str | None:
    return "too long" if len(p.attributes.as_path[0].asns) > 1 else None


def test_adj_rib_in_keeps_rejected_paths_with_reason() -> None:
    rib = AdjRibIn()
    good = path(prefix=P, as_path=(seq(65001),))
    bad = path(prefix=Q, as_path=(seq(65001, 65002),))
    assert rib.update(good, reject_long).after is good
    change = rib.update(bad, reject_long)
    assert change.after is None
    assert change.before is None
    assert rib.received_count == 2
    assert rib.accepted_count == 1
    assert [(e.path.prefix, e.rejected) for e in rib.rejected()] == [(Q, "too long")]


def test_adj_rib_in_reapply_accepts_previously_rejected_without_refresh() -> None:
    rib = AdjRibIn()
    bad = path(prefix=Q, as_path=(seq(65001, 65002),))
    rib.update(bad, reject_long)
    changes = rib.reapply(lambda _p: None)
    assert [(c.key, c.before, c.after) for c in changes] == [((Q, 0), None, bad)]
    assert rib.accepted_count == 1
    # Re-applying the same policy changes nothing.
    assert rib.reapply(lambda _p: None) == []
    # And rejecting again reports the loss.
    changes = rib.reapply(reject_long)
    assert [(c.before, c.after) for c in changes] == [(bad, None)]
    assert rib.accepted_count == 0


def test_adj_rib_in_replace_withdraw_and_clear() -> None:
    rib = AdjRibIn()
    first = path(as_path=(seq(65001),))
    second = path(as_path=(seq(65001, 65001),))
    rib.update(first)
    change = rib.update(second)
    assert (change.before, change.after) == (first, second)
    assert rib.received_count == 1
    assert rib.withdraw(P).before is second
    assert rib.withdraw(P).before is None
    rib.update(first)
    assert [c.before for c in rib.clear()] == [first]
    assert len(rib) == 0
    assert rib.accepted_count == 0


def test_loc_rib_best_reason_and_change_feed() -> None:
    rib = LocRib()
    short = path("nva1", as_path=(seq(65001),))
    long = path("nva2", as_path=(seq(65002, 65002),))
    rib.add(long)
    rib.add(short)
    assert rib.best(P) == (short, Reason.AS_PATH)
    assert rib.drain_changes() == {P}
    assert rib.drain_changes() == set()
    assert rib.remove(P, "nva1") is short
    assert rib.best(P) == (long, Reason.ONLY_PATH)
    assert rib.remove(P, "nva1") is None
    assert rib.remove(Q, "nva1") is None
    assert rib.remove_source("nva2") == [long]
    assert rib.best(P) is None
    assert rib.drain_changes() == {P}
    assert len(rib) == 0


def test_interner_shares_equal_attributes() -> None:
    interner = AttributeInterner()
    a = interner.intern(PathAttributes(as_path=(seq(65001),)))
    b = interner.intern(PathAttributes(as_path=(seq(65001),)))
    assert a is b
    assert len(interner) == 1


def test_prepend_joins_leading_sequence() -> None:
    assert prepend_as((seq(65001),), 65515) == (seq(65515, 65001),)
    assert prepend_as((), 65515) == (seq(65515),)


def _advert(n: int) -> Advertisement:
    return Advertisement(attributes=PathAttributes(as_path=(seq(n),)), next_hops=(n,))


prefixes = st.builds(
    lambda v, length: Prefix(Afi.IPV4, (v >> (32 - length)) << (32 - length), length),
    st.integers(0, 2**32 - 1),
    st.integers(8, 32),
)
tables = st.dictionaries(prefixes, st.integers(1, 4).map(_advert), max_size=20)


@given(before=tables, desired=tables)
def test_adj_rib_out_diff_applied_to_previous_state_is_desired(
    before: dict[Prefix, Advertisement], desired: dict[Prefix, Advertisement]
) -> None:
    out = AdjRibOut()
    out.apply(before, ())
    announce, withdraw = out.diff(desired)
    assert apply_diff(before, announce, withdraw) == desired
    # Only changes are sent.
    assert all(before.get(p) != a for p, a in announce.items())
    assert set(withdraw) == set(before) - set(desired)
    out.apply(announce, withdraw)
    assert out.advertised() == desired
    assert out.diff(desired) == ({}, ())


def test_adj_rib_out_diff_limited_to_scope() -> None:
    out = AdjRibOut()
    out.apply({P: _advert(1), Q: _advert(1)}, ())
    announce, withdraw = out.diff({P: _advert(2)}, only={P})
    assert announce == {P: _advert(2)}
    assert withdraw == ()
    out.clear()
    assert len(out) == 0


def test_as_path_helpers_on_sets_and_confederations() -> None:
    confed = AsPathSegment(AsPathSegmentType.AS_CONFED_SEQUENCE, (64512,))
    aset = AsPathSegment(AsPathSegmentType.AS_SET, (3, 4))
    attrs = PathAttributes(as_path=(confed, seq(65001, 65002), aset))
    assert format_as_path(attrs) == "(64512) 65001 65002 {3 4}"
    assert neighbour_as(attrs) == 65001
    assert neighbour_as(PathAttributes(as_path=(aset,))) is None
    assert neighbour_as(PathAttributes()) is None


def test_prepend_starts_a_new_segment_when_full_or_after_a_set() -> None:
    full = seq(*range(1, 256))
    assert prepend_as((full,), 65515) == (seq(65515), full)
    aset = AsPathSegment(AsPathSegmentType.AS_SET, (1, 2))
    assert prepend_as((aset,), 65515) == (seq(65515), aset)


def test_interner_prune_keeps_only_live_attributes() -> None:
    interner = AttributeInterner()
    live = interner.intern(PathAttributes(as_path=(seq(1),)))
    interner.intern(PathAttributes(as_path=(seq(2),)))
    assert interner.prune([live]) == 1
    assert len(interner) == 1
    assert interner.intern(PathAttributes(as_path=(seq(1),))) is live


sources = st.sampled_from(["a", "b", ""])
sourced_tables = st.dictionaries(prefixes, st.tuples(st.integers(1, 4).map(_advert), sources))


@given(before=tables, table=sourced_tables, exclude=sources, extra=st.lists(prefixes, max_size=5))
def test_adj_rib_out_diff_sourced_is_diff_without_the_excluded_source(
    before: dict[Prefix, Advertisement],
    table: dict[Prefix, tuple[Advertisement, str]],
    exclude: str,
    extra: list[Prefix],
) -> None:
    out = AdjRibOut()
    out.apply(before, ())
    gone = {p for p in [*list(before)[:3], *extra] if p not in table}
    desired = {p: advert for p, (advert, src) in table.items() if src != exclude}
    announce, withdraw = out.diff_sourced(table, exclude, gone)
    want_announce, want_withdraw = out.diff(desired, only={*table, *gone})
    assert announce == want_announce
    assert withdraw == want_withdraw

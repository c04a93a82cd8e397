"""Batched RIB operations (one UPDATE's paths at a time) behave exactly like the
per-path ones: ``AdjRibIn.update_many``, ``LocRib.add_many``, ``AttributePolicy``."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rib_helpers import P, path, seq

from nexthop.bgp.rib import decision
from nexthop.bgp.rib.adj_rib_in import AdjRibIn, AttributePolicy
from nexthop.bgp.rib.decision import Reason
from nexthop.bgp.rib.loc_rib import LocRib
from nexthop.bgp.rib.path import Path
from nexthop.bgp.wire.messages import PathAttributes
from nexthop.net.prefix import Afi, Prefix

PREFIXES = [Prefix(Afi.IPV4, (10 << 24) | (i << 16), 16) for i in range(4)]

paths = st.builds(
    lambda prefix, pid, asn, source: path(
        source, prefix=prefix, path_id=pid, as_path=(seq(asn),), address=f"10.0.0.{asn}"
    ),
    st.sampled_from(PREFIXES),
    st.sampled_from([0, 0, 1, 7]),
    st.integers(1, 3),
    st.sampled_from(["a", "b"]),
)
batch = st.tuples(st.lists(paths, max_size=6), st.sampled_from([None, "no"]))
withdrawal = st.tuples(st.sampled_from(PREFIXES), st.sampled_from([0, 1, 7]))
operations = st.lists(st.one_of(batch, withdrawal), max_size=12)


def _state(rib: AdjRibIn) -> tuple[object, ...]:
    entries = sorted(
        ((e.path.prefix, e.path.path_id), id(e.path), e.rejected) for e in rib.entries()
    )
    accepted = sorted(id(p) for p in rib.accepted())
    rejected = sorted((id(e.path), e.rejected) for e in rib.rejected())
    return entries, accepted, rejected, rib.accepted_count, rib.received_count, len(rib)


@given(operations)
def test_update_many_equals_update_one_by_one(ops: list[object]) -> None:
    batched, single = AdjRibIn(), AdjRibIn()
    for op in ops:
        first, second = op  # type: ignore[misc]
        if isinstance(first, list):
            reason: str | None = second

            def policy(_p: Path, reason: str | None = reason) -> str | None:
                return reason

            displaced = batched.update_many(first, reason)
            changes = [single.update(p, policy) for p in first]
            assert displaced == [c.before for c in changes if c.before is not None]
            assert [p for p in first if reason is None] == [
                c.after for c in changes if c.after is not None
            ]
        else:
            assert batched.withdraw(first, second) == single.withdraw(first, second)
        assert _state(batched) == _state(single)
        for prefix in PREFIXES:
            for pid in (0, 1, 7):
                assert batched.holds(prefix, pid) == (single.get(prefix, pid) is not None)
                assert batched.get(prefix, pid) == single.get(prefix, pid)


def test_update_many_rejected_batch_displaces_accepted_paths() -> None:
    rib = AdjRibIn()
    good = [path(prefix=p) for p in PREFIXES[:2]]
    assert rib.update_many(good) == []
    assert rib.accepted_count == 2
    again = [path(prefix=p, as_path=(seq(65515),)) for p in PREFIXES[1:3]]
    assert rib.update_many(again, "loop") == [good[1]]
    assert rib.accepted_count == 1
    assert rib.received_count == 3
    assert sorted((e.path.prefix, e.rejected) for e in rib.rejected()) == [
        (PREFIXES[1], "loop"),
        (PREFIXES[2], "loop"),
    ]
    # Soft reconfiguration brings them back.
    changes = rib.reapply(lambda _p: None)
    assert sorted(c.key for c in changes) == [(PREFIXES[1], 0), (PREFIXES[2], 0)]
    assert all(c.before is None and c.after is not None for c in changes)
    assert rib.accepted_count == 3
    assert sorted(p.prefix for p in rib.paths()) == PREFIXES[:3]


def test_attribute_policy_runs_the_path_stage_only_on_what_attributes_pass() -> None:
    seen: list[Prefix] = []

    def long_path(attributes: PathAttributes) -> str | None:
        return "long" if len(attributes.as_path[0].asns) > 1 else None

    def not_p(p: Path) -> str | None:
        seen.append(p.prefix)
        return "is P" if p.prefix == P else None

    policy = AttributePolicy(long_path, not_p)
    assert policy(path(as_path=(seq(1, 2),))) == "long"
    assert seen == []
    assert policy(path(as_path=(seq(1),))) == "is P"
    assert policy(path(prefix=PREFIXES[0], as_path=(seq(1),))) is None
    assert seen == [P, PREFIXES[0]]
    assert AttributePolicy(long_path)(path(as_path=(seq(1),))) is None


loc_ops = st.lists(
    st.one_of(
        st.lists(paths, max_size=5),
        st.tuples(st.sampled_from(PREFIXES), st.sampled_from(["a", "b"]), st.sampled_from([0, 1])),
    ),
    max_size=12,
)


@given(loc_ops)
def test_loc_rib_add_many_equals_add_and_best_matches_decision(ops: list[object]) -> None:
    batched, single = LocRib(), LocRib()
    for op in ops:
        if isinstance(op, list):
            batched.add_many(op)
            for p in op:
                single.add(p)
        else:
            prefix, source, pid = op  # type: ignore[misc]
            assert batched.remove(prefix, source, pid) is single.remove(prefix, source, pid)
        assert batched.drain_changes() == single.drain_changes()
        for prefix in PREFIXES:
            cands = single.candidates(prefix)
            assert batched.candidates(prefix) == cands
            want = None
            if len(cands) == 1:
                want = (cands[0], Reason.ONLY_PATH)
            elif cands:
                want = decision.best(cands)
            assert batched.best(prefix) == want
            assert batched.best_path(prefix) == (want[0] if want else None)
            assert batched.sole(prefix) == (cands[0] if len(cands) == 1 else None)

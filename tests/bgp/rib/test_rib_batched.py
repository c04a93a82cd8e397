"""Batched RIB operations (one UPDATE's paths at a time) behave exactly like the
per-path ones: ``AdjRibIn.update_many``, ``LocRib.add_many``, ``AttributePolicy``."""

from __future__ import annotations

from dataclasses import fields, replace

from hypothesis import given
from hypothesis import strategies as st
from rib_helpers import P, path, seq

from nexthop.bgp.rib import decision
from nexthop.bgp.rib.adj_rib_in import AdjRibIn, AttributePolicy
from nexthop.bgp.rib.decision import Reason
from nexthop.bgp.rib.loc_rib import LocRib
from nexthop.bgp.rib.path import Path, Route
from nexthop.bgp.wire.messages import PathAttributes
from nexthop.net.prefix import Afi, Prefix

PREFIXES = [Prefix(Afi.IPV4, (10 << 24) | (i << 16), 16) for i in range(4)]


def bare(p: Path) -> Route:
    """The route of ``p`` as a plain ``Route`` (no prefix), as an UPDATE's NLRI share it."""
    return Route(**{f.name: getattr(p, f.name) for f in fields(Route)})


def _route(pid: int, asn: int, source: str) -> Route:
    return bare(path(source, path_id=pid, as_path=(seq(asn),), address=f"10.0.0.{asn}"))


routes = st.builds(
    _route, st.sampled_from([0, 0, 1, 7]), st.integers(1, 3), st.sampled_from(["a", "b"])
)
batch = st.tuples(
    st.lists(st.sampled_from(PREFIXES), max_size=6), routes, st.sampled_from([None, "no"])
)
withdrawal = st.tuples(st.sampled_from(PREFIXES), st.sampled_from([0, 1, 7]))
operations = st.lists(st.one_of(batch, withdrawal), max_size=12)


def _state(rib: AdjRibIn) -> tuple[object, ...]:
    def key(p: Path) -> tuple[Prefix, int]:
        return p.prefix, p.path_id

    entries = sorted(((key(e.path), e.path, e.rejected) for e in rib.entries()), key=lambda t: t[0])
    accepted = sorted(rib.accepted(), key=key)
    rejected = sorted(((e.path, e.rejected) for e in rib.rejected()), key=lambda t: key(t[0]))
    return entries, accepted, rejected, rib.accepted_count, rib.received_count, len(rib)


@given(operations)
def test_update_many_equals_update_one_by_one(ops: list[tuple[object, ...]]) -> None:
    batched, single = AdjRibIn(), AdjRibIn()
    for op in ops:
        if len(op) == 3:
            prefixes, route, reason = op
            assert isinstance(prefixes, list)
            assert isinstance(route, Route)
            assert reason is None or isinstance(reason, str)

            def policy(_p: Path, reason: str | None = reason) -> str | None:
                return reason

            displaced = batched.update_many(prefixes, route, reason)
            changes = [single.update(route.at(p), policy) for p in prefixes]
            assert displaced == [c.key[0] for c in changes if c.before is not None]
        else:
            prefix, pid = op
            assert isinstance(prefix, Prefix)
            assert isinstance(pid, int)
            assert batched.withdraw(prefix, pid) == single.withdraw(prefix, pid)
        assert _state(batched) == _state(single)
        assert sorted(r.path_id for r in batched.routes()) == sorted(
            e.path.path_id for e in single.entries()
        )
        for prefix in PREFIXES:
            for pid in (0, 1, 7):
                assert batched.holds(prefix, pid) == (single.get(prefix, pid) is not None)
                assert batched.get(prefix, pid) == single.get(prefix, pid)


def test_update_many_rejected_batch_displaces_accepted_paths() -> None:
    rib = AdjRibIn()
    good = bare(path())
    assert rib.update_many(PREFIXES[:2], good) == []
    assert rib.accepted_count == 2
    looped = bare(path(as_path=(seq(65515),)))
    assert rib.update_many(PREFIXES[1:3], looped, "loop") == [PREFIXES[1]]
    assert rib.accepted_count == 1
    assert rib.received_count == 3
    assert sorted((e.path.prefix, e.rejected) for e in rib.rejected()) == [
        (PREFIXES[1], "loop"),
        (PREFIXES[2], "loop"),
    ]
    assert list(rib.accepted()) == [good.at(PREFIXES[0])]
    # Soft reconfiguration brings them back.
    changes = rib.reapply(lambda _p: None)
    assert sorted(c.key for c in changes) == [(PREFIXES[1], 0), (PREFIXES[2], 0)]
    assert all(c.before is None and c.after == looped.at(c.key[0]) for c in changes)
    assert rib.accepted_count == 3
    assert sorted(e.path.prefix for e in rib.entries()) == PREFIXES[:3]


def test_route_at_builds_the_path_and_keeps_a_path_as_is() -> None:
    p = path(as_path=(seq(65001),), path_id=3, weight=5)
    assert p.at(P) is p
    other = p.at(PREFIXES[0])
    assert other.prefix == PREFIXES[0]
    assert replace(other, prefix=P) == p
    assert bare(p).at(P) == p
    assert bare(p) != p  # a Route is not a Path


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
        st.tuples(st.lists(st.sampled_from(PREFIXES), max_size=5), routes),
        st.tuples(st.sampled_from(PREFIXES), st.sampled_from(["a", "b"]), st.sampled_from([0, 1])),
    ),
    max_size=12,
)


@given(loc_ops)
def test_loc_rib_add_many_equals_add_and_best_matches_decision(
    ops: list[tuple[object, ...]],
) -> None:
    batched, single = LocRib(), LocRib()
    for op in ops:
        if len(op) == 2:
            prefixes, route = op
            assert isinstance(prefixes, list)
            assert isinstance(route, Route)
            batched.add_many(prefixes, route)
            for prefix in prefixes:
                single.add(route.at(prefix))
        else:
            prefix, source, pid = op
            assert isinstance(prefix, Prefix)
            assert isinstance(source, str)
            assert isinstance(pid, int)
            gone = single.remove(prefix, source, pid)
            assert batched.discard(prefix, source, pid) == (gone is not None)
        assert batched.drain_changes() == single.drain_changes()
        assert batched.best_routes(PREFIXES) == [batched.best_route(p) for p in PREFIXES]
        for prefix in PREFIXES:
            cands = single.candidates(prefix)
            assert batched.candidates(prefix) == cands
            assert [r.at(prefix) for r in batched.routes(prefix)] == cands
            want = None
            if len(cands) == 1:
                want = (cands[0], Reason.ONLY_PATH)
            elif cands:
                want = decision.best(cands)
            assert batched.best(prefix) == want
            best_route = batched.best_route(prefix)
            assert (None if best_route is None else best_route.at(prefix)) == (
                want[0] if want else None
            )


@given(operations)
def test_clear_accepted_reports_what_clear_does(ops: list[tuple[object, ...]]) -> None:
    bulk, single = AdjRibIn(), AdjRibIn()
    for rib in (bulk, single):
        for op in ops:
            if len(op) == 3:
                prefixes, route, reason = op
                assert isinstance(prefixes, list)
                assert isinstance(route, Route)
                assert reason is None or isinstance(reason, str)
                rib.update_many(prefixes, route, reason)
            else:
                prefix, pid = op
                assert isinstance(prefix, Prefix)
                assert isinstance(pid, int)
                rib.withdraw(prefix, pid)
    stored_order = [(p.prefix, p.path_id) for p in bulk.accepted()]
    by_id = bulk.clear_accepted()
    changes = single.clear()
    assert all(c.after is None and c.before is not None for c in changes)
    assert sorted((p, pid) for pid, ps in by_id.items() for p in ps) == sorted(
        c.key for c in changes
    )
    assert all(by_id.values())  # no empty groups
    for pid, prefixes in by_id.items():  # each group in stored order
        assert prefixes == [p for p, i in stored_order if i == pid]
    assert _state(bulk) == _state(single) == ([], [], [], 0, 0, 0)
    bulk.update_many(PREFIXES[:1], _route(0, 1, "a"))  # usable again
    assert bulk.accepted_count == 1


@given(loc_ops, st.lists(st.sampled_from(PREFIXES), max_size=6), routes)
def test_loc_rib_discard_many_equals_discard(
    ops: list[tuple[object, ...]], prefixes: list[Prefix], gone: Route
) -> None:
    bulk, single = LocRib(), LocRib()
    for rib in (bulk, single):
        for op in ops:
            if len(op) == 2:
                added, route = op
                assert isinstance(added, list)
                assert isinstance(route, Route)
                rib.add_many(added, route)
            else:
                prefix, source, pid = op
                assert isinstance(prefix, Prefix)
                assert isinstance(source, str)
                assert isinstance(pid, int)
                rib.discard(prefix, source, pid)
        rib.drain_changes()
    removed = bulk.discard_many(prefixes, gone.source, gone.path_id)
    assert removed == [p for p in prefixes if single.discard(p, gone.source, gone.path_id)]
    assert bulk.drain_changes() == single.drain_changes() == set(removed)
    for prefix in PREFIXES:
        assert bulk.candidates(prefix) == single.candidates(prefix)
        assert bulk.best(prefix) == single.best(prefix)
    held = bulk.held_routes(PREFIXES)
    for prefix, routes_held in zip(PREFIXES, held, strict=True):
        cands = bulk.routes(prefix)
        if not cands:
            assert routes_held is None
        elif len(cands) == 1:
            assert routes_held is cands[0]
        else:
            assert routes_held == cands

"""Properties of the resource diff: applying it to the old set gives the new set."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from nexthop.config import load_topology
from nexthop.service import KINDS, Action, Change
from nexthop.service.resources import diff_resources, from_resources, to_resources
from nexthop.store import Resource

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"

names = st.sampled_from(["a", "b", "c", "d"])
kinds = st.sampled_from(KINDS[1:])
bodies = st.dictionaries(st.sampled_from(["x", "y", "z"]), st.integers(0, 3), max_size=3)
resource_sets = st.dictionaries(st.tuples(kinds, names), bodies, max_size=12)


def _resources(data: dict[tuple[str, str], dict[str, int]]) -> list[Resource]:
    return [
        Resource(kind=k, name=n, position=i, body={"name": n, **b})
        for i, ((k, n), b) in enumerate(sorted(data.items()))
    ]


def _apply(
    old: list[Resource], changes: list[Change], new: list[Resource]
) -> dict[tuple[str, str], dict[str, object]]:
    state = {(r.kind, r.name): r.body for r in old}
    wanted = {(r.kind, r.name): r.body for r in new}
    for change in changes:
        key = (change.kind, change.name)
        if change.action is Action.DELETE:
            del state[key]
        else:
            assert (key in state) == (change.action is Action.UPDATE)
            state[key] = wanted[key]
    return state


@given(resource_sets, resource_sets)
def test_applying_the_diff_yields_the_new_set(
    old: dict[tuple[str, str], dict[str, int]], new: dict[tuple[str, str], dict[str, int]]
) -> None:
    before, after = _resources(old), _resources(new)
    changes = diff_resources(before, after)
    assert _apply(before, changes, after) == {(r.kind, r.name): r.body for r in after}
    # one change per differing resource, none for identical ones
    keys = [(c.kind, c.name) for c in changes]
    assert len(keys) == len(set(keys))
    differing = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    assert set(keys) == differing
    assert diff_resources(after, after) == []


@given(st.permutations(range(8)))
def test_reordering_resources_is_not_a_change(order: list[int]) -> None:
    resources = to_resources(load_topology(EXAMPLE).topology)
    shuffled = [resources[i] for i in order if i < len(resources)] + resources[8:]
    assert diff_resources(resources, shuffled) == []


def test_resources_round_trip_to_the_same_topology() -> None:
    topology = load_topology(EXAMPLE).topology
    assert type(topology).model_validate(from_resources(to_resources(topology))) == topology

"""``slot_setters`` builds records like the dataclass __init__, and refuses a class
whose fields changed."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass

import pytest

from nexthop.fastinit import slot_setters


@dataclass(frozen=True, slots=True)
class Pair:
    left: int
    right: str


def test_setters_build_an_equal_frozen_record() -> None:
    set_left, set_right = slot_setters(Pair, ("left", "right"))
    record = object.__new__(Pair)
    set_left(record, 1)
    set_right(record, "x")
    assert record == Pair(1, "x")
    with pytest.raises(FrozenInstanceError):
        record.left = 2  # type: ignore[misc]


@pytest.mark.parametrize("names", [("left",), ("right", "left"), ("left", "right", "extra")])
def test_a_field_list_that_does_not_match_is_refused(names: tuple[str, ...]) -> None:
    with pytest.raises(TypeError, match="Pair changed"):
        slot_setters(Pair, names)


def test_a_class_with_post_init_is_refused() -> None:
    @dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            assert self.value >= 0

    with pytest.raises(TypeError, match="Checked changed"):
        slot_setters(Checked, ("value",))

"""Reading topology YAML is bounded and every failure is a positioned ``TopologyError``.

Found by an attacker's run against ``POST /api/v1/apply`` (issue 15): an alias bomb
took 33.9 s before its 400, 50,000 nested ``[`` and a control character gave 500s.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexthop.config import Problem, TopologyError, load_topology_text
from nexthop.config.yaml_reader import MAX_ALIAS_NODES, MAX_DEPTH

BASE = (Path(__file__).parent / "base.yaml").read_text()


def problems(text: str) -> list[str]:
    with pytest.raises(TopologyError) as info:
        load_topology_text(text, "t.yaml")
    return [str(p) for p in info.value.problems]


def alias_bomb(levels: int) -> str:
    """Each level is a list of nine aliases of the level before: 9**levels leaves."""
    lines = ["region: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_at_the_alias_that_crosses_the_budget() -> None:
    text = alias_bomb(8)  # 9**8 = 43 million leaves if expanded
    assert len(text.encode()) < 500
    # Level 4 expands to 9**4 + 9**3 + ... nodes; the budget is crossed on line 5.
    line = text.splitlines()[4]
    assert problems(text) == [
        f"t.yaml:5:{line.index('*a3', 8) + 1}: malformed YAML: "
        f"aliases expand the document by more than {MAX_ALIAS_NODES} nodes"
    ]


def test_a_recursive_alias_is_refused() -> None:
    assert problems("region: &a [x, *a]\n") == [
        "t.yaml:1:16: malformed YAML: alias *a refers to a collection that contains it"
    ]


def test_aliases_and_merge_keys_within_the_budget_load() -> None:
    text = BASE.replace(
        "nic: {vnet: hub, subnet: workload, ip: 10.1.2.4}",
        "nic: &vmnic {vnet: hub, subnet: workload, ip: 10.1.2.4}\n"
        "  - name: vm2\n"
        "    nic: {<<: *vmnic, ip: 10.1.2.5}",
    )
    loaded = load_topology_text(text, "t.yaml")
    nics = {vm.name: (vm.nic.subnet, str(vm.nic.ip)) for vm in loaded.topology.vms}
    # The merged key 'ip' that vm2 overrides is not reported as a duplicate.
    assert nics == {"vm1": ("workload", "10.1.2.4"), "vm2": ("workload", "10.1.2.5")}


def test_a_duplicate_key_inside_an_aliased_mapping_is_reported_once() -> None:
    text = BASE.replace(
        "nic: {vnet: hub, subnet: workload, ip: 10.1.2.4}",
        "nic: &vmnic {vnet: hub, subnet: workload, ip: 10.1.2.4, ip: 10.1.2.6}\n"
        "  - name: vm2\n"
        "    nic: *vmnic",
    )
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "&vmnic" in t)
    column = text.splitlines()[line - 1].rindex("ip:") + 1
    assert problems(text) == [f"t.yaml:{line}:{column}: vms[0].nic.ip: duplicate key 'ip'"]


@pytest.mark.parametrize("opener", ["[", "{a: ", "- "])
def test_deep_nesting_is_refused_at_the_level_past_the_limit(opener: str) -> None:
    nested = (
        opener * 50_000
        if opener != "- "
        else "".join("  " * i + "-\n" for i in range(MAX_DEPTH + 2))
    )
    [message] = problems(nested)
    assert message.endswith(f"malformed YAML: nested deeper than {MAX_DEPTH} levels")


def test_nesting_up_to_the_limit_is_read() -> None:
    nested = "region: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    # Readable YAML: the schema, not the reader, refuses it.
    assert any(p.startswith("t.yaml:1:9: region: ") for p in problems(nested))


def test_a_control_character_names_its_position() -> None:
    assert problems(":3nQ\u00dd\u007f") == [
        "t.yaml:1:6: malformed YAML: character U+007F is not allowed "
        "(special characters are not allowed)"
    ]
    assert problems("region: westeurope\nvnets: [a\x01]\n") == [
        "t.yaml:2:10: malformed YAML: character U+0001 is not allowed "
        "(special characters are not allowed)"
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2001-02-30", "'2001-02-30' is not a valid !!timestamp (day is out of range for month)"),
        ("!!int abc", "'abc' is not a valid !!int (invalid literal for int() with base 10: 'abc')"),
        ("!!float x", "'x' is not a valid !!float (could not convert string to float: 'x')"),
        ("!!bool maybe", "'maybe' is not a valid !!bool"),
        ('!!int ""', "'' is not a valid !!int"),  # IndexError inside PyYAML
        ("!!timestamp noon", "'noon' is not a valid !!timestamp"),
    ],
)
def test_a_scalar_its_tag_cannot_construct_names_the_scalar(value: str, message: str) -> None:
    assert problems(f"region: {value}\n") == [f"t.yaml:1:9: malformed YAML: {message}"]


TOKENS = [*"[]{}&*!<>:-,?|'\" \n\tab1\x7f\x00#%@`", "!!int ", "<<: ", "&a ", "*a", "\n  - "]
YAMLISH = st.lists(st.sampled_from(TOKENS), max_size=80).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(YAMLISH, st.text(max_size=200)))
def test_any_text_loads_or_fails_with_positioned_problems(text: str) -> None:
    """Never another exception: whatever the text, a topology or a ``TopologyError``."""
    found: tuple[Problem, ...] = ()
    try:
        load_topology_text(text, "t.yaml")
    except TopologyError as exc:
        found = exc.problems
        assert found, "a TopologyError lists at least one problem"
    for p in found:
        assert p.source == "t.yaml"
        assert p.line >= 1
        assert p.column >= 1
        assert p.message

"""Flow hashing and the Maglev table: symmetry, determinism, consistency, balance."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lb_builders import SMALL_TABLE, random_flows

from nexthop.lb.hashing import MaglevMap, flow_hash, maglev_table
from nexthop.lb.model import DistributionMode, Flow, IpProtocol

FLOWS = 10_000

ipv4 = st.integers(min_value=0, max_value=2**32 - 1).map(ipaddress.IPv4Address)
ports = st.integers(min_value=0, max_value=65535)
flows = st.builds(
    Flow,
    protocol=st.sampled_from([IpProtocol.TCP, IpProtocol.UDP]),
    src_ip=ipv4,
    src_port=ports,
    dst_ip=ipv4,
    dst_port=ports,
)
modes = st.sampled_from(list(DistributionMode))


def names(n: int) -> list[str]:
    return [f"nva{i}" for i in range(n)]


@settings(max_examples=500, deadline=None)
@given(flow=flows, mode=modes, seed=st.integers(min_value=0, max_value=2**32))
def test_symmetric_hash_is_the_same_in_both_directions(
    flow: Flow, mode: DistributionMode, seed: int
) -> None:
    fwd = flow_hash(flow, mode, symmetric=True, seed=seed)
    rev = flow_hash(flow.reversed(), mode, symmetric=True, seed=seed)
    assert fwd == rev
    table = MaglevMap(names(4), size=SMALL_TABLE, seed=seed)
    assert table.lookup(fwd.value) == table.lookup(rev.value)


def test_order_sensitive_hash_mostly_differs_between_directions() -> None:
    sample = random_flows(2000)
    differ = sum(
        flow_hash(f, symmetric=False).value != flow_hash(f.reversed(), symmetric=False).value
        for f in sample
    )
    assert differ == len(sample)


def test_distribution_modes_pick_their_fields() -> None:
    a = Flow.of(IpProtocol.TCP, "10.0.0.1", 1000, "10.0.0.2", 80)
    other_ports = Flow.of(IpProtocol.TCP, "10.0.0.1", 2000, "10.0.0.2", 443)
    other_proto = Flow.of(IpProtocol.UDP, "10.0.0.1", 1000, "10.0.0.2", 80)
    two, three, five = (
        DistributionMode.SOURCE_IP,
        DistributionMode.SOURCE_IP_PROTOCOL,
        DistributionMode.DEFAULT,
    )
    assert flow_hash(a, two) == flow_hash(other_ports, two) == flow_hash(other_proto, two)
    assert flow_hash(a, three) == flow_hash(other_ports, three)
    assert flow_hash(a, three) != flow_hash(other_proto, three)
    assert flow_hash(a, five) != flow_hash(other_ports, five)
    assert flow_hash(a, five).inputs == ("tcp", "10.0.0.1:1000", "10.0.0.2:80")
    assert flow_hash(a, two).inputs == ("10.0.0.1", "10.0.0.2")


def test_hash_and_table_do_not_depend_on_the_process_hash_seed() -> None:
    code = (
        "from nexthop.lb.hashing import flow_hash, maglev_table\n"
        "from nexthop.lb.model import Flow\n"
        "f = Flow.of(6, '10.0.0.1', 1234, '10.0.0.2', 80)\n"
        "print(flow_hash(f, seed=7).value, hash(maglev_table(('a', 'b', 'c'), 251, 7)))\n"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
        ).stdout
        outputs.add(out.split()[0])
    f = Flow.of(6, "10.0.0.1", 1234, "10.0.0.2", 80)
    assert outputs == {str(flow_hash(f, seed=7).value)}
    assert flow_hash(f, seed=7) != flow_hash(f, seed=8)


@pytest.mark.parametrize("n", [2, 3, 5, 8, 13])
def test_maglev_table_gives_each_backend_floor_or_ceil_of_m_over_n(n: int) -> None:
    shares = MaglevMap(names(n), size=SMALL_TABLE).shares()
    assert sum(shares.values()) == SMALL_TABLE
    assert max(shares.values()) - min(shares.values()) <= 1


def test_maglev_table_is_independent_of_member_order() -> None:
    a = MaglevMap(["c", "a", "b"], size=251)
    b = MaglevMap(["b", "c", "a"], size=251)
    assert [a.lookup(h) for h in range(251)] == [b.lookup(h) for h in range(251)]
    assert maglev_table((), 251) == ()


@pytest.mark.parametrize("n", [2, 3, 4, 8])
def test_removing_one_backend_moves_exactly_its_flows(n: int) -> None:
    table = MaglevMap(names(n), size=SMALL_TABLE)
    everyone = frozenset(table.names)
    hashes = [flow_hash(f).value for f in random_flows(FLOWS, seed=n)]
    before = [table.pick(h, everyone) for h in hashes]
    for gone in table.names:
        after = [table.pick(h, everyone - {gone}) for h in hashes]
        moved = [i for i, (x, y) in enumerate(zip(before, after, strict=True)) if x != y]
        assert all(before[i] == gone for i in moved)  # nobody else moved
        assert len(moved) == before.count(gone)  # and all of its flows did
        assert gone not in after
        share = len(moved) / FLOWS
        assert 0.7 / n < share < 1.3 / n


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(min_value=2, max_value=9),
    down=st.sets(st.integers(min_value=0, max_value=8), max_size=7),
    hashes=st.lists(st.integers(min_value=0, max_value=2**64 - 1), min_size=1, max_size=50),
)
def test_health_overlay_never_moves_flows_of_available_backends(
    n: int, down: set[int], hashes: list[int]
) -> None:
    table = MaglevMap(names(n), size=SMALL_TABLE)
    available = frozenset(table.names) - {f"nva{i}" for i in down}
    for h in hashes:
        owner = table.lookup(h)
        picked = table.pick(h, available)
        if not available:
            assert picked is None
        elif owner in available:
            assert picked == owner
        else:
            assert picked in available


@pytest.mark.parametrize("n", [2, 3, 4, 8])
def test_adding_a_backend_moves_about_one_in_n_plus_one(n: int) -> None:
    old = MaglevMap(names(n), size=SMALL_TABLE)
    new = MaglevMap(names(n + 1), size=SMALL_TABLE)
    hashes = [flow_hash(f).value for f in random_flows(FLOWS, seed=100 + n)]
    moved = [(old.lookup(h), new.lookup(h)) for h in hashes if old.lookup(h) != new.lookup(h)]
    share = len(moved) / FLOWS
    assert 0.5 / (n + 1) <= share <= 2 / (n + 1)
    to_new = sum(1 for _, b in moved if b == f"nva{n}")
    assert to_new / len(moved) > 0.9  # nearly all movers go to the newcomer


def test_full_rebuild_without_a_backend_has_small_collateral() -> None:
    """Plain Maglev (no overlay) leaks a little, as the paper says (notes §1.3)."""
    full = MaglevMap(names(4), size=SMALL_TABLE)
    rebuilt = MaglevMap(names(4)[1:], size=SMALL_TABLE)
    collateral = sum(
        1
        for s in range(SMALL_TABLE)
        if full.lookup(s) != "nva0" and full.lookup(s) != rebuilt.lookup(s)
    )
    assert collateral / SMALL_TABLE < 0.02


@pytest.mark.parametrize("n", [2, 4, 7])
def test_distribution_over_backends_is_even(n: int) -> None:
    table = MaglevMap(names(n), size=65537)
    counts = Counter(table.lookup(flow_hash(f).value) for f in random_flows(FLOWS, seed=n))
    assert set(counts) == set(table.names)
    for c in counts.values():
        assert abs(c - FLOWS / n) < 0.1 * FLOWS / n

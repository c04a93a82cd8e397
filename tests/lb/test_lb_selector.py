"""selector.choose as a pure function: eligibility rules and explanations."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st
from lb_builders import make_lb, random_flows

from nexthop.lb.hashing import MaglevMap, flow_hash
from nexthop.lb.model import AdminState, Flow, IpProtocol, NoHealthyBackendsBehavior
from nexthop.lb.selector import Chosen, Dropped, DropReason, SelectReason, choose

NAMES = [f"nva{i}" for i in range(5)]
admin_states = st.fixed_dictionaries({n: st.sampled_from(list(AdminState)) for n in NAMES})
ipv6 = st.integers(min_value=0, max_value=2**128 - 1).map(ipaddress.IPv6Address)


@settings(max_examples=200, deadline=None)
@given(
    admin=admin_states,
    healthy=st.sets(st.sampled_from(NAMES)),
    behavior=st.sampled_from(list(NoHealthyBackendsBehavior)),
    index=st.integers(min_value=0, max_value=49),
)
def test_choice_respects_admin_state_health_and_behavior(
    admin: dict[str, AdminState],
    healthy: set[str],
    behavior: NoHealthyBackendsBehavior,
    index: int,
) -> None:
    lb = make_lb(5, admin=admin, behavior=behavior, table_size=251)
    flow = random_flows(50)[index]
    result = choose(lb, lb.rule("rule"), flow, frozenset(healthy))
    not_down = {n for n in NAMES if admin[n] is not AdminState.DOWN}
    eligible = {n for n in not_down if admin[n] is AdminState.UP or n in healthy}
    if eligible:
        assert isinstance(result, Chosen)
        assert result.backend in eligible
        assert result.reason is not SelectReason.FAIL_OPEN
    elif not not_down:
        assert result == Dropped(reason=DropReason.ALL_ADMIN_DOWN)
    elif behavior is NoHealthyBackendsBehavior.ALL_PROBED_UP:
        assert isinstance(result, Chosen)
        assert result.backend in not_down
        assert result.reason is SelectReason.FAIL_OPEN
    else:
        assert result == Dropped(reason=DropReason.NO_HEALTHY_BACKEND)


def test_choice_explains_itself() -> None:
    lb = make_lb(3, table_size=251)
    rule = lb.rule("rule")
    everyone = frozenset({"nva0", "nva1", "nva2"})
    flow = random_flows(1)[0]
    first = choose(lb, rule, flow, everyone)
    assert isinstance(first, Chosen)
    assert first.reason is SelectReason.HASHED
    assert first.hash_inputs == flow_hash(flow).inputs
    assert first.hash_value == flow_hash(flow).value
    assert MaglevMap(["nva0", "nva1", "nva2"], size=251).lookup(first.hash_value) == first.backend
    assert str(first.ip) == f"10.0.2.{10 + int(first.backend[-1])}"
    second = choose(lb, rule, flow, everyone - {first.backend})
    assert isinstance(second, Chosen)
    assert second.reason is SelectReason.REHASHED
    assert second.backend != first.backend


@settings(max_examples=100, deadline=None)
@given(src=ipv6, dst=ipv6, sport=st.integers(0, 65535), dport=st.integers(0, 65535))
def test_ipv6_flows_are_balanced_symmetrically(
    src: ipaddress.IPv6Address, dst: ipaddress.IPv6Address, sport: int, dport: int
) -> None:
    lb = make_lb(4, table_size=251)
    flow = Flow(protocol=IpProtocol.TCP, src_ip=src, src_port=sport, dst_ip=dst, dst_port=dport)
    healthy = frozenset(NAMES[:4])
    a = choose(lb, lb.rule("rule"), flow, healthy)
    b = choose(lb, lb.rule("rule"), flow.reversed(), healthy)
    assert isinstance(a, Chosen)
    assert isinstance(b, Chosen)
    assert a.backend == b.backend

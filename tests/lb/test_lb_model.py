"""Validation and rule matching of the load-balancer model."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest
from lb_builders import FRONTEND_IP, make_lb

from nexthop.lb.model import (
    Backend,
    BackendPool,
    Flow,
    Frontend,
    IpProtocol,
    LoadBalancingRule,
    Probe,
    ProbeProtocol,
    RuleProtocol,
)


def test_a_valid_ha_ports_load_balancer_builds() -> None:
    lb = make_lb(3)
    rule = lb.rule("rule")
    assert rule.ha_ports
    assert rule.idle_timeout == 240.0
    assert lb.pool("pool").names == ("nva0", "nva1", "nva2")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"interval": 2.0}, "Probe.interval"),
        ({"interval": 0.0, "fast_probes": True}, "Probe.interval"),
        ({"probe_threshold": 0}, "Probe.probe_threshold"),
        ({"port": 0}, "Probe.port"),
        ({"protocol": ProbeProtocol.HTTP}, "Probe.path"),
        ({"path": "/x"}, "Probe.path"),
    ],
)
def test_probe_validation_names_the_field(kwargs: dict[str, object], field: str) -> None:
    base: dict[str, object] = {"name": "p", "protocol": ProbeProtocol.TCP, "port": 80}
    with pytest.raises(ValueError, match=f"^{field}:"):
        Probe(**(base | kwargs))  # type: ignore[arg-type]


def test_fast_probes_allow_sub_second_intervals_and_http_timeout_is_capped() -> None:
    p = Probe(
        name="p", protocol=ProbeProtocol.HTTP, port=80, path="/", interval=0.2, fast_probes=True
    )
    assert p.timeout == 0.2
    slow = Probe(name="p", protocol=ProbeProtocol.HTTP, port=80, path="/", interval=60)
    assert slow.timeout == 30.0
    tcp = Probe(name="p", protocol=ProbeProtocol.TCP, port=80, interval=15)
    assert tcp.timeout == 15


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"idle_timeout_minutes": 3}, "LoadBalancingRule.idle_timeout_minutes"),
        ({"idle_timeout_minutes": 101}, "LoadBalancingRule.idle_timeout_minutes"),
        ({"frontend_port": 80}, "LoadBalancingRule.protocol"),
        ({"protocol": RuleProtocol.TCP}, "LoadBalancingRule.frontend_port"),
        ({"frontend_port": 70000}, "LoadBalancingRule.frontend_port"),
    ],
)
def test_rule_validation_names_the_field(kwargs: dict[str, object], field: str) -> None:
    base: dict[str, object] = {
        "name": "r",
        "frontend": "fe",
        "pool": "pool",
        "probe": "probe",
        "protocol": RuleProtocol.ALL,
        "frontend_port": 0,
        "backend_port": 0,
    }
    with pytest.raises(ValueError, match=f"^{field}:"):
        LoadBalancingRule(**(base | kwargs))  # type: ignore[arg-type]


def test_idle_timeout_bounds_are_inclusive() -> None:
    for minutes in (4, 100):
        r = LoadBalancingRule(
            name="r",
            frontend="fe",
            pool="p",
            probe="x",
            protocol=RuleProtocol.UDP,
            frontend_port=53,
            backend_port=53,
            idle_timeout_minutes=minutes,
        )
        assert r.idle_timeout == minutes * 60


def test_frontend_ip_must_sit_in_its_subnet() -> None:
    with pytest.raises(ValueError, match=r"^Frontend\.ip:"):
        Frontend(
            name="fe",
            ip=ipaddress.ip_address("10.9.0.1"),
            subnet=ipaddress.ip_network("10.0.1.0/24"),
        )


def test_pool_rejects_duplicate_members() -> None:
    b = Backend(name="a", ip=ipaddress.ip_address("10.0.0.1"))
    with pytest.raises(ValueError, match=r"^BackendPool\.backends:"):
        BackendPool(name="p", backends=(b, b))
    with pytest.raises(ValueError, match=r"^BackendPool\.backends:.*IPs"):
        BackendPool(name="p", backends=(b, dataclasses.replace(b, name="b")))


def test_load_balancer_checks_references_table_size_and_ha_ports_exclusivity() -> None:
    lb = make_lb(2)
    bad_rule = dataclasses.replace(lb.rule("rule"), pool="nope")
    with pytest.raises(ValueError, match=r"^LoadBalancer\.rules:.*unknown pool 'nope'"):
        dataclasses.replace(lb, rules=(bad_rule,))
    with pytest.raises(ValueError, match=r"^LoadBalancer\.table_size:"):
        dataclasses.replace(lb, table_size=4096)
    extra = LoadBalancingRule(
        name="web",
        frontend="fe",
        pool="pool",
        probe="probe",
        protocol=RuleProtocol.TCP,
        frontend_port=80,
        backend_port=80,
    )
    with pytest.raises(ValueError, match=r"^LoadBalancer\.rules:.*HA ports"):
        dataclasses.replace(lb, rules=(lb.rule("rule"), extra))
    floating = dataclasses.replace(lb.rule("rule"), floating_ip=True)
    ok = dataclasses.replace(lb, rules=(floating, extra))
    assert [r.name for r in ok.rules] == ["rule", "web"]


def test_rule_matching_by_frontend_address_and_as_next_hop() -> None:
    lb = make_lb(2, ha_ports=False)  # TCP 80 only
    to_fe = Flow.of(IpProtocol.TCP, "10.1.0.1", 40000, FRONTEND_IP, 80)
    assert lb.match(to_fe) is lb.rule("rule")
    assert lb.match(Flow.of(IpProtocol.TCP, "10.1.0.1", 40000, FRONTEND_IP, 81)) is None
    assert lb.match(Flow.of(IpProtocol.UDP, "10.1.0.1", 40000, FRONTEND_IP, 80)) is None
    ha = make_lb(2)
    routed = Flow.of(IpProtocol.UDP, "10.1.0.1", 5000, "192.168.7.7", 53)
    assert ha.match(routed) is None  # not addressed to the frontend
    assert ha.match(routed, via_frontend="fe") is ha.rule("rule")
    icmp = Flow.of(IpProtocol.ICMP, "10.1.0.1", 0, FRONTEND_IP, 0)
    assert ha.match(icmp) is None  # HA ports balances TCP and UDP flows


def test_flow_rejects_mixed_ip_versions_and_reverses() -> None:
    with pytest.raises(ValueError, match=r"^Flow\.dst_ip:"):
        Flow.of(IpProtocol.TCP, "10.0.0.1", 1, "::1", 2)
    f = Flow.of(IpProtocol.TCP, "10.0.0.1", 1, "10.0.0.2", 2)
    assert f.reversed().reversed() == f
    assert f.reversed().src_port == 2

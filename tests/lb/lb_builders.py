"""Small builders shared by the load-balancer tests."""

from __future__ import annotations

import ipaddress
import random

from nexthop.lb.model import (
    AdminState,
    Backend,
    BackendPool,
    DistributionMode,
    Flow,
    Frontend,
    IpProtocol,
    LoadBalancer,
    LoadBalancingRule,
    NoHealthyBackendsBehavior,
    Probe,
    ProbeProtocol,
    RuleProtocol,
)

FRONTEND_IP = "10.0.1.100"
SMALL_TABLE = 4093  # prime, > 100 x N for the pool sizes used in tests


def backends(n: int, *, admin: dict[str, AdminState] | None = None) -> tuple[Backend, ...]:
    admin = admin or {}
    return tuple(
        Backend(
            name=f"nva{i}",
            ip=ipaddress.ip_address(f"10.0.2.{10 + i}"),
            admin_state=admin.get(f"nva{i}", AdminState.NONE),
        )
        for i in range(n)
    )


def make_lb(
    n: int = 3,
    *,
    probe_protocol: ProbeProtocol = ProbeProtocol.TCP,
    threshold: int = 1,
    interval: float = 5.0,
    behavior: NoHealthyBackendsBehavior = NoHealthyBackendsBehavior.ALL_PROBED_DOWN,
    ha_ports: bool = True,
    floating_ip: bool = False,
    symmetric: bool = True,
    mode: DistributionMode = DistributionMode.DEFAULT,
    idle_minutes: int = 4,
    admin: dict[str, AdminState] | None = None,
    table_size: int = SMALL_TABLE,
) -> LoadBalancer:
    path = None if probe_protocol is ProbeProtocol.TCP else "/health"
    probe = Probe(
        name="probe",
        protocol=probe_protocol,
        port=8080,
        path=path,
        interval=interval,
        probe_threshold=threshold,
        fast_probes=interval < 5,
        no_healthy_backends_behavior=behavior,
    )
    rule = LoadBalancingRule(
        name="rule",
        frontend="fe",
        pool="pool",
        probe="probe",
        protocol=RuleProtocol.ALL if ha_ports else RuleProtocol.TCP,
        frontend_port=0 if ha_ports else 80,
        backend_port=0 if ha_ports else 8000,
        floating_ip=floating_ip,
        idle_timeout_minutes=idle_minutes,
        distribution_mode=mode,
        symmetric_hash=symmetric,
    )
    return LoadBalancer(
        name="ilb",
        region="westeurope",
        frontends=(
            Frontend(
                name="fe",
                ip=ipaddress.ip_address(FRONTEND_IP),
                subnet=ipaddress.ip_network("10.0.1.0/24"),
            ),
        ),
        pools=(BackendPool(name="pool", backends=backends(n, admin=admin)),),
        probes=(probe,),
        rules=(rule,),
        table_size=table_size,
    )


def random_flows(count: int, *, seed: int = 1, protocol: int = IpProtocol.TCP) -> list[Flow]:
    """Client (10.1/16) to server (10.2/16) flows with random ports."""
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        out.append(
            Flow(
                protocol=protocol,
                src_ip=ipaddress.ip_address(0x0A010000 + rnd.randrange(1 << 16)),
                src_port=rnd.randrange(1024, 65536),
                dst_ip=ipaddress.ip_address(0x0A020000 + rnd.randrange(1 << 16)),
                dst_port=rnd.choice((22, 53, 80, 443, 8443)),
            )
        )
    return out

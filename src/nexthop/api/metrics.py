"""``/metrics``: Prometheus gauges read from the control plane on each scrape,
and the live runtime's event-loop lag (``nexthop.runtime.loop_lag``).

A fresh registry per scrape keeps the values exactly the current state (no stale
label sets after a peering or backend is deleted).
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric

from nexthop.api.deps import ControlPlaneDep
from nexthop.runtime.loop_lag import LAG_BUCKETS, running_monitors

__all__ = ["router"]

router = APIRouter(tags=["metrics"])


class _LoopLag:
    """The running event loop's lag histogram and longest recent turn
    (``nexthop.runtime.loop_lag``); nothing while no live runtime runs."""

    def collect(self) -> list[Metric]:
        monitors = running_monitors()
        if not monitors:
            return []
        lag = HistogramMetricFamily(
            "nexthop_event_loop_lag_seconds",
            "How late a periodic event-loop callback ran",
            labels=["loop"],
        )
        turn = GaugeMetricFamily(
            "nexthop_event_loop_longest_turn_seconds",
            "The longest event-loop turn of the last 10 s",
            labels=["loop"],
        )
        for monitor in monitors:
            snap = monitor.snapshot()
            bounds = [(str(b), c) for b, c in zip(LAG_BUCKETS, snap.buckets, strict=True)]
            lag.add_metric([monitor.name], [*bounds, ("+Inf", snap.count)], snap.total)
            turn.add_metric([monitor.name], snap.longest_turn)
        return [lag, turn]


def _scrape(cp: ControlPlaneDep) -> bytes:
    registry = CollectorRegistry()
    registry.register(_LoopLag())
    labels = ["routeserver", "peering", "instance"]
    state = Gauge(
        "nexthop_peering_established",
        "1 if the BGP session is Established",
        labels,
        registry=registry,
    )
    learned = Gauge(
        "nexthop_routes_learned", "Routes accepted from the peer", labels, registry=registry
    )
    advertised = Gauge(
        "nexthop_routes_advertised", "Routes advertised to the peer", labels, registry=registry
    )
    not_sent = Gauge(
        "nexthop_routes_not_sent",
        "Announcements not sent to the peer: too large for its maximum UPDATE size"
        " (RFC 4271 9.2, RFC 8654 4)",
        labels,
        registry=registry,
    )
    bfd_up = Gauge(
        "nexthop_bfd_up",
        "1 if the peering's BFD session is Up (only peerings configured with BFD)",
        labels,
        registry=registry,
    )
    health = Gauge(
        "nexthop_backend_up",
        "1 if the load balancer sends new flows to the backend",
        ["loadbalancer", "rule", "backend"],
        registry=registry,
    )
    topology = cp.topology
    if topology is not None:
        for rs in topology.route_servers:
            for p in rs.peerings:
                for role, s in cp.routeserver_peering(rs.name, p.name)["instances"].items():
                    key = (rs.name, p.name, role)
                    state.labels(*key).set(1 if s["state"] == "Established" else 0)
                    learned.labels(*key).set(s["accepted_routes"])
                    advertised.labels(*key).set(s["advertised_routes"])
                    not_sent.labels(*key).set(s["routes_not_sent"])
                    if s.get("bfd") is not None:
                        bfd_up.labels(*key).set(1 if s["bfd"]["state"] == "Up" else 0)
        for lb in topology.load_balancers:
            for rule in cp.backend_health(lb.name)["loadBalancingRules"]:
                for row in rule["loadBalancerBackendAddresses"]:
                    health.labels(lb.name, rule["rule"], row["name"]).set(
                        1 if row["state"] == "Up" else 0
                    )
    return generate_latest(registry)


@router.get("/metrics", include_in_schema=False)
def metrics(cp: ControlPlaneDep) -> Response:
    return Response(content=_scrape(cp), media_type=CONTENT_TYPE_LATEST)

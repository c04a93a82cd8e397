"""Active/passive failover in the model, timed on the model clock.

The sequence (route-server-spec §1.8 "Active/passive", §3 "Active/passive NVA via
ILB"): the active NVA dies; its heartbeats stop, so the standby's dead timer
(heartbeat interval x dead count, ``nexthop.lb.ha``) expires and it promotes itself;
only then does its probe responder answer, and the load balancer marks it up after
``probe_threshold`` consecutive successes; the dead NVA is marked down after as many
probe timeouts. New flows then go to the standby. The BGP route does not move: both
NVAs advertise the load balancer frontend as next hop, so "failover speed = LB probe
speed, not BGP hold time" (§1.8 design note).

``measure_failover`` kills an NVA and steps a ``ManualClock`` from deadline to
deadline, tracing fresh flows (new source ports, so no pinned TCP flow hides the
result) after each, and reports when the first one succeeds through the standby.

``failover_window`` bounds that time from the configured timers. With heartbeat
interval ``h``, dead count ``k`` (``D = h*k``), probe interval ``p`` and threshold
``n``, killed at ``t0``:

* the standby heard its last heartbeat in ``(t0 - h, t0]``, so it promotes in
  ``(t0 + D - h, t0 + D]``;
* its next probe comes at most ``p`` later and ``n - 1`` more are needed, so it is
  marked up within ``[promote + (n-1)p, promote + np]``;
* a fresh flow may still hash to the dead NVA until that one is marked down, at most
  ``(n+1)p`` after ``t0`` (the first probe it misses is sent within ``p``, each
  timeout takes ``p``).

Hence ``D - h + (n-1)p <= failover <= D + (n+1)p``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nexthop.clock import ManualClock
from nexthop.world.model import WorldError
from nexthop.world.trace import trace

if TYPE_CHECKING:
    from nexthop.world.build import World

__all__ = ["FailoverResult", "failover_window", "measure_failover", "standby_of"]

_FIRST_PORT = 20000


@dataclass(frozen=True, slots=True, kw_only=True)
class FailoverResult:
    failed: str
    standby: str | None
    killed_at: float
    promoted_at: float | None
    standby_up_at: float | None
    failed_down_at: float | None
    first_success_at: float | None
    traces: int

    @property
    def failover_time(self) -> float | None:
        """Kill to the first new flow delivered through the standby (model seconds)."""
        if self.first_success_at is None:
            return None
        return self.first_success_at - self.killed_at

    def to_dict(self) -> dict[str, object]:
        return {
            "failed": self.failed,
            "standby": self.standby,
            "killed_at": self.killed_at,
            "promoted_at": self.promoted_at,
            "standby_up_at": self.standby_up_at,
            "failed_down_at": self.failed_down_at,
            "first_success_at": self.first_success_at,
            "failover_time": self.failover_time,
            "traces": self.traces,
        }


def standby_of(world: World, name: str) -> str | None:
    """The NVA whose heartbeat names ``name`` (its HA peer), if any."""
    for nva in world.topology.nvas:
        heartbeat = nva.ha.heartbeat
        if nva.name != name and heartbeat is not None and heartbeat.peer == name:
            return nva.name
    return None


def failover_window(world: World, failed: str) -> tuple[float, float]:
    """``(earliest, latest)`` failover time for killing ``failed`` (module docstring)."""
    standby = standby_of(world, failed)
    node = None if standby is None else world.nva(standby)
    if node is None or node.ha is None:
        raise WorldError(f"{failed!r} has no HA standby")
    lbs = world.lbs_for([failed, node.name])
    if not lbs:
        raise WorldError(f"no load balancer fronts {failed!r}")
    probe = lbs[0].engine.lb.probes[0]
    h, dead = node.ha.config.interval, node.ha.config.dead_interval
    p, n = probe.interval, probe.probe_threshold
    return dead - h + (n - 1) * p, dead + (n + 1) * p


def _first_event(world: World, kind: str, subject: str | None, after: float) -> float | None:
    if subject is None:
        return None
    return next(
        (e.at for e in world.events if e.kind == kind and e.at >= after and e.subject == subject),
        None,
    )


def measure_failover(
    world: World,
    clock: ManualClock,
    failed: str,
    *,
    source: str,
    destination_ip: str,
    flows_per_step: int = 8,
    max_time: float = 300.0,
) -> FailoverResult:
    """Kill ``failed`` at ``clock.now()`` and time the failover to its standby."""
    standby = standby_of(world, failed)
    killed = clock.now()
    world.fail_nva(failed, killed)
    port = _FIRST_PORT
    traces = 0
    first: float | None = None
    while first is None:
        deadline = world.next_deadline()
        if deadline is None or deadline - killed > max_time:
            break
        clock.advance(max(0.0, deadline - clock.now()))
        now = clock.now()
        world.advance(now)
        for _ in range(flows_per_step):
            port += 1
            traces += 1
            result = trace(world, source, destination_ip, src_port=port, now=now)
            via = result.forward.nva
            if result.ok and via is not None and via != failed and (standby in (None, via)):
                first = now
                break
    return FailoverResult(
        failed=failed,
        standby=standby,
        killed_at=killed,
        promoted_at=None
        if standby is None
        else _first_event(world, "became_active", standby, killed),
        standby_up_at=None
        if standby is None
        else _first_event(world, "backend_up", standby, killed),
        failed_down_at=_first_event(world, "backend_down", failed, killed),
        first_success_at=first,
        traces=traces,
    )

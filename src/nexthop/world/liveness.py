"""Model time: HA heartbeats, load balancer probes and BGP hold timers on one clock.

Everything is driven by ``advance(world, now)``, which repeatedly takes the earliest
deadline among the HA nodes (``HaNode.next_deadline``), the load balancer engines
(``LoadBalancerEngine.next_deadline``) and the world's own pending results, and
handles it at that time, so results do not depend on how the caller steps the clock.

Probe answers (route-server-spec §3, PROBE): an NVA that is up and whose responder
matches the probe answers at once (success); a closed port answers at once with a
refusal (TCP RST) and a standby's HTTP responder with a non-200 status, both
failures; a dead NVA does not answer, so the failure is only known when the probe
times out (``Probe.timeout``: the interval for TCP). Heartbeats travel with no
delay between two live nodes (``nexthop.lb.ha``). At one instant, HA timers are
handled before probes, so a probe sent at the moment of a promotion sees the new
active node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nexthop.lb import (
    BackendMarkedDown,
    BackendMarkedUp,
    BecameActive,
    BecameStandby,
    FailureKind,
    HeartbeatReceived,
    LoadBalancerEngine,
    ProbeOutcome,
    ProbeProtocol,
    ProbeTask,
    SendHeartbeat,
)
from nexthop.lb.ha import HaOutput, Start, Stop
from nexthop.world import bgp_model

if TYPE_CHECKING:
    from nexthop.world.build import World
    from nexthop.world.model import NvaNode

__all__ = [
    "Pending",
    "advance",
    "fail",
    "next_deadline",
    "probe_outcome",
    "restore",
    "schedule_bgp_down",
    "start",
]

_MAX_STEPS = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Pending:
    """A probe result known only at ``at`` (a timeout), or a BGP hold-timer expiry."""

    at: float
    lb: str = ""
    task: ProbeTask | None = None
    outcome: ProbeOutcome | None = None
    bgp_down: str = ""


def probe_outcome(world: World, backend: str, task: ProbeTask) -> ProbeOutcome | None:
    """What ``backend`` answers to ``task`` now; None when it does not answer at all."""
    node = world.nvas.get(backend)
    if node is None:
        return ProbeOutcome(success=True)  # a VM backend: its service is assumed up
    if not node.up:
        return None
    if node.probe_port is None or node.probe_port != task.port:
        return ProbeOutcome(
            success=False, kind=FailureKind.REFUSED, detail=f"nothing listens on {task.port}"
        )
    http = task.protocol is not ProbeProtocol.TCP
    if node.probe_when_active and not node.answers_probe:
        if http:
            return ProbeOutcome(
                success=False, kind=FailureKind.HTTP_STATUS, detail="503 from a standby"
            )
        return ProbeOutcome(
            success=False, kind=FailureKind.REFUSED, detail="standby: probe port closed"
        )
    if http and node.probe_path is not None and node.probe_path != task.path:
        return ProbeOutcome(success=False, kind=FailureKind.HTTP_STATUS, detail="404")
    return ProbeOutcome(success=True)


def _log_health(world: World, lb: str, events: list[BackendMarkedUp | BackendMarkedDown]) -> None:
    for event in events:
        if isinstance(event, BackendMarkedUp):
            world.record(event.at, "backend_up", event.backend, f"{lb}: {event.reason.value}")
        else:
            world.record(event.at, "backend_down", event.backend, f"{lb}: {event.reason.value}")


def _run_probes(world: World, lb: str, engine: LoadBalancerEngine, now: float) -> None:
    for task in engine.due_probes(now):
        outcome = probe_outcome(world, task.backend, task)
        if outcome is None:
            world.pending.append(
                Pending(
                    at=now + task.timeout,
                    lb=lb,
                    task=task,
                    outcome=ProbeOutcome(
                        success=False, kind=FailureKind.TIMEOUT, detail="no answer"
                    ),
                )
            )
            continue
        _log_health(world, lb, engine.record_probe(task, outcome, now))


def _deliver(world: World, outputs: list[HaOutput], now: float) -> None:
    """Carry heartbeats to the peer (if both are alive) and log elections."""
    queue = list(outputs)
    while queue:
        output = queue.pop(0)
        match output:
            case SendHeartbeat(sender=sender):
                source = world.nva(sender)
                peer = world.nvas.get(source.ha_peer or "")
                if source.up and peer is not None and peer.up and peer.ha is not None:
                    queue += peer.ha.handle(HeartbeatReceived.of(output, now))
            case BecameActive(node=name):
                world.record(now, "became_active", name, output.reason.value)
            case BecameStandby(node=name):
                world.record(now, "became_standby", name, output.reason.value)
            case _:
                pass


def start(world: World, now: float) -> None:
    """Start every HA node, let the pairs elect, then give each load balancer its
    first verdicts: ``threshold`` probe rounds at ``now``, so the world starts settled."""
    for node in world.nvas.values():
        if node.ha is not None:
            _deliver(world, node.ha.handle(Start(now=now)), now)
    settle_probes(world, now)


def settle_probes(world: World, now: float) -> None:
    """Give each load balancer ``threshold`` probe rounds at ``now``, answered as
    the model says the backends would (``probe_outcome``): the health of a world
    whose probes are not run for real (``nexthop serve --no-probes``)."""
    for lb in world.load_balancers.values():
        engine = lb.engine
        for probe in engine.lb.probes:
            for _ in range(probe.probe_threshold):
                for rule in engine.lb.rules:
                    if rule.probe != probe.name:
                        continue
                    for backend in engine.lb.pool(rule.pool).backends:
                        task = ProbeTask(
                            probe=probe.name,
                            backend=backend.name,
                            ip=backend.ip,
                            port=probe.port,
                            protocol=probe.protocol,
                            path=probe.path,
                            timeout=probe.timeout,
                            started=now,
                        )
                        outcome = probe_outcome(world, backend.name, task)
                        if outcome is not None:
                            events = engine.probe_result(rule.name, backend.name, outcome, now)
                            _log_health(world, lb.name, events)
                    break  # one result per probe round is enough for a shared tracker


def next_deadline(world: World) -> float | None:
    times: list[float] = [p.at for p in world.pending]
    for node in world.nvas.values():
        if node.ha is not None and (deadline := node.ha.next_deadline()) is not None:
            times.append(deadline)
    for lb in world.load_balancers.values():
        if (deadline := lb.engine.next_deadline()) is not None:
            times.append(deadline)
    return min(times, default=None)


def _fire(world: World, at: float) -> None:
    for node in world.nvas.values():
        deadline = None if node.ha is None else node.ha.next_deadline()
        if node.ha is not None and deadline is not None and deadline <= at:
            _deliver(world, node.ha.handle_timer(at), at)
    due = [p for p in world.pending if p.at <= at]
    world.pending = [p for p in world.pending if p.at > at]
    for item in sorted(due, key=lambda p: p.at):
        if item.task is not None and item.outcome is not None:
            engine = world.load_balancers[item.lb].engine
            _log_health(world, item.lb, engine.record_probe(item.task, item.outcome, item.at))
        elif item.bgp_down:
            node = world.nva(item.bgp_down)
            if not node.up:
                bgp_model.sessions_down(world, node, item.at, "hold timer expired")
    for name, lb in world.load_balancers.items():
        _run_probes(world, name, lb.engine, at)


def advance(world: World, now: float) -> None:
    """Handle every deadline up to ``now`` in time order."""
    if now < world.now:
        raise ValueError(f"the model clock cannot go back from {world.now} to {now}")
    for _ in range(_MAX_STEPS):
        deadline = next_deadline(world)
        if deadline is None or deadline > now:
            break
        world.now = max(world.now, deadline)
        _fire(world, world.now)
    else:  # pragma: no cover - a timer that never moves forward
        raise RuntimeError("liveness: too many events without reaching now")
    world.now = now


def fail(world: World, node: NvaNode, now: float) -> None:
    """Stop the NVA: no probe answers, no heartbeats (``HaNode`` Stop)."""
    node.up = False
    world.record(now, "nva_failed", node.name)
    if node.ha is not None:
        _deliver(world, node.ha.handle(Stop(now=now)), now)


def restore(world: World, node: NvaNode, now: float) -> None:
    node.up = True
    world.record(now, "nva_restored", node.name)
    world.pending = [p for p in world.pending if p.bgp_down != node.name]
    if node.ha is not None:
        _deliver(world, node.ha.handle(Start(now=now)), now)


def schedule_bgp_down(world: World, name: str, at: float) -> None:
    world.pending.append(Pending(at=at, bgp_down=name))

"""``LoadBalancerEngine``: one internal load balancer's data and control plane, sans-IO.

It ties the model (``model``), one ``ProbeTracker`` per (probe, pool) pair used by a
rule (``health``), the flow table (``flows``) and backend selection (``selector``):

* ``forward(flow, now)`` returns where a packet goes. A flow-table hit is honoured while
  ``flows.keep_pinned`` says so; otherwise ``selector.choose`` picks a backend and the
  flow is (re)pinned. Destination rewrite follows FIP: with floating IP (or when the
  packet was routed to the frontend as a next hop, NHIP) the destination is kept;
  otherwise it becomes backend IP:backend port.
* ``due_probes`` / ``record_probe`` / ``next_deadline`` are what ``runtime.probes``
  drives (aioquic ``get_timer`` shape).
* ``rule_health`` is shaped like Azure's ``LoadBalancerHealthPerRule`` (``up``,
  ``down``, ``loadBalancerBackendAddresses[{ipAddress, state, reason}]``) and
  ``backend_health`` flattens it into rows with the probe and ``since``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Any

from nexthop.lb.flows import FlowExpired, FlowKey, FlowTable, keep_pinned
from nexthop.lb.health import (
    BackendMarkedDown,
    BackendMarkedUp,
    HealthState,
    ProbeOutcome,
    ProbeTask,
    ProbeTracker,
    ReasonCode,
)
from nexthop.lb.model import (
    AdminState,
    Flow,
    IpAddress,
    LoadBalancer,
    LoadBalancingRule,
)
from nexthop.lb.selector import Chosen, Dropped, DropReason, SelectReason, choose, eligible

__all__ = ["Decision", "FlowState", "Forwarded", "LoadBalancerEngine", "tracker_key"]


class FlowState(Enum):
    NEW = "New"  # first packet: chosen by hash
    ESTABLISHED = "Established"  # flow-table hit
    MOVED = "Moved"  # its backend could no longer serve it; re-chosen


@dataclass(frozen=True, slots=True, kw_only=True)
class Forwarded:
    rule: str
    backend: str
    backend_ip: IpAddress
    dst_ip: IpAddress
    dst_port: int
    flow_state: FlowState
    selection: SelectReason | None
    hash_inputs: tuple[str, ...]


Decision = Forwarded | Dropped
HealthEvent = BackendMarkedUp | BackendMarkedDown


def tracker_key(rule: LoadBalancingRule) -> str:
    return f"{rule.probe}@{rule.pool}"


class LoadBalancerEngine:
    def __init__(
        self,
        lb: LoadBalancer,
        now: float,
        *,
        initial_state: HealthState = HealthState.UNKNOWN,
    ) -> None:
        self.lb = lb
        self.flows = FlowTable()
        self._trackers: dict[str, ProbeTracker] = {}
        # ``initial_state`` seeds the first configuration only; backends and probes
        # added later start Unknown and must pass their probe first.
        self._sync_trackers(now, initial_state)

    # -- configuration ------------------------------------------------------------

    def _sync_trackers(self, now: float, initial: HealthState = HealthState.UNKNOWN) -> None:
        wanted = {tracker_key(r): r for r in self.lb.rules}
        for key in list(self._trackers):
            if key not in wanted:
                del self._trackers[key]
        for key, rule in wanted.items():
            pool = self.lb.pool(rule.pool)
            t = self._trackers.get(key)
            if t is None or t.probe != self.lb.probe(rule.probe):
                self._trackers[key] = ProbeTracker(
                    self.lb.probe(rule.probe),
                    pool.backends,
                    now,
                    name=key,
                    initial_state=initial,
                )
                continue
            names = {b.name for b in pool.backends}
            for gone in set(t.backends) - names:
                t.remove_backend(gone)
            for b in pool.backends:
                if b.name not in t.backends:
                    t.add_backend(b, now, state=initial)

    def reconfigure(self, lb: LoadBalancer, now: float) -> None:
        """Swap in a new configuration; health of kept backends is preserved."""
        self.lb = lb
        self._sync_trackers(now)

    def set_admin_state(self, pool: str, backend: str, state: AdminState, now: float) -> None:
        p = self.lb.pool(pool)
        p.backend(backend)  # KeyError if it is not a member
        members = tuple(
            dataclasses.replace(b, admin_state=state) if b.name == backend else b
            for b in p.backends
        )
        pools = tuple(
            dataclasses.replace(x, backends=members) if x.name == pool else x for x in self.lb.pools
        )
        self.reconfigure(dataclasses.replace(self.lb, pools=pools), now)

    def tracker(self, rule: str) -> ProbeTracker:
        return self._trackers[tracker_key(self.lb.rule(rule))]

    # -- data path ----------------------------------------------------------------

    def forward(self, flow: Flow, now: float, *, via_frontend: str | None = None) -> Decision:
        """Decide where one packet of ``flow`` goes."""
        rule = self.lb.match(flow, via_frontend=via_frontend)
        if rule is None:
            return Dropped(reason=DropReason.NO_RULE)
        pool = self.lb.pool(rule.pool)
        health = self._trackers[tracker_key(rule)].up()
        key = FlowKey.of(rule.name, flow, symmetric=rule.symmetric_hash)
        entry = self.flows.get(key, now)
        if entry is not None:
            member = entry.backend in pool.names
            if keep_pinned(
                flow.protocol,
                member=member,
                serviceable=member and self._serviceable(rule, entry.backend, health),
            ):
                FlowTable.touch(entry, now)
                ip = pool.backend(entry.backend).ip
                return self._forwarded(
                    rule, flow, backend=entry.backend, ip=ip, state=FlowState.ESTABLISHED
                )
        choice = choose(self.lb, rule, flow, health)
        if isinstance(choice, Dropped):
            if entry is not None:
                self.flows.close(key)
            return choice
        self.flows.pin(key, choice.backend, now, rule.idle_timeout)
        state = FlowState.NEW if entry is None else FlowState.MOVED
        return self._chosen(rule, flow, choice, state)

    def _serviceable(self, rule: LoadBalancingRule, backend: str, health: frozenset[str]) -> bool:
        pool = self.lb.pool(rule.pool)
        admin = pool.backend(backend).admin_state
        if admin is not AdminState.NONE:  # admin state overrides the probe (ADMIN)
            return admin is AdminState.UP
        if backend in health:
            return True
        probe = self.lb.probe(rule.probe)
        elig = eligible(pool, health, probe.no_healthy_backends_behavior)
        return elig.fail_open and backend in elig.members

    def _chosen(
        self, rule: LoadBalancingRule, flow: Flow, c: Chosen, state: FlowState
    ) -> Forwarded:
        return self._forwarded(
            rule,
            flow,
            backend=c.backend,
            ip=c.ip,
            state=state,
            selection=c.reason,
            hash_inputs=c.hash_inputs,
        )

    def _forwarded(
        self,
        rule: LoadBalancingRule,
        flow: Flow,
        *,
        backend: str,
        ip: IpAddress,
        state: FlowState,
        selection: SelectReason | None = None,
        hash_inputs: tuple[str, ...] = (),
    ) -> Forwarded:
        fe = self.lb.frontend(rule.frontend)
        rewrite = not rule.floating_ip and flow.dst_ip == fe.ip
        dst_ip = ip if rewrite else flow.dst_ip
        dst_port = rule.backend_port if rewrite and not rule.ha_ports else flow.dst_port
        return Forwarded(
            rule=rule.name,
            backend=backend,
            backend_ip=ip,
            dst_ip=dst_ip,
            dst_port=dst_port,
            flow_state=state,
            selection=selection,
            hash_inputs=hash_inputs,
        )

    def expire_flows(self, now: float) -> list[FlowExpired]:
        return self.flows.expire(now)

    # -- probes -------------------------------------------------------------------

    def due_probes(self, now: float) -> list[ProbeTask]:
        out: list[ProbeTask] = []
        for key in sorted(self._trackers):
            out.extend(self._trackers[key].due_probes(now))
        return out

    def next_deadline(self) -> float | None:
        times = [t.next_deadline() for t in self._trackers.values()]
        return min((t for t in times if t is not None), default=None)

    def record_probe(self, task: ProbeTask, outcome: ProbeOutcome, now: float) -> list[HealthEvent]:
        t = self._trackers.get(task.tracker)
        if t is None or task.backend not in t.backends:
            return []  # configuration changed while the probe was in flight
        return t.record_probe(task, outcome, now)

    def probe_result(
        self, rule: str, backend: str, outcome: ProbeOutcome, now: float
    ) -> list[HealthEvent]:
        """Feed a result for the probe of ``rule`` (tests, lab, external checkers)."""
        return self.tracker(rule).record(
            backend, outcome.success, now, kind=outcome.kind, detail=outcome.detail
        )

    # -- status -------------------------------------------------------------------

    def rule_health(self, rule: str) -> dict[str, Any]:
        """Azure ``LoadBalancerHealthPerRule``-shaped status for one rule."""
        r = self.lb.rule(rule)
        pool = self.lb.pool(r.pool)
        t = self._trackers[tracker_key(r)]
        health = t.up()
        elig = eligible(pool, health, self.lb.probe(r.probe).no_healthy_backends_behavior)
        rows: list[dict[str, Any]] = []
        for b in sorted(pool.backends, key=lambda x: x.name):
            st = t.status(b.name)
            up = st.state is HealthState.UP
            reason = st.reason
            if b.admin_state is AdminState.DOWN:
                up, reason = False, ReasonCode.DOWN_ADMIN
            elif b.admin_state is AdminState.UP:
                up, reason = True, ReasonCode.UP_ADMIN
            elif elig.fail_open:
                up, reason = True, ReasonCode.UP_PROBE_ALL_DOWN_IS_UP
            rows.append(
                {
                    "name": b.name,
                    "ipAddress": str(b.ip),
                    "state": "Up" if up else "Down",
                    "reason": reason.value,
                    "probeState": st.state.value,
                    "adminState": b.admin_state.value,
                    "since": st.since,
                    "detail": st.detail,
                }
            )
        n_up = sum(1 for row in rows if row["state"] == "Up")
        return {
            "rule": r.name,
            "frontend": r.frontend,
            "pool": r.pool,
            "probe": r.probe,
            "up": n_up,
            "down": len(rows) - n_up,
            "loadBalancerBackendAddresses": rows,
        }

    def backend_health(self) -> list[dict[str, Any]]:
        """One row per (rule, backend): rule, probe, backend, IP, state, reason, since."""
        out: list[dict[str, Any]] = []
        for r in self.lb.rules:
            per_rule = self.rule_health(r.name)
            for row in per_rule["loadBalancerBackendAddresses"]:
                out.append({"rule": r.name, "probe": r.probe, "pool": r.pool, **row})
        return out

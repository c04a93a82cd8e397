"""Health-probe bookkeeping for one probe over a set of backends (sans-IO).

Rules (route-server-spec §3, PROBE / PROBEAPI):

* A backend starts ``Unknown`` (not eligible for new flows) and is probed at once. A
  tracker built with ``initial_state=Up`` (lab start-up) does not count that as a
  mark-up for the flap rule below.
* ``probe_threshold`` consecutive successes mark it Up; as many consecutive failures
  (timeouts, refused connections) mark it Down.
* An explicit HTTP answer decides at once: non-200 marks Down immediately and 200 marks
  Up immediately (subject to the hysteresis below); "the threshold only applies to
  timeouts". The runtime reports a non-200 as a failure with ``FailureKind.HTTP_STATUS``.
* Hysteresis (our reading of "if the health probe fluctuates, the load balancer waits
  longer before it puts the backend endpoint back in the healthy state"; Azure does not
  publish the rule): a backend that goes Down within ``FLAP_WINDOW_PROBES`` probe
  intervals of its last mark-up is flapping; each such flap doubles the number of
  consecutive successes needed to come back (x2, x4, x8 at most). Staying Up for a whole
  window before going Down resets the penalty.

The edge asks ``due(now)`` (or ``due_probes(now)``) what to probe, reports with
``record(...)`` and re-arms one timer at ``next_deadline()`` (aioquic ``get_timer``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from nexthop.lb.model import Backend, IpAddress, Probe, ProbeProtocol

__all__ = [
    "FLAP_WINDOW_PROBES",
    "MAX_FLAP_PENALTY",
    "BackendMarkedDown",
    "BackendMarkedUp",
    "BackendStatus",
    "FailureKind",
    "HealthState",
    "ProbeOutcome",
    "ProbeTask",
    "ProbeTracker",
    "ReasonCode",
]

FLAP_WINDOW_PROBES = 10
"""Down within this many intervals of the last mark-up counts as a flap."""
MAX_FLAP_PENALTY = 3
"""At most 2**3 = 8 times the normal number of successes to come back."""


class HealthState(Enum):
    UNKNOWN = "Unknown"
    UP = "Up"
    DOWN = "Down"


class FailureKind(Enum):
    TIMEOUT = "Timeout"
    REFUSED = "Refused"  # TCP RST / connection refused
    HTTP_STATUS = "HttpStatus"  # an explicit non-200 answer
    ERROR = "Error"  # anything else (TLS failure, malformed answer, unreachable)


class ReasonCode(Enum):
    """Health-status reason codes.

    The ``Up_*`` values and ``Down_Admin`` follow Azure's documented health-status codes
    (learn.microsoft.com load-balancer-manage-health-status); the probe-failure ``Down_*``
    values are this project's names in the same pattern **[unconfirmed]**.
    """

    UP_PROBE_SUCCESS = "Up_Probe_Success"
    UP_PROBE_APPROACHING_UNHEALTHY = "Up_Probe_ApproachingUnhealthyThreshold"
    UP_PROBE_ALL_DOWN_IS_UP = "Up_Probe_AllDownIsUp"
    UP_ADMIN = "Up_Admin"
    DOWN_ADMIN = "Down_Admin"
    DOWN_PROBE_NOT_PROBED = "Down_Probe_NotYetProbed"
    DOWN_PROBE_APPROACHING_HEALTHY = "Down_Probe_ApproachingHealthyThreshold"
    DOWN_PROBE_TIMEOUT = "Down_Probe_Timeout"
    DOWN_PROBE_REFUSED = "Down_Probe_ConnectionRefused"
    DOWN_PROBE_HTTP_STATUS = "Down_Probe_HttpStatusCodeError"
    DOWN_PROBE_ERROR = "Down_Probe_Error"


_FAILURE_REASON = {
    FailureKind.TIMEOUT: ReasonCode.DOWN_PROBE_TIMEOUT,
    FailureKind.REFUSED: ReasonCode.DOWN_PROBE_REFUSED,
    FailureKind.HTTP_STATUS: ReasonCode.DOWN_PROBE_HTTP_STATUS,
    FailureKind.ERROR: ReasonCode.DOWN_PROBE_ERROR,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class BackendMarkedUp:
    probe: str
    backend: str
    at: float
    reason: ReasonCode


@dataclass(frozen=True, slots=True, kw_only=True)
class BackendMarkedDown:
    probe: str
    backend: str
    at: float
    reason: ReasonCode
    kind: FailureKind
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeTask:
    """One probe the edge must run now; hand it back with the outcome."""

    probe: str
    backend: str
    ip: IpAddress
    port: int
    protocol: ProbeProtocol
    path: str | None
    timeout: float
    started: float
    tracker: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeOutcome:
    """What the edge observed: success, or a failure with its kind and detail."""

    success: bool
    kind: FailureKind | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BackendStatus:
    backend: str
    ip: IpAddress
    state: HealthState
    since: float
    reason: ReasonCode
    detail: str
    consecutive_successes: int
    consecutive_failures: int
    flap_penalty: int


@dataclass(slots=True)
class _Entry:
    ip: IpAddress
    state: HealthState
    since: float
    reason: ReasonCode
    next_at: float
    detail: str = ""
    successes: int = 0
    failures: int = 0
    in_flight: bool = False
    penalty: int = 0
    last_up_at: float | None = None


Event = BackendMarkedUp | BackendMarkedDown


class ProbeTracker:
    """Probe schedule and Up/Down state for one probe over a set of backends."""

    def __init__(
        self,
        probe: Probe,
        backends: Sequence[Backend],
        now: float,
        *,
        name: str = "",
        initial_state: HealthState = HealthState.UNKNOWN,
    ) -> None:
        self.probe = probe
        self.name = name or probe.name
        self._initial = initial_state
        self._entries: dict[str, _Entry] = {}
        for b in backends:
            self.add_backend(b, now)

    # -- membership ---------------------------------------------------------------

    def add_backend(
        self, backend: Backend, now: float, *, state: HealthState | None = None
    ) -> None:
        """Track a backend; it starts in ``state`` (default: the tracker's initial state)."""
        if backend.name in self._entries:
            raise ValueError(f"ProbeTracker.backends: {backend.name!r} is already tracked")
        state = state or self._initial
        reason = (
            ReasonCode.UP_PROBE_SUCCESS
            if state is HealthState.UP
            else ReasonCode.DOWN_PROBE_NOT_PROBED
        )
        self._entries[backend.name] = _Entry(
            ip=backend.ip,
            state=state,
            since=now,
            reason=reason,
            next_at=now,
        )

    def remove_backend(self, name: str) -> None:
        del self._entries[name]

    @property
    def backends(self) -> tuple[str, ...]:
        return tuple(sorted(self._entries))

    # -- schedule -----------------------------------------------------------------

    def due(self, now: float) -> list[str]:
        """Backends to probe now; each is in flight until its result is recorded."""
        out: list[str] = []
        for name in sorted(self._entries):
            e = self._entries[name]
            if not e.in_flight and e.next_at <= now:
                e.in_flight = True
                e.next_at = now + self.probe.interval
                out.append(name)
        return out

    def due_probes(self, now: float) -> list[ProbeTask]:
        """``due`` with everything the edge needs to run each probe."""
        p = self.probe
        return [
            ProbeTask(
                probe=p.name,
                backend=name,
                ip=self._entries[name].ip,
                port=p.port,
                protocol=p.protocol,
                path=p.path,
                timeout=p.timeout,
                started=now,
                tracker=self.name,
            )
            for name in self.due(now)
        ]

    def next_deadline(self) -> float | None:
        """Earliest time a backend that is not in flight is due, or None."""
        times = [e.next_at for e in self._entries.values() if not e.in_flight]
        return min(times) if times else None

    # -- results ------------------------------------------------------------------

    def record_probe(self, task: ProbeTask, outcome: ProbeOutcome, now: float) -> list[Event]:
        return self.record(
            task.backend, outcome.success, now, kind=outcome.kind, detail=outcome.detail
        )

    def record(
        self,
        backend: str,
        success: bool,
        now: float,
        *,
        kind: FailureKind | None = None,
        detail: str = "",
    ) -> list[Event]:
        """Feed one probe result; returns the state changes it caused."""
        e = self._entries[backend]
        e.in_flight = False
        if success:
            return self._success(backend, e, now)
        return self._failure(backend, e, now, kind or FailureKind.TIMEOUT, detail)

    def _http(self) -> bool:
        return self.probe.protocol is not ProbeProtocol.TCP

    def successes_needed(self, backend: str) -> int:
        """Consecutive successes the backend needs to be marked Up (with hysteresis)."""
        base = 1 if self._http() else self.probe.probe_threshold
        return base << self._entries[backend].penalty

    def _success(self, backend: str, e: _Entry, now: float) -> list[Event]:
        e.failures = 0
        e.successes += 1
        e.detail = ""
        if e.state is HealthState.UP:
            e.reason = ReasonCode.UP_PROBE_SUCCESS
            return []
        if e.successes < self.successes_needed(backend):
            e.reason = ReasonCode.DOWN_PROBE_APPROACHING_HEALTHY
            return []
        e.state, e.since, e.last_up_at = HealthState.UP, now, now
        e.reason = ReasonCode.UP_PROBE_SUCCESS
        return [BackendMarkedUp(probe=self.probe.name, backend=backend, at=now, reason=e.reason)]

    def _failure(
        self, backend: str, e: _Entry, now: float, kind: FailureKind, detail: str
    ) -> list[Event]:
        e.successes = 0
        e.failures += 1
        e.detail = detail
        immediate = kind is FailureKind.HTTP_STATUS
        if e.state is HealthState.DOWN:
            e.reason = _FAILURE_REASON[kind]
            return []
        if not immediate and e.failures < self.probe.probe_threshold:
            if e.state is HealthState.UP:
                e.reason = ReasonCode.UP_PROBE_APPROACHING_UNHEALTHY
            return []
        if e.state is HealthState.UP and e.last_up_at is not None:
            window = FLAP_WINDOW_PROBES * self.probe.interval
            if now - e.last_up_at < window:
                e.penalty = min(e.penalty + 1, MAX_FLAP_PENALTY)
            else:
                e.penalty = 0
        e.state, e.since = HealthState.DOWN, now
        e.reason = _FAILURE_REASON[kind]
        return [
            BackendMarkedDown(
                probe=self.probe.name,
                backend=backend,
                at=now,
                reason=e.reason,
                kind=kind,
                detail=detail,
            )
        ]

    # -- queries ------------------------------------------------------------------

    def is_up(self, backend: str) -> bool:
        return self._entries[backend].state is HealthState.UP

    def up(self) -> frozenset[str]:
        return frozenset(n for n, e in self._entries.items() if e.state is HealthState.UP)

    def status(self, backend: str) -> BackendStatus:
        e = self._entries[backend]
        return BackendStatus(
            backend=backend,
            ip=e.ip,
            state=e.state,
            since=e.since,
            reason=e.reason,
            detail=e.detail,
            consecutive_successes=e.successes,
            consecutive_failures=e.failures,
            flap_penalty=e.penalty,
        )

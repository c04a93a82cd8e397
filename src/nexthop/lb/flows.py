"""Flow table (connection tracking) for the load balancer.

The consistent hash is only the backstop; the flow table is "the primary means of
protection" for established connections (Maglev §5.3, load-balancing-notes §0). Affinity
rules follow Azure Standard LB (route-server-spec §3, PROBE):

* An established **TCP** flow stays pinned to its backend while the backend is up and
  also after it is probed down ("Established TCP flows to the down instance continue"),
  until the idle timeout or an explicit close.
* An established **UDP** flow moves to a healthy backend when its backend is probed
  down ("Existing UDP flows move to another healthy instance").
* Admin state overrides the probe (ADMIN, admin-state-overview): ``Down`` behaves like a
  probe-down (no new flows; TCP stays pinned, UDP moves), ``Up`` like a probe-up (new
  flows allowed, existing flows of both protocols stay).
* A recovered backend gets only new flows: entries already moved elsewhere stay put.
* Flows idle for the rule's idle timeout expire; we apply it to UDP flows too (Azure
  says the configured timeout is "not applied to UDP rules" and does not publish the UDP
  value, so this is a simplification).

Keys are canonical (endpoints sorted) when the rule hashes symmetrically, so both
directions of a flow share one entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from nexthop.lb.model import Flow, IpAddress, IpProtocol

__all__ = ["FlowEntry", "FlowExpired", "FlowKey", "FlowTable", "keep_pinned"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowKey:
    rule: str
    protocol: int
    a_ip: IpAddress
    a_port: int
    b_ip: IpAddress
    b_port: int

    @classmethod
    def of(cls, rule: str, flow: Flow, *, symmetric: bool) -> FlowKey:
        a = (flow.src_ip.packed, flow.src_port)
        b = (flow.dst_ip.packed, flow.dst_port)
        if symmetric and b < a:
            flow = flow.reversed()
        return cls(
            rule=rule,
            protocol=flow.protocol,
            a_ip=flow.src_ip,
            a_port=flow.src_port,
            b_ip=flow.dst_ip,
            b_port=flow.dst_port,
        )


@dataclass(slots=True, kw_only=True)
class FlowEntry:
    key: FlowKey
    backend: str
    created: float
    last_seen: float
    idle_timeout: float
    moves: int = 0

    @property
    def expires_at(self) -> float:
        return self.last_seen + self.idle_timeout


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowExpired:
    key: FlowKey
    backend: str
    at: float


def keep_pinned(protocol: int, *, member: bool, serviceable: bool) -> bool:
    """Whether an existing flow stays on its backend.

    ``member``: the backend is still in the pool. ``serviceable``: its probe says Up and
    admin state is not Down, or admin state is Up, or the rule is failing open. TCP
    stays pinned while the backend is a member; other protocols need a serviceable one.
    """
    if not member:
        return False
    return serviceable or protocol == IpProtocol.TCP


class FlowTable:
    """Established flows and their backends, with idle expiry driven by ``now``."""

    def __init__(self) -> None:
        self._flows: dict[FlowKey, FlowEntry] = {}

    def __len__(self) -> int:
        return len(self._flows)

    def __iter__(self) -> Iterator[FlowEntry]:
        return iter(list(self._flows.values()))

    def get(self, key: FlowKey, now: float) -> FlowEntry | None:
        """The live entry for a key; an expired entry is removed and None returned."""
        e = self._flows.get(key)
        if e is None:
            return None
        if now >= e.expires_at:
            del self._flows[key]
            return None
        return e

    def pin(self, key: FlowKey, backend: str, now: float, idle_timeout: float) -> FlowEntry:
        """Create or re-pin the flow on ``backend`` (a re-pin counts as a move)."""
        old = self._flows.get(key)
        if old is not None and now < old.expires_at:
            if old.backend != backend:
                old.backend = backend
                old.moves += 1
            old.last_seen = now
            return old
        e = FlowEntry(
            key=key, backend=backend, created=now, last_seen=now, idle_timeout=idle_timeout
        )
        self._flows[key] = e
        return e

    @staticmethod
    def touch(entry: FlowEntry, now: float) -> None:
        entry.last_seen = now

    def close(self, key: FlowKey) -> bool:
        """Forget a flow (TCP FIN/RST seen by the edge). True if it existed."""
        return self._flows.pop(key, None) is not None

    def expire(self, now: float) -> list[FlowExpired]:
        """Remove every flow idle for its timeout; returns what was removed."""
        gone = [e for e in self._flows.values() if now >= e.expires_at]
        for e in gone:
            del self._flows[e.key]
        return [FlowExpired(key=e.key, backend=e.backend, at=e.expires_at) for e in gone]

    def next_deadline(self) -> float | None:
        return min((e.expires_at for e in self._flows.values()), default=None)

    def on_backend(self, backend: str) -> list[FlowEntry]:
        return [e for e in self._flows.values() if e.backend == backend]

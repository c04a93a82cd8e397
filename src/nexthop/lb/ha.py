"""Active-passive NVA pair: heartbeat election as a sans-IO state machine.

The pattern (route-server-spec §1.8 "Active/passive", NVAHA): both NVAs sit behind the
ILB, but the LB probe endpoint answers **only on the active instance**, so every new
flow goes there. The pair elects the active one with heartbeats, VRRP style
(RFC 5798 §6.4: a backup becomes master when ``Master_Down_Interval`` passes without
an advertisement; the higher priority wins; preemption is optional):

* Both nodes send ``SendHeartbeat`` every ``interval`` carrying their state and rank.
* A standby that hears nothing for ``interval * dead_count`` promotes itself
  (``BecameActive``). ``PeerFailed`` (an out-of-band signal such as BFD or the
  hypervisor) promotes it at once.
* Two standbys (start-up) elect the higher rank; two actives (a healed partition) keep
  the higher rank and the other steps down.
* A node that restarts comes back as standby and stays standby while the peer is active
  (no flap-back) unless ``preempt`` is set and it outranks the peer.

Rank is ``(priority, -node_id order)``: higher priority wins, ties go to the smaller
node id. Everything that changes state lives in ``TRANSITIONS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = [
    "TRANSITIONS",
    "Action",
    "BecameActive",
    "BecameStandby",
    "HaConfig",
    "HaEvent",
    "HaInput",
    "HaNode",
    "HaOutput",
    "HaState",
    "HaTimer",
    "HaUsageError",
    "HeartbeatReceived",
    "PeerFailed",
    "PeerLost",
    "SendHeartbeat",
    "Start",
    "Stop",
    "Stopped",
    "TimerExpired",
]

AZURE_LIKE_INTERVAL = 5.0
"""The Azure LB probe cadence quoted for NVA HA: 5 s x 3 misses (NVAHA)."""
AZURE_LIKE_DEAD_COUNT = 3
FAST_INTERVAL = 0.1
FAST_DEAD_COUNT = 3


class HaState(Enum):
    STOPPED = "Stopped"
    STANDBY = "Standby"
    ACTIVE = "Active"


class HaTimer(Enum):
    HEARTBEAT = "Heartbeat"
    DEAD = "Dead"


class HaUsageError(Exception):
    """An input that is not valid in the current state (API misuse)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HaConfig:
    node_id: str
    priority: int = 100
    interval: float = AZURE_LIKE_INTERVAL
    dead_count: int = AZURE_LIKE_DEAD_COUNT
    preempt: bool = False

    def __post_init__(self) -> None:
        if not self.node_id:
            raise ValueError("HaConfig.node_id: must be non-empty")
        if self.interval <= 0:
            raise ValueError(f"HaConfig.interval: must be positive (got {self.interval})")
        if self.dead_count < 1:
            raise ValueError(f"HaConfig.dead_count: must be >= 1 (got {self.dead_count})")
        if not 0 <= self.priority <= 255:
            raise ValueError(f"HaConfig.priority: must be 0..255 (got {self.priority})")

    @classmethod
    def fast(cls, node_id: str, *, priority: int = 100, preempt: bool = False) -> HaConfig:
        """Sub-second heartbeats: 100 ms x 3, BFD-like detection."""
        return cls(
            node_id=node_id,
            priority=priority,
            interval=FAST_INTERVAL,
            dead_count=FAST_DEAD_COUNT,
            preempt=preempt,
        )

    @property
    def dead_interval(self) -> float:
        return self.interval * self.dead_count

    def outranks(self, priority: int, node_id: str) -> bool:
        if self.priority != priority:
            return self.priority > priority
        return self.node_id < node_id


# -- inputs -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Start:
    now: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Stop:
    """The local NVA stops (crash, shutdown): no more heartbeats or probe answers."""

    now: float


@dataclass(frozen=True, slots=True, kw_only=True)
class HeartbeatReceived:
    sender: str
    state: HaState
    priority: int
    now: float

    @classmethod
    def of(cls, sent: SendHeartbeat, now: float) -> HeartbeatReceived:
        return cls(sender=sent.sender, state=sent.state, priority=sent.priority, now=now)


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerExpired:
    timer: HaTimer
    now: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerFailed:
    now: float


HaEvent = Start | Stop | HeartbeatReceived | TimerExpired | PeerFailed

# -- outputs ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SendHeartbeat:
    sender: str
    state: HaState
    priority: int
    seq: int
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class BecameActive:
    node: str
    at: float
    reason: HaInput


@dataclass(frozen=True, slots=True, kw_only=True)
class BecameStandby:
    node: str
    at: float
    reason: HaInput


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerLost:
    """The active node stopped hearing its standby."""

    node: str
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Stopped:
    node: str
    at: float


HaOutput = SendHeartbeat | BecameActive | BecameStandby | PeerLost | Stopped

# -- the table ----------------------------------------------------------------------


class HaInput(Enum):
    """Inputs after classification against the local rank and preempt setting."""

    START = "Start"
    STOP = "Stop"
    HEARTBEAT_TIMER = "HeartbeatTimer"
    DEAD_TIMER = "DeadTimer"
    PEER_FAILED = "PeerFailed"
    PEER_ACTIVE_HIGHER = "PeerActiveOutranksUs"
    PEER_ACTIVE_LOWER = "PeerActiveWeOutrank"
    PEER_ACTIVE_LOWER_PREEMPT = "PeerActiveWePreempt"
    PEER_STANDBY_HIGHER = "PeerStandbyOutranksUs"
    PEER_STANDBY_LOWER = "PeerStandbyWeOutrank"


class Action(Enum):
    SEND_HEARTBEAT = "send a heartbeat now and re-arm the heartbeat timer"
    ARM_DEAD = "(re)arm the dead timer at now + interval * dead_count"
    DISARM_DEAD = "disarm the dead timer"
    DISARM_ALL = "disarm every timer"
    ANNOUNCE = "emit BecameActive/BecameStandby for the new state"
    REPORT_PEER_LOST = "emit PeerLost"
    REPORT_STOPPED = "emit Stopped"
    NOTHING = "no effect"


S, In, A = HaState, HaInput, Action
_BEAT = (A.SEND_HEARTBEAT,)
_PROMOTE = (A.DISARM_DEAD, A.ANNOUNCE, A.SEND_HEARTBEAT)
_STOP = (A.DISARM_ALL, A.REPORT_STOPPED)
_IGNORE = (A.NOTHING,)

TRANSITIONS: dict[tuple[HaState, HaInput], tuple[tuple[Action, ...], HaState]] = {
    # Stopped: only Start matters; anything heard meanwhile is ignored.
    (S.STOPPED, In.START): ((A.ARM_DEAD, A.ANNOUNCE, A.SEND_HEARTBEAT), S.STANDBY),
    (S.STOPPED, In.HEARTBEAT_TIMER): (_IGNORE, S.STOPPED),
    (S.STOPPED, In.DEAD_TIMER): (_IGNORE, S.STOPPED),
    (S.STOPPED, In.PEER_FAILED): (_IGNORE, S.STOPPED),
    (S.STOPPED, In.PEER_ACTIVE_HIGHER): (_IGNORE, S.STOPPED),
    (S.STOPPED, In.PEER_ACTIVE_LOWER): (_IGNORE, S.STOPPED),
    (S.STOPPED, In.PEER_ACTIVE_LOWER_PREEMPT): (_IGNORE, S.STOPPED),
    (S.STOPPED, In.PEER_STANDBY_HIGHER): (_IGNORE, S.STOPPED),
    (S.STOPPED, In.PEER_STANDBY_LOWER): (_IGNORE, S.STOPPED),
    # Standby: watch the peer, promote on silence, failure, election or preemption.
    (S.STANDBY, In.STOP): (_STOP, S.STOPPED),
    (S.STANDBY, In.HEARTBEAT_TIMER): (_BEAT, S.STANDBY),
    (S.STANDBY, In.DEAD_TIMER): (_PROMOTE, S.ACTIVE),
    (S.STANDBY, In.PEER_FAILED): (_PROMOTE, S.ACTIVE),
    (S.STANDBY, In.PEER_ACTIVE_HIGHER): ((A.ARM_DEAD,), S.STANDBY),
    (S.STANDBY, In.PEER_ACTIVE_LOWER): ((A.ARM_DEAD,), S.STANDBY),  # no flap-back
    (S.STANDBY, In.PEER_ACTIVE_LOWER_PREEMPT): (_PROMOTE, S.ACTIVE),
    (S.STANDBY, In.PEER_STANDBY_HIGHER): ((A.ARM_DEAD,), S.STANDBY),
    (S.STANDBY, In.PEER_STANDBY_LOWER): (_PROMOTE, S.ACTIVE),
    # Active: answer the probe; step down only to a higher-ranked active peer.
    (S.ACTIVE, In.STOP): (_STOP, S.STOPPED),
    (S.ACTIVE, In.HEARTBEAT_TIMER): (_BEAT, S.ACTIVE),
    (S.ACTIVE, In.DEAD_TIMER): ((A.DISARM_DEAD, A.REPORT_PEER_LOST), S.ACTIVE),
    (S.ACTIVE, In.PEER_FAILED): ((A.DISARM_DEAD,), S.ACTIVE),
    (S.ACTIVE, In.PEER_ACTIVE_HIGHER): ((A.ARM_DEAD, A.ANNOUNCE, A.SEND_HEARTBEAT), S.STANDBY),
    (S.ACTIVE, In.PEER_ACTIVE_LOWER): ((A.ARM_DEAD, A.SEND_HEARTBEAT), S.ACTIVE),
    (S.ACTIVE, In.PEER_ACTIVE_LOWER_PREEMPT): ((A.ARM_DEAD, A.SEND_HEARTBEAT), S.ACTIVE),
    (S.ACTIVE, In.PEER_STANDBY_HIGHER): ((A.ARM_DEAD,), S.ACTIVE),
    (S.ACTIVE, In.PEER_STANDBY_LOWER): ((A.ARM_DEAD,), S.ACTIVE),
}
del S, In, A


class HaNode:
    """One member of the pair. Feed inputs with ``handle``; drive time with
    ``next_deadline()`` / ``handle_timer(now)``; read ``answers_probe``."""

    def __init__(self, config: HaConfig) -> None:
        self.config = config
        self.state = HaState.STOPPED
        self._deadlines: dict[HaTimer, float] = {}
        self._seq = 0

    @property
    def answers_probe(self) -> bool:
        """Only the active node answers the load balancer's health probe."""
        return self.state is HaState.ACTIVE

    def classify(self, event: HaEvent) -> HaInput:
        match event:
            case Start():
                return HaInput.START
            case Stop():
                return HaInput.STOP
            case PeerFailed():
                return HaInput.PEER_FAILED
            case TimerExpired(timer=HaTimer.HEARTBEAT):
                return HaInput.HEARTBEAT_TIMER
            case TimerExpired():
                return HaInput.DEAD_TIMER
            case HeartbeatReceived(state=HaState.ACTIVE, priority=p, sender=s):
                if not self.config.outranks(p, s):
                    return HaInput.PEER_ACTIVE_HIGHER
                if self.config.preempt:
                    return HaInput.PEER_ACTIVE_LOWER_PREEMPT
                return HaInput.PEER_ACTIVE_LOWER
            case HeartbeatReceived(priority=p, sender=s):
                if self.config.outranks(p, s):
                    return HaInput.PEER_STANDBY_LOWER
                return HaInput.PEER_STANDBY_HIGHER
        raise HaUsageError(f"unknown input {event!r}")  # pragma: no cover

    def handle(self, event: HaEvent) -> list[HaOutput]:
        kind = self.classify(event)
        try:
            actions, nxt = TRANSITIONS[(self.state, kind)]
        except KeyError as exc:
            raise HaUsageError(f"{kind.value} is not valid in state {self.state.value}") from exc
        self.state = nxt
        return self._apply(actions, kind, event.now)

    def _apply(self, actions: tuple[Action, ...], kind: HaInput, now: float) -> list[HaOutput]:
        out: list[HaOutput] = []
        cfg = self.config
        for action in actions:
            match action:
                case Action.SEND_HEARTBEAT:
                    self._seq += 1
                    out.append(
                        SendHeartbeat(
                            sender=cfg.node_id,
                            state=self.state,
                            priority=cfg.priority,
                            seq=self._seq,
                            at=now,
                        )
                    )
                    self._deadlines[HaTimer.HEARTBEAT] = now + cfg.interval
                case Action.ARM_DEAD:
                    self._deadlines[HaTimer.DEAD] = now + cfg.dead_interval
                case Action.DISARM_DEAD:
                    self._deadlines.pop(HaTimer.DEAD, None)
                case Action.DISARM_ALL:
                    self._deadlines.clear()
                case Action.ANNOUNCE:
                    cls = BecameActive if self.state is HaState.ACTIVE else BecameStandby
                    out.append(cls(node=cfg.node_id, at=now, reason=kind))
                case Action.REPORT_PEER_LOST:
                    out.append(PeerLost(node=cfg.node_id, at=now))
                case Action.REPORT_STOPPED:
                    out.append(Stopped(node=cfg.node_id, at=now))
                case Action.NOTHING:
                    pass
        return out

    def next_deadline(self) -> float | None:
        return min(self._deadlines.values(), default=None)

    def handle_timer(self, now: float) -> list[HaOutput]:
        """Fire every timer due at ``now`` (earliest first)."""
        out: list[HaOutput] = []
        while True:
            due = [(t, d) for d, t in self._deadlines.items() if t <= now]
            if not due:
                return out
            at, timer = min(due, key=lambda x: (x[0], x[1].value))
            del self._deadlines[timer]
            out.extend(self.handle(TimerExpired(timer=timer, now=at)))

"""Trace records: hops, legs, drop causes and the symmetry verdict.

Frozen, keyword-only dataclasses (style rule 3), each with a ``to_dict()`` form
that ``json.dumps`` accepts. ``nexthop.world.walk`` produces them and
``nexthop.world.trace`` assembles a ``Trace``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["DropCause", "Hop", "HopKind", "Leg", "Symmetry", "Trace"]


class HopKind(StrEnum):
    SOURCE = "source"
    ROUTE = "route"
    LOAD_BALANCER = "load_balancer"
    NVA = "nva"
    BRANCH = "branch"
    DELIVER = "deliver"
    DROP = "drop"


class DropCause(StrEnum):
    """Why a packet did not arrive."""

    NONE_ROUTE = "none_route"  # the effective route's next hop type is None (spec §2)
    NO_ROUTE = "no_route"  # no effective route matches
    NO_HEALTHY_BACKEND = "no_healthy_backend"  # AllProbedDown, admin down or empty pool
    NO_LB_RULE = "no_lb_rule"  # no rule covers the protocol/port (HA ports: TCP/UDP only)
    CROSS_REGION_FRONTEND = "cross_region_frontend"  # ILB next hop outside the RS region
    ROUTING_LOOP = "routing_loop"  # hop limit reached
    NVA_DOWN = "nva_down"  # the packet reached a failed NVA
    BRANCH_NO_NVA = "branch_no_nva"  # no live, active NVA fronts the branch
    UNKNOWN_NEXT_HOP = "unknown_next_hop"  # the next hop IP is nobody the model knows
    NO_DESTINATION = "no_destination"  # the route is local but no NIC holds the address


class Symmetry(StrEnum):
    SYMMETRIC = "symmetric"  # the same NVA(s) both ways
    ASYMMETRIC = "asymmetric"  # another NVA (or none) on the way back
    NO_NVA = "no_nva"  # neither direction crossed an NVA
    INCOMPLETE = "incomplete"  # a direction was dropped
    NOT_TRACED = "not_traced"  # the reply is not modelled (from the Internet)


def _json(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, StrEnum):
        return value.value
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Hop:
    """One forwarding decision: where the packet is (``node``) and why it goes on."""

    kind: HopKind
    node: str
    reason: str
    details: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "node": self.node,
            "reason": self.reason,
            "details": _json(self.details),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Leg:
    """One direction of a flow."""

    direction: str
    source: str
    source_ip: str
    destination_ip: str
    hops: tuple[Hop, ...]
    delivered: bool
    endpoint: str | None
    drop: DropCause | None
    nvas: tuple[str, ...]

    @property
    def reason(self) -> str:
        return self.hops[-1].reason if self.hops else ""

    @property
    def nva(self) -> str | None:
        """The first NVA that forwarded this direction, if any."""
        return self.nvas[0] if self.nvas else None

    def to_dict(self) -> dict[str, object]:
        return {
            "direction": self.direction,
            "source": self.source,
            "source_ip": self.source_ip,
            "destination_ip": self.destination_ip,
            "delivered": self.delivered,
            "endpoint": self.endpoint,
            "drop": None if self.drop is None else self.drop.value,
            "nvas": list(self.nvas),
            "reason": self.reason,
            "hops": [hop.to_dict() for hop in self.hops],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Trace:
    at: float
    protocol: str
    src_port: int
    dst_port: int
    forward: Leg
    reverse: Leg | None
    symmetry: Symmetry
    reason: str

    @property
    def ok(self) -> bool:
        """Both directions delivered (or the forward one, when no reply is modelled)."""
        return self.forward.delivered and (self.reverse is None or self.reverse.delivered)

    @property
    def drop(self) -> DropCause | None:
        if self.forward.drop is not None:
            return self.forward.drop
        return None if self.reverse is None else self.reverse.drop

    def to_dict(self) -> dict[str, object]:
        return {
            "at": self.at,
            "protocol": self.protocol,
            "src_port": self.src_port,
            "dst_port": self.dst_port,
            "ok": self.ok,
            "symmetry": self.symmetry.value,
            "reason": self.reason,
            "forward": self.forward.to_dict(),
            "reverse": None if self.reverse is None else self.reverse.to_dict(),
        }

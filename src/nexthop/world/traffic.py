"""Synthetic traffic: many flows traced both ways, summarised per NVA.

``generate_flows`` draws a deterministic set of flows (``random.Random(seed)``) from
VMs to hosts in the branches' prefixes, over a mix of protocols and ports, each
with its own source port so every flow is a new connection for the load
balancer. ``run_traffic`` traces each one (``nexthop.world.trace``) and reports
which NVA carried each direction, the per-NVA distribution, the symmetric and
asymmetric counts (route-server-spec §1.8: active/active "may result in
asymmetric routing") and every failure with its reason.
"""

from __future__ import annotations

import ipaddress
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nexthop.world.hops import DropCause, Symmetry
from nexthop.world.model import WorldError
from nexthop.world.trace import trace

if TYPE_CHECKING:
    from nexthop.world.build import World

__all__ = [
    "DEFAULT_DST_PORTS",
    "DEFAULT_PROTOCOLS",
    "FlowResult",
    "FlowSpec",
    "TrafficReport",
    "generate_flows",
    "run_traffic",
]

DEFAULT_PROTOCOLS = ("tcp", "tcp", "tcp", "udp")
DEFAULT_DST_PORTS = (22, 53, 80, 443, 3389, 8080, 8443)
_EPHEMERAL = (1024, 65535)


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowSpec:
    source: str
    destination_ip: str
    protocol: str = "tcp"
    src_port: int = 49152
    dst_port: int = 443

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "destination_ip": self.destination_ip,
            "protocol": self.protocol,
            "src_port": self.src_port,
            "dst_port": self.dst_port,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowResult:
    flow: FlowSpec
    ok: bool
    forward_nva: str | None
    return_nva: str | None
    symmetry: Symmetry
    drop: DropCause | None
    direction: str | None  # which direction was dropped
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {
            **self.flow.to_dict(),
            "ok": self.ok,
            "forward_nva": self.forward_nva,
            "return_nva": self.return_nva,
            "symmetry": self.symmetry.value,
            "asymmetric": self.symmetry is Symmetry.ASYMMETRIC,
            "drop": None if self.drop is None else self.drop.value,
            "dropped_direction": self.direction,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class TrafficReport:
    at: float
    results: tuple[FlowResult, ...]

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def delivered(self) -> int:
        return sum(1 for r in self.results if r.ok)

    @property
    def failures(self) -> tuple[FlowResult, ...]:
        return tuple(r for r in self.results if not r.ok)

    @property
    def symmetric(self) -> int:
        return sum(1 for r in self.results if r.symmetry is Symmetry.SYMMETRIC)

    @property
    def asymmetric(self) -> int:
        return sum(1 for r in self.results if r.symmetry is Symmetry.ASYMMETRIC)

    @property
    def asymmetric_flows(self) -> tuple[FlowResult, ...]:
        return tuple(r for r in self.results if r.symmetry is Symmetry.ASYMMETRIC)

    @property
    def per_nva(self) -> dict[str, dict[str, int]]:
        """Flows each NVA carried, per direction."""
        table: dict[str, dict[str, int]] = {}
        for r in self.results:
            for direction, nva in (("forward", r.forward_nva), ("return", r.return_nva)):
                if nva is not None:
                    row = table.setdefault(nva, {"forward": 0, "return": 0})
                    row[direction] += 1
        return dict(sorted(table.items()))

    @property
    def failure_causes(self) -> dict[str, int]:
        return dict(Counter(r.drop.value for r in self.results if r.drop is not None))

    def to_dict(self) -> dict[str, object]:
        return {
            "at": self.at,
            "total": self.total,
            "delivered": self.delivered,
            "failed": len(self.failures),
            "symmetric": self.symmetric,
            "asymmetric": self.asymmetric,
            "per_nva": self.per_nva,
            "failure_causes": self.failure_causes,
            "failures": [r.to_dict() for r in self.failures],
            "flows": [r.to_dict() for r in self.results],
        }


def _hosts(world: World, destination: str | None) -> list[ipaddress.IPv4Network]:
    if destination is None:
        return [
            ipaddress.IPv4Network(str(p))
            for name in sorted(world.branches)
            for p in world.branches[name].prefixes
        ]
    if destination in world.branches:
        return [ipaddress.IPv4Network(str(p)) for p in world.branches[destination].prefixes]
    try:
        return [ipaddress.IPv4Network(destination)]
    except ValueError:
        raise WorldError(
            f"unknown destination {destination!r}: a branch name, address or prefix"
        ) from None


def generate_flows(
    world: World,
    count: int,
    *,
    seed: int = 0,
    source: str | None = None,
    destination: str | None = None,
    protocols: Sequence[str] = DEFAULT_PROTOCOLS,
    dst_ports: Sequence[int] = DEFAULT_DST_PORTS,
) -> list[FlowSpec]:
    """``count`` flows from VMs (or ``source``) to branch hosts (or ``destination``:
    a branch, an address or a prefix); the same seed gives the same flows."""
    if count < 0:
        raise WorldError(f"count must not be negative (got {count})")
    sources = [source] if source is not None else sorted(world.vms)
    if not sources:
        raise WorldError("the topology has no VM to send from")
    networks = _hosts(world, destination)
    if not networks:
        raise WorldError("the topology has no branch prefix to send to")
    capacity = len(sources) * (_EPHEMERAL[1] - _EPHEMERAL[0] + 1)
    if count > capacity:
        raise WorldError(
            f"{count} flows need more distinct (source, port) pairs than the {capacity}"
            f" that {len(sources)} source(s) have"
        )
    rng = random.Random(seed)
    flows: list[FlowSpec] = []
    used: set[tuple[str, int]] = set()
    for _ in range(count):
        net = rng.choice(networks)
        size = net.num_addresses
        offset = rng.randrange(1, size - 1) if size > 2 else 0
        src = rng.choice(sources)
        port = rng.randint(*_EPHEMERAL)
        while (src, port) in used:
            port = rng.randint(*_EPHEMERAL)
        used.add((src, port))
        flows.append(
            FlowSpec(
                source=src,
                destination_ip=str(net.network_address + offset),
                protocol=rng.choice(list(protocols)),
                src_port=port,
                dst_port=rng.choice(list(dst_ports)),
            )
        )
    return flows


def run_traffic(world: World, flows: Iterable[FlowSpec], now: float) -> TrafficReport:
    """Trace every flow both ways at ``now`` and summarise."""
    results: list[FlowResult] = []
    for flow in flows:
        t = trace(
            world,
            flow.source,
            flow.destination_ip,
            flow.protocol,
            src_port=flow.src_port,
            dst_port=flow.dst_port,
            now=now,
        )
        dropped = None
        if t.forward.drop is not None:
            dropped = "forward"
        elif t.reverse is not None and t.reverse.drop is not None:
            dropped = "return"
        results.append(
            FlowResult(
                flow=flow,
                ok=t.ok,
                forward_nva=t.forward.nva,
                return_nva=None if t.reverse is None else t.reverse.nva,
                symmetry=t.symmetry,
                drop=t.drop,
                direction=dropped,
                reason=t.reason,
            )
        )
    return TrafficReport(at=now, results=tuple(results))

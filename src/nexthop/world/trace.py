"""Flow traces: every hop of a packet and of its reply, with the rule that decided it.

``trace(world, source, destination_ip, ...)`` follows the first packet of a flow
(``nexthop.world.walk``) from ``source`` (a VM, NVA or branch, by name or address)
and, when it arrives, the reply from the destination back to the source. Each
``Hop`` carries a readable ``reason`` and JSON-ready ``details``; the verdict says
whether the same NVA carried both directions (route-server-spec §1.8: active/passive
is symmetric, active/active "may result in asymmetric routing"; §3 "Flow symmetry").

A trace is the first packet of its flow: it creates load balancer flow-table entries
as real traffic would, so tracing the same 5-tuple again shows an established flow.
The world is first advanced to ``now`` (``World.advance``).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from nexthop.lb import Flow, IpProtocol
from nexthop.world.hops import DropCause, Hop, HopKind, Leg, Symmetry, Trace
from nexthop.world.model import WorldError
from nexthop.world.walk import endpoint_start, resolve_source, walk

if TYPE_CHECKING:
    from nexthop.world.build import World

__all__ = [
    "DEFAULT_DST_PORT",
    "DEFAULT_SRC_PORT",
    "DropCause",
    "Hop",
    "HopKind",
    "Leg",
    "Symmetry",
    "Trace",
    "parse_protocol",
    "trace",
]

DEFAULT_SRC_PORT = 49152
DEFAULT_DST_PORT = 443

_PROTOCOLS = {"tcp": IpProtocol.TCP, "udp": IpProtocol.UDP, "icmp": IpProtocol.ICMP}


def parse_protocol(protocol: str | int) -> int:
    if isinstance(protocol, int):
        return protocol
    number = _PROTOCOLS.get(protocol.lower())
    if number is None:
        raise WorldError(f"unknown protocol {protocol!r}: use tcp, udp or icmp")
    return int(number)


def _symmetry(forward: Leg, reverse: Leg | None) -> Symmetry:
    if not forward.delivered:
        return Symmetry.INCOMPLETE
    if reverse is None:
        return Symmetry.NOT_TRACED
    if not reverse.delivered:
        return Symmetry.INCOMPLETE
    there, back = set(forward.nvas), set(reverse.nvas)
    if not there and not back:
        return Symmetry.NO_NVA
    return Symmetry.SYMMETRIC if there == back else Symmetry.ASYMMETRIC


def _summary(forward: Leg, reverse: Leg | None, symmetry: Symmetry) -> str:
    def leg(label: str, item: Leg) -> str:
        via = f" via {', '.join(item.nvas)}" if item.nvas else ""
        if item.delivered:
            return f"{label}{via} delivered to {item.endpoint}"
        return f"{label}{via} dropped: {item.reason}"

    parts = [leg("forward", forward)]
    if reverse is not None:
        parts.append(leg("return", reverse))
    parts.append(symmetry.value)
    return "; ".join(parts)


def trace(
    world: World,
    source: str,
    destination_ip: str,
    protocol: str | int = "tcp",
    *,
    src_port: int = DEFAULT_SRC_PORT,
    dst_port: int = DEFAULT_DST_PORT,
    now: float | None = None,
) -> Trace:
    """Trace one flow from ``source`` to ``destination_ip`` and its reply."""
    at = world.now if now is None else now
    world.advance(at)
    start, source_ip = resolve_source(world, source)
    try:
        destination = ipaddress.IPv4Address(destination_ip)
    except ValueError:
        raise WorldError(f"destination {destination_ip!r} is not an IPv4 address") from None
    number = parse_protocol(protocol)
    flow = Flow(
        protocol=number,
        src_ip=ipaddress.IPv4Address(source_ip),
        src_port=src_port,
        dst_ip=destination,
        dst_port=dst_port,
    )
    forward = walk(world, start, flow, at, "forward")
    reverse: Leg | None = None
    if forward.delivered:
        back = endpoint_start(world, forward)
        if back is not None:
            reverse = walk(world, back, flow.reversed(), at, "return")
    symmetry = _symmetry(forward, reverse)
    name = protocol if isinstance(protocol, str) else str(protocol)
    return Trace(
        at=at,
        protocol=name.lower(),
        src_port=src_port,
        dst_port=dst_port,
        forward=forward,
        reverse=reverse,
        symmetry=symmetry,
        reason=_summary(forward, reverse, symmetry),
    )

"""Per-peer session configuration (RFC 4271 §8.1.1 optional attributes, §10 timers).

Defaults follow RFC 4271 §10: ConnectRetryTime 120 s is suggested there, we use
30 s like FRR/GoBGP; HoldTime 90 s is suggested, we use 180 s like most
implementations; the OpenSent hold time is the RFC's "large value" (4 minutes).
IdleHold (§8.1.1 DampPeerOscillations) starts at ``idle_hold_time``, doubles on
each restart within ``idle_hold_forget`` seconds of the previous one, and stops at
``idle_hold_max``.

``outbound_limit`` bounds the octets queued for the peer and not yet written
(``Session.check_outbound``; RFC 4486 §4 Cease/Out of Resources past it); None:
no bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nexthop.bgp.wire.messages import GracefulRestart
from nexthop.bgp.wire.negotiated import IPV4_UNICAST, Family

__all__ = ["SessionConfig"]


def _default_families() -> frozenset[Family]:
    return frozenset({IPV4_UNICAST})


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionConfig:
    """What we expect of one peer and what we offer it."""

    local_asn: int
    peer_asn: int
    bgp_id: int
    peer_address: str
    hold_time: int = 180
    keepalive_time: int = 60
    connect_retry_time: float = 30.0
    open_hold_time: float = 240.0
    passive: bool = False
    families: frozenset[Family] = field(default_factory=_default_families)
    idle_hold_time: float = 5.0
    idle_hold_max: float = 120.0
    idle_hold_forget: float = 300.0
    route_refresh: bool = True
    enhanced_route_refresh: bool = True
    four_octet: bool = True
    extended_message: bool = True
    add_path_receive: frozenset[Family] = frozenset()
    graceful_restart: GracefulRestart | None = None
    outbound_limit: int | None = None
    # Stop reading after a valid OPEN until ``Session.resume``: the owner checks
    # the peer's other connections for a collision first (RFC 4271 §6.8).
    pause_after_open: bool = False

    def __post_init__(self) -> None:
        if self.hold_time < 0 or self.hold_time in (1, 2) or self.hold_time > 65535:
            msg = f"hold_time must be 0 or 3..65535 (RFC 4271 §4.2), not {self.hold_time}"
            raise ValueError(msg)
        if self.hold_time and self.keepalive_time < 1:
            msg = "keepalive_time must be at least 1 s when hold_time is not 0"
            raise ValueError(msg)
        for name in ("connect_retry_time", "open_hold_time", "idle_hold_time"):
            if getattr(self, name) <= 0:
                msg = f"{name} must be positive"
                raise ValueError(msg)
        if not 0 < self.bgp_id < 2**32:
            msg = "bgp_id must be a non-zero 32-bit value (RFC 6286)"
            raise ValueError(msg)
        if not self.four_octet and self.local_asn > 0xFFFF:
            msg = "a 4-octet local_asn needs the four_octet capability (RFC 6793)"
            raise ValueError(msg)
        if self.outbound_limit is not None and self.outbound_limit < 1:
            msg = "outbound_limit must be a positive number of octets"
            raise ValueError(msg)
        for name in ("local_asn", "peer_asn"):
            if not 0 < getattr(self, name) < 2**32:
                msg = f"{name} must be a 32-bit AS number"
                raise ValueError(msg)

"""Admission of inbound BGP connections: a token bucket per source address.

Unknown sources are refused by the route server host before anything is kept
for them (no slot, no ``Session``, no bucket: what a storm of spoofed or stray
sources could grow); the connections of configured peers pass through a token
bucket per peer address, so one address opening connections in a loop is refused
(TCP reset) past ``burst`` connections and then ``rate`` per second, while its
established sessions, the other peers and the REST API carry on. The buckets are
keyed by configured peer addresses only, so their number is bounded by the
peerings.

A legitimate NVA opens one connection per instance and, after a failure, one per
ConnectRetry interval (RFC 4271 §10 suggests 120 s; FRR and GoBGP retry every few
seconds), far below the defaults of 20 connections at once and 5 per second.
Pure: ``now`` comes from the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AcceptLimits", "TokenBuckets"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceptLimits:
    """Connections one source address may open: ``burst`` at once, refilled at
    ``rate`` per second. ``rate`` 0 disables the limit."""

    rate: float = 5.0
    burst: int = 20

    def __post_init__(self) -> None:
        if self.rate < 0:
            msg = f"accept rate must be >= 0 connections per second, not {self.rate}"
            raise ValueError(msg)
        if self.burst < 1:
            msg = f"accept burst must be at least 1 connection, not {self.burst}"
            raise ValueError(msg)


class TokenBuckets:
    """One token bucket per key (a source address); see the module docstring."""

    __slots__ = ("_buckets", "limits")

    def __init__(self, limits: AcceptLimits) -> None:
        self.limits = limits
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def allow(self, key: str, now: float) -> bool:
        """Take one token for ``key`` at ``now``; False when none is left."""
        limits = self.limits
        if limits.rate == 0:
            return True
        tokens, at = self._buckets.get(key, (float(limits.burst), now))
        tokens = min(float(limits.burst), tokens + max(0.0, now - at) * limits.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        return True

    def __len__(self) -> int:
        return len(self._buckets)

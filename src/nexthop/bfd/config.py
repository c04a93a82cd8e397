"""What one BFD session is configured with (RFC 5880 §6.8.1 state variables).

Intervals are microseconds, as on the wire. The defaults are FRR's (300 ms, multiplier 3);
``desired_min_tx_us`` only applies once the session is Up (§6.8.3: one second
before that).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["DEFAULT_INTERVAL_MS", "DEFAULT_MULTIPLIER", "SLOW_TX_US", "BfdConfig"]

SLOW_TX_US = 1_000_000  # §6.8.3: Desired Min TX while not Up
DEFAULT_INTERVAL_MS = 300
DEFAULT_MULTIPLIER = 3
_MAX_US = 0xFFFFFFFF


@dataclass(frozen=True, slots=True, kw_only=True)
class BfdConfig:
    """``multihop``: RFC 5883 (UDP 4784, any TTL) instead of RFC 5881 single hop."""

    desired_min_tx_us: int = DEFAULT_INTERVAL_MS * 1000
    required_min_rx_us: int = DEFAULT_INTERVAL_MS * 1000
    detect_mult: int = DEFAULT_MULTIPLIER
    multihop: bool = False

    def __post_init__(self) -> None:
        for field, value in (
            ("desired_min_tx_us", self.desired_min_tx_us),
            ("required_min_rx_us", self.required_min_rx_us),
        ):
            if not 1 <= value <= _MAX_US:
                msg = f"{field}: {value} is not in 1..{_MAX_US} microseconds"
                raise ValueError(msg)
        if not 1 <= self.detect_mult <= 255:
            msg = f"detect_mult: {self.detect_mult} is not in 1..255"
            raise ValueError(msg)

    @classmethod
    def from_ms(
        cls, *, min_tx_ms: int, min_rx_ms: int, multiplier: int, multihop: bool = False
    ) -> BfdConfig:
        return cls(
            desired_min_tx_us=min_tx_ms * 1000,
            required_min_rx_us=min_rx_ms * 1000,
            detect_mult=multiplier,
            multihop=multihop,
        )

    def with_intervals(self, desired_min_tx_us: int, required_min_rx_us: int) -> BfdConfig:
        return replace(
            self, desired_min_tx_us=desired_min_tx_us, required_min_rx_us=required_min_rx_us
        )

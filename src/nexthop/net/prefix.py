"""Prefixes as small immutable tuples with integer keys.

A ``Prefix`` is ``(afi, value, length)`` where ``value`` is the network address as an
int with host bits cleared. Tuples of ints hash and compare fast, which matters
when a RIB holds a million of them (issue 6); ``str()`` gives the usual text form.
Address families use the IANA numbers (RFC 4760 §5, "Address Family Numbers").
"""

from __future__ import annotations

import ipaddress
from enum import IntEnum
from typing import NamedTuple

__all__ = ["Afi", "Prefix", "Safi", "format_address", "parse_address", "parse_prefix"]


class Afi(IntEnum):
    """IANA Address Family Numbers."""

    IPV4 = 1
    IPV6 = 2


class Safi(IntEnum):
    """IANA Subsequent Address Family Identifiers."""

    UNICAST = 1
    MULTICAST = 2


MAX_LENGTH = {Afi.IPV4: 32, Afi.IPV6: 128}


class Prefix(NamedTuple):
    """An IP prefix: address family, network address as int, prefix length."""

    afi: int
    value: int
    length: int

    def __str__(self) -> str:
        return f"{format_address(self.afi, self.value)}/{self.length}"

    @property
    def max_length(self) -> int:
        return 32 if self.afi == Afi.IPV4 else 128

    def contains_address(self, afi: int, address: int) -> bool:
        if afi != self.afi:
            return False
        shift = self.max_length - self.length
        return (address >> shift) == (self.value >> shift)

    def contains(self, other: Prefix) -> bool:
        """True when ``other`` is this prefix or a more specific one inside it."""
        return other.length >= self.length and self.contains_address(other.afi, other.value)

    def overlaps(self, other: Prefix) -> bool:
        return self.contains(other) or other.contains(self)


def parse_prefix(text: str) -> Prefix:
    """Parse ``"10.0.0.0/8"`` or ``"2001:db8::/32"``; host bits must be zero.

    Raises ``ValueError`` with the offending text on bad input.
    """
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        msg = f"invalid prefix {text!r}: {exc}"
        raise ValueError(msg) from None
    afi = Afi.IPV4 if net.version == 4 else Afi.IPV6
    return Prefix(afi, int(net.network_address), net.prefixlen)


def parse_address(text: str) -> tuple[int, int]:
    """Parse an IPv4/IPv6 address into ``(afi, int)``."""
    try:
        addr = ipaddress.ip_address(text)
    except ValueError as exc:
        msg = f"invalid IP address {text!r}: {exc}"
        raise ValueError(msg) from None
    return (Afi.IPV4 if addr.version == 4 else Afi.IPV6), int(addr)


def format_address(afi: int, value: int) -> str:
    if afi == Afi.IPV4:
        return str(ipaddress.IPv4Address(value))
    return str(ipaddress.IPv6Address(value))

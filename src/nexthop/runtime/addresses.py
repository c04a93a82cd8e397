"""Loopback stand-ins for topology addresses (the lab's address plan).

The lab runs every speaker, probe responder and listener of a topology in one
process tree on this host. Each topology IPv4 address ``a.b.c.d`` is served at
the loopback address ``127.b.c.d``: Linux delivers all of 127.0.0.0/8 to ``lo``
(RFC 1122 §3.2.1.3 reserves the block for loopback), so binding any of them works
without root and without creating interfaces. When two topology addresses share
``b.c.d``, or the candidate is in 127.0.0.0/24 (the host's own ``localhost``), the
later one gets the next free address from 127.254.0.0/16 instead. The mapping is
deterministic (addresses are taken in sorted order) and can be overridden per
address.

Ports: BGP listens on ``bgp_port`` (1790 by default, instead of 179, so that no
privilege is needed); any other port below 1024 (a probe on 22) is served at
``port + low_port_offset`` (10022), and ``port_offset`` (0 by default) moves every
service port but BGP, so that two labs of one topology can run side by side (tests).
``docs/lab.md`` shows the table.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from nexthop.bgp.constants import BGP_PORT

__all__ = [
    "DEFAULT_BGP_PORT",
    "DEFAULT_LOW_PORT_OFFSET",
    "AddressMap",
    "AddressMapError",
]

DEFAULT_BGP_PORT = 1790
DEFAULT_LOW_PORT_OFFSET = 10000
_LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
_LOCALHOST = ipaddress.IPv4Network("127.0.0.0/24")
_SPILL = ipaddress.IPv4Network("127.254.0.0/16")
_FIRST_PRIVILEGED_FREE = 1024


class AddressMapError(ValueError):
    """An override is not a loopback address, or two addresses share a stand-in."""


def _candidate(address: ipaddress.IPv4Address) -> ipaddress.IPv4Address:
    _, b, c, d = address.packed
    return ipaddress.IPv4Address(bytes((127, b, c, d)))


@dataclass(slots=True)
class AddressMap:
    """Topology address <-> loopback stand-in, plus the port plan."""

    addresses: Iterable[str] = ()
    overrides: Mapping[str, str] = field(default_factory=dict)
    bgp_port: int = DEFAULT_BGP_PORT
    low_port_offset: int = DEFAULT_LOW_PORT_OFFSET
    port_offset: int = 0  # added to every service port but BGP (two labs side by side)
    _forward: dict[str, str] = field(init=False, default_factory=dict)
    _reverse: dict[str, str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        for topo, stand_in in sorted(self.overrides.items()):
            self._bind(_v4(topo), _loopback(stand_in))
        for address in sorted({_v4(a) for a in self.addresses}):
            self.add(str(address))

    def add(self, address: str) -> str:
        """Map ``address`` (idempotent) and return its stand-in."""
        topo = _v4(address)
        known = self._forward.get(str(topo))
        if known is not None:
            return known
        candidate = _candidate(topo)
        if candidate in _LOCALHOST or str(candidate) in self._reverse:
            candidate = self._spill()
        self._bind(topo, candidate)
        return str(candidate)

    def override(self, address: str, stand_in: str) -> None:
        """Serve ``address`` at ``stand_in`` (before anything else maps either)."""
        topo, loop = _v4(address), _loopback(stand_in)
        known = self._forward.get(str(topo))
        if known is not None and known != str(loop):
            msg = f"{topo} is already served at {known}"
            raise AddressMapError(msg)
        self._bind(topo, loop)

    def stand_in(self, address: str) -> str:
        """The loopback address serving topology ``address`` (mapped on first use)."""
        return self.add(address)

    def topology_address(self, stand_in: str) -> str | None:
        """The topology address a loopback stand-in serves, or None."""
        try:
            key = str(ipaddress.IPv4Address(stand_in))
        except ValueError:
            return None
        return self._reverse.get(key)

    def port(self, port: int) -> int:
        """The port a topology service port is served on (BGP 179 -> ``bgp_port``)."""
        if port == BGP_PORT:
            return self.bgp_port
        if 0 < port < _FIRST_PRIVILEGED_FREE:
            return port + self.low_port_offset + self.port_offset
        return port + self.port_offset

    def items(self) -> Iterator[tuple[str, str]]:
        """(topology address, stand-in) pairs in topology address order."""
        for topo in sorted(self._forward, key=ipaddress.IPv4Address):
            yield topo, self._forward[topo]

    def as_dict(self) -> dict[str, str]:
        return dict(self.items())

    # --- internals ------------------------------------------------------------

    def _bind(self, topo: ipaddress.IPv4Address, stand_in: ipaddress.IPv4Address) -> None:
        owner = self._reverse.get(str(stand_in))
        if owner is not None and owner != str(topo):
            msg = f"{topo} and {owner} would share the stand-in {stand_in}"
            raise AddressMapError(msg)
        self._forward[str(topo)] = str(stand_in)
        self._reverse[str(stand_in)] = str(topo)

    def _spill(self) -> ipaddress.IPv4Address:
        for host in _SPILL.hosts():
            if str(host) not in self._reverse:
                return host
        msg = "no free loopback stand-in left in 127.254.0.0/16"  # pragma: no cover
        raise AddressMapError(msg)  # pragma: no cover


def _v4(text: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(str(text))
    except ValueError:
        msg = f"{text!r} is not an IPv4 address"
        raise AddressMapError(msg) from None


def _loopback(text: str) -> ipaddress.IPv4Address:
    address = _v4(text)
    if address not in _LOOPBACK:
        msg = f"stand-in {text} is not in 127.0.0.0/8"
        raise AddressMapError(msg)
    return address

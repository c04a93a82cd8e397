"""Where the route server instances listen (``nexthop serve``'s BGP listening plan).

``BgpListen`` says where each instance of a route server listens and which source
addresses peers have:

* ``BindMode.STAND_IN`` (default): each instance IP's loopback stand-in
  (``nexthop.runtime.addresses.AddressMap``, ``10.1.1.4`` -> ``127.1.1.4``) on port
  1790, no privilege needed; peers must connect from their own stand-in (this is
  also the lab's plan);
* ``BindMode.REAL``: the instance IPs themselves on port 179, for a host that
  really owns them; peers connect from their real addresses (``RealAddresses``);
* ``overrides``: an explicit ``(address, port)`` per instance (``IN_0``,
  ``RouteServiceRole_IN_1``, or ``rs/IN_0`` for one route server).

``accept_limits`` bounds how fast one configured peer address may open
connections (``nexthop.runtime.admission``: a token bucket per address, default
20 at once then 5 per second; unknown addresses are refused before that).
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nexthop.bgp.constants import BGP_PORT
from nexthop.routeserver import INSTANCE_ROLES, RouteServer
from nexthop.runtime.addresses import DEFAULT_BGP_PORT
from nexthop.runtime.admission import AcceptLimits
from nexthop.runtime.route_server_host import RouteServerHost

__all__ = [
    "BgpListen",
    "BindMode",
    "ListenAddress",
    "ListeningHost",
    "RealAddresses",
    "parse_bgp_address",
]

_ROLE_PREFIX = "RouteServiceRole_"


class BindMode(enum.Enum):
    """Where the instances listen and which source addresses peers have."""

    STAND_IN = "standin"
    REAL = "real"


@dataclass(frozen=True, slots=True, kw_only=True)
class BgpListen:
    """The BGP listening plan. ``port`` None means 1790 (stand-ins) or 179 (real);
    ``overrides`` maps ``IN_0``/``RouteServiceRole_IN_0``/``rs/IN_0`` to an
    (address, port) that instance listens on instead."""

    mode: BindMode = BindMode.STAND_IN
    port: int | None = None
    overrides: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    accept_limits: AcceptLimits = field(default_factory=AcceptLimits)

    @property
    def default_port(self) -> int:
        if self.port is not None:
            return self.port
        return BGP_PORT if self.mode is BindMode.REAL else DEFAULT_BGP_PORT

    def override(self, route_server: str, role: str) -> tuple[str, int] | None:
        short = role.removeprefix(_ROLE_PREFIX)
        for key in (f"{route_server}/{role}", f"{route_server}/{short}", role, short):
            found = self.overrides.get(key)
            if found is not None:
                return found
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListenAddress:
    """One instance as served: its topology address and where it listens."""

    route_server: str
    instance: str
    instance_ip: str
    address: str
    port: int


def parse_bgp_address(text: str) -> tuple[str, tuple[str, int]]:
    """``IN_0=127.0.0.1:1790`` (or ``rs/IN_1=[::1]:1790``) -> key, (address, port);
    ``ValueError`` naming the problem."""
    key, sep, target = text.partition("=")
    short = key.rpartition("/")[2].removeprefix(_ROLE_PREFIX)
    if not sep or f"{_ROLE_PREFIX}{short}" not in INSTANCE_ROLES:
        msg = f"{text!r}: expected IN_0=ADDRESS:PORT or IN_1=ADDRESS:PORT (optionally RS/IN_0)"
        raise ValueError(msg)
    address, colon, port_text = target.rpartition(":")
    address = address.removeprefix("[").removesuffix("]")
    try:
        ipaddress.ip_address(address)
        port = int(port_text)
    except ValueError:
        colon = ""
        port = 0
    if not colon or not 0 < port < 2**16:
        msg = f"{text!r}: {target!r} is not ADDRESS:PORT"
        raise ValueError(msg)
    return key, (address, port)


class RealAddresses:
    """Real mode: every address is its own stand-in."""

    def stand_in(self, address: str) -> str:
        return address

    def topology_address(self, stand_in: str) -> str | None:
        try:
            ip = ipaddress.ip_address(stand_in)
        except ValueError:
            return None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ip)


class ListeningHost(RouteServerHost):
    """A route server host whose instances may each listen on an explicit
    (address, port) (``BgpListen.overrides``)."""

    def __init__(self, route_server: RouteServer, listen: BgpListen, **kwargs: Any) -> None:
        kwargs.setdefault("accept_limits", listen.accept_limits)
        super().__init__(route_server, port=listen.default_port, **kwargs)
        self._listen = listen

    def listen_addresses(self) -> dict[str, tuple[str, int]]:
        addresses = super().listen_addresses()
        for role in addresses:
            found = self._listen.override(self.name, role)
            if found is not None:
                addresses[role] = found
        return addresses

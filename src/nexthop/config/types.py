"""Field types for the topology file: IPv4 addresses/prefixes, names, enums, ASN sets.

Validators raise ``PydanticCustomError`` so that messages read as written here
(no "Value error," prefix). Addresses and prefixes are ``ipaddress`` objects in
the model (serialised back to text); ``to_prefix`` converts to the core
``nexthop.net.prefix.Prefix``. The route server's ASN, reserved ASNs (Azure
Route Server FAQ, route-server spec §1.1) and instance offsets are the ones
``nexthop.routeserver.config`` enforces, re-exported here.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer
from pydantic_core import PydanticCustomError

from nexthop.net.prefix import Afi, Prefix
from nexthop.routeserver.config import (
    AZURE_ASN,
    FIRST_INSTANCE_OFFSET,
    RESERVED_ASNS,
    is_reserved_asn,
)
from nexthop.vnet.model import GATEWAY_SUBNET, ROUTE_SERVER_SUBNET

__all__ = [
    "GATEWAY_SUBNET",
    "MAX_16BIT_ASN",
    "MAX_ASN",
    "RESERVED_ASNS",
    "ROUTE_SERVER_ASN",
    "ROUTE_SERVER_SUBNET",
    "Asn",
    "Distribution",
    "GatewayType",
    "HaRole",
    "HubRoutingPreference",
    "Ipv4Address",
    "Ipv4Prefix",
    "LbProtocol",
    "Name",
    "NextHopType",
    "NoHealthyBackendsBehavior",
    "ProbeProtocol",
    "ResponderMode",
    "is_reserved_asn",
    "route_server_instance_ips",
    "to_prefix",
]

ROUTE_SERVER_ASN = AZURE_ASN
MAX_ASN = 0xFFFFFFFF
MAX_16BIT_ASN = 0xFFFF

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")


def route_server_instance_ips(
    subnet: ipaddress.IPv4Network,
) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """The two instance addresses of a Route Server in ``subnet`` (base + 4, base + 5)."""
    base = subnet.network_address
    return base + FIRST_INSTANCE_OFFSET, base + FIRST_INSTANCE_OFFSET + 1


def to_prefix(network: ipaddress.IPv4Network) -> Prefix:
    return Prefix(Afi.IPV4, int(network.network_address), network.prefixlen)


def _address(value: Any) -> ipaddress.IPv4Address:
    if isinstance(value, ipaddress.IPv4Address):
        return value
    if isinstance(value, str):
        try:
            return ipaddress.IPv4Address(value)
        except ValueError:
            pass
    raise PydanticCustomError(
        "ipv4_address", "{value} is not an IPv4 address (like 10.1.0.4)", {"value": repr(value)}
    )


def _prefix(value: Any) -> ipaddress.IPv4Network:
    if isinstance(value, ipaddress.IPv4Network):
        return value
    if isinstance(value, str) and "/" in value:
        try:
            return ipaddress.IPv4Network(value)
        except ValueError:
            try:
                loose = ipaddress.IPv4Network(value, strict=False)
            except ValueError:
                pass
            else:
                raise PydanticCustomError(
                    "ipv4_prefix_host_bits",
                    "{value} has host bits set (did you mean {network}?)",
                    {"value": value, "network": str(loose)},
                ) from None
    raise PydanticCustomError(
        "ipv4_prefix", "{value} is not an IPv4 prefix (like 10.1.0.0/16)", {"value": repr(value)}
    )


def _name(value: Any) -> str:
    if isinstance(value, str) and _NAME.fullmatch(value):
        return value
    raise PydanticCustomError(
        "name",
        "{value} is not a valid name (1-80 letters, digits, '_', '.', '-'; "
        "starting with a letter or digit)",
        {"value": repr(value)},
    )


def _asn(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ASN:
        return value
    raise PydanticCustomError(
        "asn", "{value} is not an AS number (1-4294967295)", {"value": repr(value)}
    )


Ipv4Address = Annotated[
    ipaddress.IPv4Address, BeforeValidator(_address), PlainSerializer(str, return_type=str)
]
Ipv4Prefix = Annotated[
    ipaddress.IPv4Network, BeforeValidator(_prefix), PlainSerializer(str, return_type=str)
]
Name = Annotated[str, BeforeValidator(_name)]
Asn = Annotated[int, BeforeValidator(_asn)]


class NextHopType(StrEnum):
    """UDR next-hop types (Azure ``virtual-networks-udr-overview``)."""

    VIRTUAL_APPLIANCE = "virtual_appliance"
    VIRTUAL_NETWORK_GATEWAY = "virtual_network_gateway"
    VNET_LOCAL = "vnet_local"
    INTERNET = "internet"
    NONE = "none"


class HubRoutingPreference(StrEnum):
    """Route Server ``hubRoutingPreference`` (spec §1.5)."""

    EXPRESSROUTE = "expressroute"
    VPN_GATEWAY = "vpn_gateway"
    AS_PATH = "as_path"


class ProbeProtocol(StrEnum):
    TCP = "tcp"
    HTTP = "http"
    HTTPS = "https"


class LbProtocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"
    ALL = "all"  # HA ports when both ports are 0


class Distribution(StrEnum):
    """Load balancer distribution mode: 5-, 2- or 3-tuple hash (spec §3)."""

    DEFAULT = "default"
    SOURCE_IP = "source_ip"
    SOURCE_IP_PROTOCOL = "source_ip_protocol"


class NoHealthyBackendsBehavior(StrEnum):
    ALL_PROBED_DOWN = "all_probed_down"
    ALL_PROBED_UP = "all_probed_up"


class HaRole(StrEnum):
    """An NVA's role in its HA group: both ``active`` for active/active."""

    STANDALONE = "standalone"
    ACTIVE = "active"
    STANDBY = "standby"


class ResponderMode(StrEnum):
    """When the NVA's probe responder answers: always, or only while it is active
    (the active/passive pattern: the standby fails the LB probe on purpose)."""

    ALWAYS = "always"
    WHEN_ACTIVE = "when_active"


class GatewayType(StrEnum):
    VPN = "vpn"
    EXPRESSROUTE = "expressroute"

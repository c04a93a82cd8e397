"""Lab test helpers: a BGP port and heartbeat port nobody else is using, so a lab
someone runs on the default ports (``nexthop lab up``) does not collide."""

from __future__ import annotations

import socket

import pytest

from nexthop.lab import AddressMap


def _free(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def addresses() -> AddressMap:
    return AddressMap(bgp_port=_free(socket.SOCK_STREAM))


@pytest.fixture
def heartbeat_port() -> int:
    return _free(socket.SOCK_DGRAM)

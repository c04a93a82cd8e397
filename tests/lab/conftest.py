"""Lab test helpers: BGP, heartbeat and probe ports nobody else is using, so a lab
someone runs on the default ports (``nexthop lab up``), or another run of these
tests, does not collide."""

from __future__ import annotations

import random
import socket

import pytest

from nexthop.lab import AddressMap


def _free(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def addresses() -> AddressMap:
    # Probe responders keep their topology ports plus an offset nobody else picks
    # (an NVA probe port + offset stays below 65536 for the examples' ports).
    offset = random.Random().randrange(1, 40) * 1000
    return AddressMap(bgp_port=_free(socket.SOCK_STREAM), port_offset=offset)


@pytest.fixture
def heartbeat_port() -> int:
    return _free(socket.SOCK_DGRAM)

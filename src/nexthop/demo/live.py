"""Running one example live for the demo: free ports, convergence, and proof of cleanup.

``running_lab`` brings a ``nexthop.lab.Lab`` up on ports nobody else uses (a BGP
and a heartbeat port the kernel hands out, a random offset for probe responders,
retried if a bind still collides), so the demo runs next to ``nexthop lab up`` or
the test suite. On exit it brings the lab down and then tries to connect to every
endpoint the lab served (route server instances, probe responders): each check is
recorded in ``cleanup``, and a refused connection is the evidence that nothing is
left listening. ``converge`` waits until every BGP session is Established, every
peering has routes on both instances and every backend's probe verdict matches
whether its NVA answers (an HA standby is probed Down).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import AsyncIterator
from typing import Any

from nexthop.config import Topology, route_server_instance_ips
from nexthop.config.types import ROUTE_SERVER_SUBNET
from nexthop.lab import AddressMap, Lab, LabTimers
from nexthop.runtime.probes import tcp_probe

__all__ = ["converge", "running_lab"]

BIND_ATTEMPTS = 4
CONNECT_TIMEOUT_S = 1.0
POLL_S = 0.01


def _free_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _addresses(rng: random.Random) -> AddressMap:
    # Probe ports: 22 -> 10022 + offset, 8080/8443 -> port + offset; all below 65536.
    return AddressMap(
        bgp_port=_free_port(socket.SOCK_STREAM), port_offset=rng.randrange(1, 50) * 1000
    )


def _endpoints(lab: Lab) -> list[tuple[str, str, int]]:
    """(what, stand-in, port) of every TCP listener the lab runs."""
    topo = lab.topology
    found: list[tuple[str, str, int]] = []
    for rs in topo.route_servers:
        subnet = topo.subnet(rs.vnet, ROUTE_SERVER_SUBNET)
        if subnet is None:
            continue
        for index, ip in enumerate(route_server_instance_ips(subnet.prefix)):
            found.append(
                (
                    f"{rs.name} IN_{index} BGP",
                    lab.addresses.stand_in(str(ip)),
                    lab.addresses.bgp_port,
                )
            )
    for nva in topo.nvas:
        if nva.probe_responder is not None:
            found.append(
                (
                    f"{nva.name} probe responder",
                    lab.addresses.stand_in(str(nva.nic.ip)),
                    lab.addresses.port(nva.probe_responder.port),
                )
            )
    return found


@contextlib.asynccontextmanager
async def running_lab(
    topology: Topology, timers: LabTimers, cleanup: list[dict[str, Any]]
) -> AsyncIterator[Lab]:
    """The lab of ``topology``, up; down on exit, with a connect check per endpoint
    appended to ``cleanup``."""
    rng = random.Random()
    for attempt in range(BIND_ATTEMPTS):
        lab = Lab(
            topology,
            _addresses(rng),
            timers=timers,
            heartbeat_port=_free_port(socket.SOCK_DGRAM),
        )
        try:
            await lab.up()
        except OSError:  # a port taken between picking and binding: pick again
            if attempt == BIND_ATTEMPTS - 1:
                raise
            continue
        break
    endpoints = _endpoints(lab)
    try:
        yield lab
    finally:
        await lab.down()
        for what, host, port in endpoints:
            cleanup.append(
                {
                    "lab": topology.name,
                    "endpoint": what,
                    "address": f"{host}:{port}",
                    "listening": (await tcp_probe(host, port, CONNECT_TIMEOUT_S)).success,
                }
            )


def _settled(lab: Lab) -> bool:
    status = lab.status()
    if any(s["state"] != "Established" for s in status["sessions"]):
        return False
    for peerings in status["learned_routes"].values():
        for counts in peerings.values():
            if not all(counts.values()):
                return False
    nvas = status["nvas"]
    for rows in status["backend_health"].values():
        for row in rows:
            want = "Up" if nvas.get(row["name"], {}).get("answers_probe") else "Down"
            if row["probeState"] != want:
                return False
    return True


async def converge(lab: Lab, timeout: float, since: float) -> float:
    """Wait until the lab has settled (see the module docstring); the seconds from
    ``since`` (a loop time, taken before ``up()``)."""
    await lab.wait_until(lambda: _settled(lab), timeout, poll=POLL_S)
    return asyncio.get_running_loop().time() - since

"""The live lab on ``examples/next-hop-ip.yaml`` (fast timers), over real loopback TCP.

Waits poll the live state with a generous bound and assert on states, routes and
paths, never on durations.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from nexthop.config import load_topology
from nexthop.lab import AddressMap, Lab
from nexthop.routeserver import IN_0, IN_1
from nexthop.vnet.model import RouteSource, RouteState

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"
WAIT = 15.0
BOTH = [("rs", IN_0), ("rs", IN_1)]


def _refused(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        try:
            sock.connect((host, port))
        except ConnectionRefusedError:
            return True
    return False


def _learned(lab: Lab, peering: str) -> dict[str, list[tuple[str, str]]]:
    rows = lab.hosts["rs"].route_server.learned_routes(peering)
    return {
        role: sorted((str(r["network"]), str(r["nextHop"])) for r in routes)
        for role, routes in rows.items()
    }


def test_next_hop_ip_lab_end_to_end(addresses: AddressMap) -> None:
    topology = load_topology(EXAMPLE).topology
    lab = Lab(topology, addresses, fast=True)
    listeners = [lab.addresses.stand_in("10.1.1.4"), lab.addresses.stand_in("10.1.1.5")]

    async def main() -> None:
        await lab.up()
        try:
            await scenario()
        finally:
            await lab.down()
        await asyncio.sleep(0)
        leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert leftover == []

    async def scenario() -> None:
        # Both NVAs establish with both instances over real TCP.
        await lab.wait_until(
            lambda: lab.established("nva1") == BOTH and lab.established("nva2") == BOTH, WAIT
        )
        # The route server learned the on-premises prefix from each NVA with the
        # load balancer frontend as next hop (the outbound route-map).
        await lab.wait_until(lambda: _learned(lab, "nva2")[IN_1], WAIT)
        expected = [("192.168.0.0/16", "10.1.0.100")]
        for peering in ("nva1", "nva2"):
            assert _learned(lab, peering) == {IN_0: expected, IN_1: expected}
        # vm1's effective route comes from the live route server.
        world = lab.world
        assert world is not None
        routes = world.fabric.effective_routes("vm1-nic")
        active = [
            (r.source, r.next_hop_ips)
            for r in routes
            if str(r.prefix) == "192.168.0.0/16" and r.state is RouteState.ACTIVE
        ]
        assert active == [(RouteSource.VIRTUAL_NETWORK_GATEWAY, (0x0A010064,))]  # 10.1.0.100
        # Backend health from real probes against the NVAs' responders.
        await lab.wait_until(
            lambda: (
                lab.backend_state("ilb", "nva1") == "Up"
                and lab.backend_state("ilb", "nva2") == "Up"
            ),
            WAIT,
        )
        before = asyncio.get_running_loop().time()
        first = lab.trace("vm1", "192.168.1.1")
        assert first.ok
        # the World's clock is the lab's: flows age with the rule's idle timeout
        assert world.now >= before
        assert first.forward.nva in ("nva1", "nva2")

        await lab.fail("nva1")
        await lab.wait_until(lambda: lab.established("nva1") == [], WAIT)
        await lab.wait_until(lambda: lab.backend_state("ilb", "nva1") == "Down", WAIT)
        assert _learned(lab, "nva1") == {IN_0: [], IN_1: []}
        for port in range(40000, 40016):
            path = lab.trace("vm1", "192.168.1.1", src_port=port)
            assert path.ok, path.reason
            assert path.forward.nvas == ("nva2",)
        status = lab.status()
        assert status["nvas"]["nva1"]["up"] is False
        idle = {s["instance"] for s in status["sessions"] if s["nva"] == "nva1"}
        assert idle == {IN_0, IN_1}
        assert all(s["state"] == "Idle" for s in status["sessions"] if s["nva"] == "nva1")

        await lab.restore("nva1")
        await lab.wait_until(lambda: lab.established("nva1") == BOTH, WAIT)
        await lab.wait_until(lambda: lab.backend_state("ilb", "nva1") == "Up", WAIT)
        await lab.wait_until(lambda: _learned(lab, "nva1")[IN_1] == expected, WAIT)
        carriers = {
            lab.trace("vm1", "192.168.1.1", src_port=port).forward.nva
            for port in range(41000, 41064)
        }
        assert carriers == {"nva1", "nva2"}
        report = lab.traffic(count=60, seed=7)
        assert report.delivered == report.total == 60
        assert set(report.per_nva) == {"nva1", "nva2"}

    asyncio.run(main())
    assert lab.world is None
    for host in listeners:
        assert _refused(host, lab.addresses.bgp_port)
    assert _refused(lab.addresses.stand_in("10.1.0.4"), lab.addresses.port(22))

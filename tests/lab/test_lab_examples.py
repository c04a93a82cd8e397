"""Every example topology, live on loopback (fast timers), agrees with the model.

Once the lab has converged (every built-in NVA Established on every instance,
every probed backend decided), the live route server's learned and programmed
routes and a traffic run through the live-synced world equal those of a
``World`` built from the same file without any sockets.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import pytest

from nexthop.config import load_topology
from nexthop.lab import AddressMap, Lab
from nexthop.lb import HaState
from nexthop.routeserver import RouteServer
from nexthop.runtime.route_server_host import RouteServerHost
from nexthop.world import FAST, World, WorldOptions, generate_flows, run_traffic

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))
WAIT = 15.0


def _converged(lab: Lab) -> bool:
    world = lab.world
    if world is None:
        return False
    for name, nva in lab.nvas.items():
        if len(lab.established(name)) != len(world.nva(name).sessions):
            return False
        if nva.ha is not None and nva.ha_state not in (HaState.ACTIVE, HaState.STANDBY):
            return False
    for lb in world.load_balancers.values():
        if any(row["probeState"] == "Unknown" for row in lb.engine.backend_health()):
            return False
    return True


def _same_routes(host: RouteServerHost, expected: RouteServer) -> bool:
    return host.route_server.vnet_routes() == expected.vnet_routes()


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_live_lab_matches_the_model(path: Path, addresses: AddressMap, heartbeat_port: int) -> None:
    topology = load_topology(path).topology
    model = World.from_topology(topology, 0.0, WorldOptions(timers=FAST))
    lab = Lab(topology, addresses, fast=True, heartbeat_port=heartbeat_port)

    async def main() -> None:
        await lab.up()
        try:
            await lab.wait_until(lambda: _converged(lab), WAIT)
            # Routes learned over real sessions settle right after Established.
            for name, host in lab.hosts.items():
                expected = model.route_servers[name].server
                await lab.wait_until(functools.partial(_same_routes, host, expected), WAIT)
                for peering in expected.peerings():
                    assert host.route_server.learned_routes(
                        peering.name
                    ) == expected.learned_routes(peering.name)
            world = lab.world
            assert world is not None
            flows = generate_flows(model, 40, seed=3)
            live = lab.traffic(flows)
            offline = run_traffic(model, flows, model.now)
            assert live.per_nva == offline.per_nva
            assert live.failure_causes == offline.failure_causes
            assert [r.ok for r in live.results] == [r.ok for r in offline.results]
        finally:
            await lab.down()

    asyncio.run(main())

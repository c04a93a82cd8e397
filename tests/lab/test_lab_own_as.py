"""The model and the lab's built-in NVAs agree on routes carrying the NVA's own AS:
both drop them (RFC 4271 §9.1.2), through the one ``NvaSpeaker`` policy.

On ``examples/next-hop-ip.yaml`` both NVAs are AS 65001 and announce
192.168.0.0/16; the route server reflects one NVA's route to the other as
``65515 65001``. Waits are bounded polls of live state, no timing assertions.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from nexthop.bgp.rib.path import as_path_asns
from nexthop.config import load_topology
from nexthop.lab import AddressMap, Lab
from nexthop.routeserver import IN_0, IN_1
from nexthop.world import World

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"
WAIT = 15.0
BOTH = [("rs", IN_0), ("rs", IN_1)]
INSTANCES = {IN_0: "10.1.1.4", IN_1: "10.1.1.5"}


def _model_learned(world: World, nva: str) -> dict[str, set[str]]:
    node = world.nva(nva)
    return {role: {str(k[2]) for k in node.learned if k[1] == role} for role in INSTANCES}


def test_model_and_builtin_nvas_both_drop_their_own_as(addresses: AddressMap) -> None:
    topology = load_topology(EXAMPLE).topology
    model = World.from_topology(topology, 0.0)
    # The model hears a reflected route with its own AS and drops it.
    rejected = {r for n in model.nvas.values() for r in n.rejected.values()}
    assert rejected == {"AS_PATH 65515 65001 holds own AS 65001"}
    lab = Lab(topology, addresses, fast=True)

    async def main() -> None:
        await lab.up()
        try:
            await lab.wait_until(
                lambda: lab.established("nva1") == BOTH and lab.established("nva2") == BOTH,
                WAIT,
            )
            server = lab.hosts["rs"].route_server
            # One NVA was offered the other's route back (65515 65001).
            await lab.wait_until(
                lambda: any(
                    any("65001" in str(r["asPath"]) for r in rows)
                    for peering in ("nva1", "nva2")
                    for rows in server.advertised_routes(peering).values()
                ),
                WAIT,
            )
            for name in ("nva1", "nva2"):
                await lab.wait_until(
                    lambda n=name: all(lab.nvas[n].received_routes(a) for a in INSTANCES.values()),
                    WAIT,
                )
                live = lab.nvas[name]
                received = {
                    role: {str(p) for p in live.received_routes(address)}
                    for role, address in INSTANCES.items()
                }
                assert received == _model_learned(model, name)
                for address in INSTANCES.values():
                    for attrs in live.received_routes(address).values():
                        assert 65001 not in as_path_asns(attrs)
        finally:
            await lab.down()

    asyncio.run(main())

"""An external NVA: the lab only peers with it (and probes it) at the address given.

The "external process" here is the plain ``nexthop.runtime.speaker.Speaker`` plus a
``ProbeResponder``, playing what a real FRR would do from its own address.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from nexthop.bgp.fsm import SessionState
from nexthop.config import load_topology
from nexthop.lab import AddressMap, Lab, LabError
from nexthop.routeserver import IN_0, IN_1
from nexthop.runtime.probes import ProbeResponder, ResponderMode
from nexthop.runtime.speaker import PeerConfig, Speaker

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"
WAIT = 15.0
EXTERNAL = "127.0.60.5"


def test_external_nva_is_peered_and_probed_at_its_own_address(addresses: AddressMap) -> None:
    lab = Lab(load_topology(EXAMPLE).topology, addresses, fast=True, external={"nva2": EXTERNAL})
    assert lab.addresses.stand_in("10.1.0.5") == EXTERNAL
    assert sorted(lab.nvas) == []  # nothing runs before up()

    async def main() -> None:
        speaker = Speaker(65001, "10.1.0.5", listen_address=EXTERNAL, listen_port=0)
        for ip in ("10.1.1.4", "10.1.1.5"):
            speaker.add_peer(
                PeerConfig(
                    address=addresses.stand_in(ip),
                    asn=65515,
                    port=addresses.bgp_port,
                    hold_time=9,
                    keepalive=3,
                    connect_retry=0.2,
                    idle_hold_time=0.1,
                )
            )
        speaker.announce("192.168.0.0/16", next_hop="10.1.0.100")
        responder = ProbeResponder(EXTERNAL, addresses.port(22), mode=ResponderMode.TCP)
        await lab.up()
        await responder.start()
        await speaker.start()
        try:
            await scenario()
            await speaker.stop()
            await lab.wait_until(lambda: lab.established("nva2") == [], WAIT)
        finally:
            await speaker.stop()
            await responder.stop()
            await lab.down()

    async def scenario() -> None:
        assert sorted(lab.nvas) == ["nva1"]  # only nva1 is built in
        both = [("rs", IN_0), ("rs", IN_1)]
        await lab.wait_until(
            lambda: lab.established("nva2") == both and lab.established("nva1") == both, WAIT
        )
        server = lab.hosts["rs"].route_server
        await lab.wait_until(lambda: server.learned_routes("nva2")[IN_0], WAIT)
        learned = server.learned_routes("nva2")
        assert {(r["network"], r["nextHop"], r["sourcePeer"]) for r in learned[IN_0]} == {
            ("192.168.0.0/16", "10.1.0.100", "10.1.0.5")
        }
        await lab.wait_until(lambda: lab.backend_state("ilb", "nva2") == "Up", WAIT)
        status = lab.status()
        assert status["nvas"]["nva2"]["kind"] == "external"
        assert status["nvas"]["nva2"]["stand_in"] == EXTERNAL
        states = {(s["nva"], s["instance"]): s["state"] for s in status["sessions"]}
        assert states[("nva2", IN_0)] == SessionState.ESTABLISHED.value
        with pytest.raises(LabError, match="external"):
            await lab.fail("nva2")
        # Traffic can cross the external NVA like any other.
        await lab.fail("nva1")
        await lab.wait_until(lambda: lab.backend_state("ilb", "nva1") == "Down", WAIT)
        path = lab.trace("vm1", "192.168.1.1", src_port=45000)
        assert path.ok, path.reason
        assert path.forward.nvas == ("nva2",)

    asyncio.run(main())

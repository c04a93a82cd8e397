"""Active-passive failover in the live lab (``examples/active-passive.yaml``, fast timers).

``measure_failover`` is a measurement: the test checks that traffic moved to the
standby and that a time was measured, and prints it (``pytest -s``); it makes no
claim about how long it took.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from nexthop.config import load_topology
from nexthop.lab import AddressMap, Lab
from nexthop.lb import HaState

EXAMPLE = Path(__file__).parents[2] / "examples" / "active-passive.yaml"
WAIT = 15.0


def _role(lab: Lab, nva: str) -> HaState | None:
    return lab.nvas[nva].ha_state


def test_killing_the_active_nva_moves_new_flows_to_the_standby(
    addresses: AddressMap, heartbeat_port: int
) -> None:
    lab = Lab(
        load_topology(EXAMPLE).topology,
        addresses,
        fast=True,
        heartbeat_port=heartbeat_port,
    )

    async def main() -> None:
        await lab.up()
        try:
            await scenario()
        finally:
            await lab.down()

    async def scenario() -> None:
        await lab.wait_until(
            lambda: (
                lab.backend_state("ilb", "fw-a") == "Up"
                and lab.backend_state("ilb", "fw-b") == "Down"
            ),
            WAIT,
        )
        assert _role(lab, "fw-a") is HaState.ACTIVE
        assert _role(lab, "fw-b") is HaState.STANDBY
        assert lab.nvas["fw-b"].heartbeats_received > 0
        assert lab.trace("vm1", "192.168.10.1").forward.nvas == ("fw-a",)

        result = await lab.measure_failover(timeout=WAIT)
        print(f"\nactive-passive failover ({result.timers} timers): {result.failover_time:.3f} s")
        for at, kind, subject in result.timeline:
            print(f"  +{at:.3f}s {kind} {subject}")

        assert result.nva == "fw-a"
        assert result.before == "fw-a"
        assert result.after == "fw-b"
        assert result.moved_to_standby
        assert result.failover_time is not None
        assert result.failover_time > 0
        assert result.moved_from_survivors == 0
        # TCP flows opened before the kill stay pinned to the dead NVA (Azure keeps
        # existing TCP flows on a probed-down backend); none of them moved.
        assert result.stayed_on_failed == result.existing_flows
        kinds = [kind for _, kind, _ in result.timeline]
        assert kinds.index("nva_failed") < kinds.index("ha_active") < kinds.index("backend_up")
        assert _role(lab, "fw-b") is HaState.ACTIVE
        assert lab.status()["nvas"]["fw-b"]["answers_probe"] is True

        # The old active comes back as standby and does not take over (no flap-back).
        await lab.restore("fw-a")
        await lab.wait_until(lambda: _role(lab, "fw-a") is HaState.STANDBY, WAIT)
        await lab.wait_until(lambda: len(lab.established("fw-a")) == 2, WAIT)
        assert _role(lab, "fw-b") is HaState.ACTIVE
        assert lab.trace("vm1", "192.168.10.1", src_port=33333).forward.nvas == ("fw-b",)

    asyncio.run(main())


ACTIVE_ACTIVE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"


def test_active_active_failover_keeps_the_survivors_flows(addresses: AddressMap) -> None:
    lab = Lab(load_topology(ACTIVE_ACTIVE).topology, addresses, fast=True)

    async def main() -> None:
        await lab.up()
        try:
            await lab.wait_until(
                lambda: (
                    lab.backend_state("ilb", "nva1") == "Up"
                    and lab.backend_state("ilb", "nva2") == "Up"
                ),
                WAIT,
            )
            result = await lab.measure_failover("nva1", existing_flows=32, timeout=WAIT)
        finally:
            await lab.down()
        print(f"\nactive-active failover ({result.timers} timers): {result.failover_time:.3f} s")
        assert result.failover_time is not None
        assert result.carriers == ("nva2",)
        # Flows the survivor carried stay with it; the dead NVA's TCP flows stay
        # pinned to it (and are lost), none of them moved.
        assert result.moved_from_survivors == 0
        assert result.moved_from_failed == 0
        assert 0 < result.stayed_on_failed < result.existing_flows

    asyncio.run(main())

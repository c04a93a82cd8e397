"""``nexthop serve`` health-probes the load balancer's backends over real TCP: real
processes on loopback, ``Speaker``s as the NVAs' BGP side and ``ProbeResponder``s as
their probe ports, at the stand-ins ``nexthop serve`` probes (``10.1.0.4:22`` ->
``127.1.0.4:10022``). Assertions are on states only, never on durations."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from serve_process import (
    BASE,
    EXAMPLE,
    NVA_IPS,
    example_addresses,
    free_port,
    nva_speaker,
    start_serve,
    until,
)

from nexthop.bgp.fsm import SessionState
from nexthop.lab import AddressMap
from nexthop.runtime.probes import ProbeResponder, ResponderMode
from nexthop.runtime.speaker import Speaker

PROBE_PORT = 22  # the example's probe: tcp/22, every 5 s, threshold 2
VM2 = {"name": "vm2", "nic": {"vnet": "hub", "subnet": "workload", "ip": "10.1.2.5"}}


def _responder(addresses: AddressMap, nva: str) -> ProbeResponder:
    return ProbeResponder(
        addresses.stand_in(NVA_IPS[nva]), addresses.port(PROBE_PORT), mode=ResponderMode.TCP
    )


async def _health(api: httpx.AsyncClient) -> dict[str, tuple[str, str]]:
    """ilb's backends: name -> (state, probeState)."""
    r = await api.get(f"{BASE}/loadbalancers/ilb/backend-health")
    r.raise_for_status()
    (rule,) = r.json()["loadBalancingRules"]
    return {b["name"]: (b["state"], b["probeState"]) for b in rule["loadBalancerBackendAddresses"]}


def _health_is(api: httpx.AsyncClient, want: dict[str, tuple[str, str]]) -> Any:
    async def check() -> bool:
        return await _health(api) == want

    return check


async def _live(api: httpx.AsyncClient) -> bool:
    return bool((await api.get(f"{BASE}/lab/status")).json()["live"])


def _established(speakers: list[Speaker]) -> bool:
    return all(s.peer_state(p) is SessionState.ESTABLISHED for s in speakers for p in s.peers)


async def _start(speakers: list[Speaker], responders: list[ProbeResponder]) -> None:
    for speaker in speakers:
        await speaker.start()
    for responder in responders:
        await responder.start()


def test_backend_health_follows_real_probes(tmp_path: Path) -> None:
    async def main() -> None:
        addresses = example_addresses()
        served = await start_serve(tmp_path / "nexthop.db", free_port(), str(EXAMPLE))
        speakers = [nva_speaker(name, addresses, served.bgp_port) for name in NVA_IPS]
        nva1, nva2 = _responder(addresses, "nva1"), _responder(addresses, "nva2")
        try:
            await _start(speakers, [nva1])
            await until(lambda: _established(speakers), "every session Established")
            async with served.client() as api:
                await until(lambda: _live(api), "the runtime to go live")
                up, down = ("Up", "Up"), ("Down", "Down")
                await until(
                    _health_is(api, {"nva1": up, "nva2": down}), "nva1 Up, nva2 Down (refused)"
                )
                await nva2.start()
                await until(_health_is(api, {"nva1": up, "nva2": up}), "nva2 Up once it answers")
                # a change that leaves ilb alone keeps its prober and health (a fresh
                # one would start Unknown and need two probe rounds to be Up again)
                (await api.put(f"{BASE}/resources/vms/vm2", json=VM2)).raise_for_status()
                assert await _health(api) == {"nva1": up, "nva2": up}
                await nva1.stop()
                await until(_health_is(api, {"nva1": down, "nva2": up}), "nva1 Down once stopped")
                query = {"source": "vm1", "destination": "192.168.7.7", "protocol": "tcp"}
                traced = (await api.get(f"{BASE}/trace", params=query)).json()
                assert traced["forward"]["delivered"]
                assert traced["forward"]["nvas"] == ["nva2"]  # the only healthy backend
        finally:
            for responder in (nva1, nva2):
                await responder.stop()
            for speaker in speakers:
                await speaker.stop()
            served.stop()

    asyncio.run(main())


def test_no_probes_keeps_the_model_health(tmp_path: Path) -> None:
    """``--no-probes``: nothing answers on the probe ports, yet the live view keeps
    the model's verdict (both NVAs Up)."""

    async def main() -> None:
        addresses = example_addresses()
        served = await start_serve(
            tmp_path / "nexthop.db", free_port(), str(EXAMPLE), "--no-probes"
        )
        speakers = [nva_speaker(name, addresses, served.bgp_port) for name in NVA_IPS]
        try:
            await _start(speakers, [])
            await until(lambda: _established(speakers), "every session Established")
            async with served.client() as api:
                await until(lambda: _live(api), "the runtime to go live")
                up = ("Up", "Up")
                assert await _health(api) == {"nva1": up, "nva2": up}
        finally:
            for speaker in speakers:
                await speaker.stop()
            served.stop()

    asyncio.run(main())

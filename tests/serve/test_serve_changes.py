"""``nexthop serve``: committed changes reach the live route servers, and the
``--bgp*`` options (where the instances listen, what happens when they cannot)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from serve_process import (
    AZURE_ASN,
    BASE,
    EXAMPLE,
    INSTANCE_IPS,
    example_addresses,
    free_port,
    nva_speaker,
    start_serve,
    until,
)
from typer.testing import CliRunner

from nexthop.bgp.constants import CeaseSubcode, ErrorCode
from nexthop.bgp.fsm import SessionState
from nexthop.cli.main import app
from nexthop.runtime.listen import BgpListen, BindMode, parse_bgp_address
from nexthop.runtime.speaker import PeerConfig, Speaker

VM2 = {"name": "vm2", "nic": {"vnet": "hub", "subnet": "workload", "ip": "10.1.2.5"}}
NVA3 = {"name": "nva3", "peer_ip": "10.1.0.6", "peer_asn": 65002, "external": True}
EXTRA = "172.16.0.0/12"


def _established(speakers: list[Speaker]) -> bool:
    return all(s.peer_state(p) is SessionState.ESTABLISHED for s in speakers for p in s.peers)


async def _learned(api: httpx.AsyncClient, peering: str) -> set[str]:
    r = await api.get(f"{BASE}/routeservers/rs/peerings/{peering}/learned-routes")
    return {row["network"] for rows in r.json().values() for row in rows} if r.is_success else set()


async def _vm2_routes(api: httpx.AsyncClient) -> list[Any]:
    r = await api.get(f"{BASE}/nics/vm2/effective-route-table")
    if not r.is_success:
        return []
    return [
        (row["addressPrefix"], row["nextHopIpAddress"])
        for row in r.json()["value"]
        if row["source"] == "VirtualNetworkGateway" and row["state"] == "Active"
    ]


SPOKE = """
  - name: spoke
    address_space: [10.20.0.0/16]
    subnets:
      - name: app
        prefix: 10.20.1.0/24
peerings:
  - name: spoke-to-hub
    local_vnet: spoke
    remote_vnet: hub
    use_remote_gateways: true
    allow_gateway_transit: true
"""


def _with_spoke(text: str) -> str:
    """The example with vm2 (as PUT above) and a spoke VNet that uses the hub's
    route server."""
    vm2 = "  - name: vm2\n    nic: {vnet: hub, subnet: workload, ip: 10.1.2.5}\n"
    text = text.replace("vms:\n", "vms:\n" + vm2)
    head, sep, tail = text.partition("\nroute_servers:")
    return head.rstrip() + SPOKE + sep + tail


def _no_notification(speakers: list[Speaker]) -> bool:
    return all(s.last_notification(p) is None for s in speakers for p in s.peers)


def test_changes_restart_only_what_they_change(tmp_path: Path) -> None:
    async def main() -> None:
        addresses = example_addresses()
        served = await start_serve(tmp_path / "nexthop.db", free_port(), str(EXAMPLE))
        speakers = [nva_speaker(n, addresses, served.bgp_port) for n in ("nva1", "nva2")]
        nva3 = Speaker(65002, "10.1.0.6", listen_address="127.1.0.6", listen_port=0)
        try:
            for speaker in speakers:
                speaker.announce(EXTRA, next_hop="10.1.0.100")
                await speaker.start()
            await until(lambda: _established(speakers), "every session Established")
            async with served.client() as api:
                # a change the route server does not see: its sessions stay up
                (await api.put(f"{BASE}/resources/vms/vm2", json=VM2)).raise_for_status()
                expected = [
                    (["172.16.0.0/12"], ["10.1.0.100"]),
                    (["192.168.0.0/16"], ["10.1.0.100"]),
                ]
                await until(lambda: _has_routes(api, expected), "vm2's BGP routes")
                assert _no_notification(speakers)

                # a probe change: only the load balancer's prober restarts, BGP is untouched
                lb = (await api.get(f"{BASE}/resources/load_balancers/ilb")).json()
                lb["probes"][0]["interval_s"] = 6
                (await api.put(f"{BASE}/resources/load_balancers/ilb", json=lb)).raise_for_status()
                assert sorted(await _vm2_routes(api)) == expected
                assert _no_notification(speakers)
                assert _established(speakers)

                # a VNet peering: ROUTE-REFRESH to every NVA (route-server-spec §1.2), no
                # reset, and the hub VMs keep their routes throughout
                refreshes = {id(s): _refreshes(s) for s in speakers}
                samples: list[list[Any]] = []
                stop = asyncio.Event()

                async def sample() -> None:
                    while not stop.is_set():
                        samples.append(sorted(await _vm2_routes(api)))
                        await asyncio.sleep(0.01)

                sampler = asyncio.create_task(sample())
                body = {"yaml": _with_spoke(EXAMPLE.read_text())}
                await until(lambda: len(samples) >= 3, "vm2's routes sampled before")
                (await api.post(f"{BASE}/apply", json=body)).raise_for_status()
                after = len(samples)
                await until(lambda: len(samples) >= after + 3, "vm2's routes sampled after")
                await until(
                    lambda: all(_refreshes(s) > refreshes[id(s)] for s in speakers),
                    "a ROUTE-REFRESH on every session",
                )
                stop.set()
                await sampler
                assert samples
                assert all(sample == expected for sample in samples)
                assert _no_notification(speakers)
                assert _established(speakers)
                hub = addresses.stand_in(INSTANCE_IPS[0])
                await until(
                    lambda: all(_advertised(s, hub, "10.20.0.0/16") for s in speakers),
                    "the spoke's range advertised to the NVAs",
                )

                # a new peering: added, the others keep their sessions
                rs = (await api.get(f"{BASE}/resources/route_servers/rs")).json()
                rs["peerings"] = [*rs["peerings"], NVA3]
                (await api.put(f"{BASE}/resources/route_servers/rs", json=rs)).raise_for_status()
                for instance in INSTANCE_IPS:
                    nva3.add_peer(
                        PeerConfig(
                            address=addresses.stand_in(instance),
                            asn=AZURE_ASN,
                            port=served.bgp_port,
                            connect_retry=0.5,
                        )
                    )
                nva3.announce("10.200.0.0/16", next_hop="10.1.0.6")  # not its stand-in
                await nva3.start()
                await until(lambda: _established([*speakers, nva3]), "all three NVAs peered")
                await until(_nva3_learned(api), "nva3's route learned")
                assert sorted(await _vm2_routes(api))[0] == (["10.200.0.0/16"], ["10.1.0.6"])
                assert _no_notification(speakers)

                # the peering removed again: Cease/Peer De-configured to nva3 only
                rs["peerings"] = [p for p in rs["peerings"] if p["name"] != "nva3"]
                (await api.put(f"{BASE}/resources/route_servers/rs", json=rs)).raise_for_status()
                first = addresses.stand_in(INSTANCE_IPS[0])
                await until(lambda: nva3.last_notification(first) is not None, "nva3's Cease")
                notification = nva3.last_notification(first)
                assert notification is not None
                assert (notification.code, notification.subcode) == (
                    ErrorCode.CEASE,
                    CeaseSubcode.PEER_DE_CONFIGURED,
                )
                assert _no_notification(speakers)
                assert _established(speakers)
        finally:
            for speaker in [*speakers, nva3]:
                await speaker.stop()
            served.stop()

    asyncio.run(main())


def _advertised(speaker: Speaker, peer: str, prefix: str) -> bool:
    return any(str(p) == prefix for p in speaker.received_routes(peer))


def _refreshes(speaker: Speaker) -> int:
    return sum(speaker.refreshes_received(p) for p in speaker.peers)


async def _has_routes(api: httpx.AsyncClient, expected: list[Any]) -> bool:
    return sorted(await _vm2_routes(api)) == expected


def _nva3_learned(api: httpx.AsyncClient) -> Any:
    async def check() -> bool:
        return "10.200.0.0/16" in await _learned(api, "nva3")

    return check


def test_an_instance_can_listen_on_an_explicit_address(tmp_path: Path) -> None:
    async def main() -> None:
        port = free_port()
        served = await start_serve(
            tmp_path / "nexthop.db",
            port,
            str(EXAMPLE),
            "--bgp-address",
            f"IN_0=127.9.0.4:{port}",
            "--bgp-address",
            f"rs/RouteServiceRole_IN_1=127.9.0.5:{port}",
        )
        nva = Speaker(65001, "10.1.0.4", listen_address="127.1.0.4", listen_port=0)
        for address in ("127.9.0.4", "127.9.0.5"):
            nva.add_peer(PeerConfig(address=address, asn=AZURE_ASN, port=port, connect_retry=0.5))
        try:
            await nva.start()
            await until(lambda: _established([nva]), "sessions to the explicit addresses")
            for address, instance in zip(("127.9.0.4", "127.9.0.5"), INSTANCE_IPS, strict=True):
                await until(lambda a=address: bool(nva.received_routes(a)), "the VNet's space")
                received = nva.received_routes(address)
                assert [(str(p), r.next_hop) for p, r in received.items()] == [
                    ("10.1.0.0/16", instance)
                ]
        finally:
            await nva.stop()
            served.stop()

    asyncio.run(main())


def test_without_bgp_ports_the_model_answers_and_bgp_required_fails(tmp_path: Path) -> None:
    async def main() -> None:
        taken = socket.socket()
        taken.bind(("127.1.1.4", 0))
        taken.listen()
        port = taken.getsockname()[1]
        try:
            served = await start_serve(tmp_path / "a.db", port, str(EXAMPLE), bgp="")
            try:
                async with served.client() as api:
                    status = (await api.get(f"{BASE}/lab/status")).json()
                    assert status["live"] is False
                    assert await _learned(api, "nva1") == {"192.168.0.0/16"}  # the model
            finally:
                err = served.stop()
            assert "warning: BGP not started" in err
        finally:
            taken.close()

    asyncio.run(main())
    db = tmp_path / "b.db"
    result = CliRunner().invoke(
        app,
        [
            "serve",
            str(EXAMPLE),
            "--db",
            str(db),
            "--port",
            str(free_port()),
            "--bgp",
            "--bgp-bind",
            "real",
        ],
    )
    assert result.exit_code == 1
    assert "error: BGP: cannot listen" in result.output


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("IN_0=127.0.0.1:1790", ("IN_0", ("127.0.0.1", 1790))),
        ("rs/RouteServiceRole_IN_1=10.1.1.5:179", ("rs/RouteServiceRole_IN_1", ("10.1.1.5", 179))),
        ("IN_1=[::1]:1790", ("IN_1", ("::1", 1790))),
    ],
)
def test_bgp_address_parses(text: str, parsed: tuple[str, tuple[str, int]]) -> None:
    assert parse_bgp_address(text) == parsed


@pytest.mark.parametrize(
    "text", ["IN_2=127.0.0.1:1790", "IN_0=127.0.0.1", "IN_0=host:1790", "IN_0=127.0.0.1:0", "IN_0"]
)
def test_bad_bgp_address_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"IN_0=ADDRESS:PORT|is not ADDRESS:PORT"):
        parse_bgp_address(text)


def test_listen_plan_ports_and_overrides() -> None:
    assert BgpListen().default_port == 1790
    assert BgpListen(mode=BindMode.REAL).default_port == 179
    assert BgpListen(mode=BindMode.REAL, port=1179).default_port == 1179
    plan = BgpListen(overrides={"IN_0": ("127.0.0.1", 1), "rs/IN_0": ("127.0.0.2", 2)})
    assert plan.override("rs", "RouteServiceRole_IN_0") == ("127.0.0.2", 2)  # the named one wins
    assert plan.override("other", "RouteServiceRole_IN_0") == ("127.0.0.1", 1)
    assert plan.override("rs", "RouteServiceRole_IN_1") is None

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
from nexthop.runtime.serve_runtime import BgpListen, BindMode, parse_bgp_address
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


def test_changes_keep_or_restart_the_route_servers(tmp_path: Path) -> None:
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
                assert sorted(await _vm2_routes(api)) == expected
                assert all(s.last_notification(p) is None for s in speakers for p in s.peers)

                # a new peering: the route server restarts with it, everyone reconnects
                rs = (await api.get(f"{BASE}/resources/route_servers/rs")).json()
                rs["peerings"] = [*rs["peerings"], NVA3]
                (await api.put(f"{BASE}/resources/route_servers/rs", json=rs)).raise_for_status()
                first = addresses.stand_in(INSTANCE_IPS[0])
                for speaker in speakers:
                    await until(
                        lambda s=speaker: s.last_notification(first) is not None, "the Cease"
                    )
                    notification = speaker.last_notification(first)
                    assert notification is not None
                    assert (notification.code, notification.subcode) == (
                        ErrorCode.CEASE,
                        CeaseSubcode.ADMINISTRATIVE_SHUTDOWN,
                    )
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
        finally:
            for speaker in [*speakers, nva3]:
                await speaker.stop()
            served.stop()

    asyncio.run(main())


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

"""``nexthop serve`` runs the topology's BGP-4 route server: real processes, real TCP
on loopback, the plain ``Speaker`` playing the NVAs (see ``serve_process``)."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import httpx
from serve_process import (
    AZURE_ASN,
    BASE,
    EXAMPLE,
    INSTANCE_IPS,
    NVA_ASN,
    NVA_IPS,
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
from nexthop.lab import AddressMap
from nexthop.net.prefix import parse_prefix
from nexthop.runtime.speaker import PeerConfig, Speaker

ROLES = ("RouteServiceRole_IN_0", "RouteServiceRole_IN_1")
ONPREM = parse_prefix("192.168.0.0/16")
HUB = parse_prefix("10.1.0.0/16")
EXTRA = "172.16.0.0/12"  # not in the topology: only the live route server can know it


def _as_path(speaker: Speaker, peer: str, prefix: object) -> tuple[int, ...] | None:
    route = speaker.received_routes(peer).get(prefix)  # type: ignore[call-overload]
    if route is None:
        return None
    return tuple(asn for segment in route.attributes.as_path for asn in segment.asns)


async def _learned(api: httpx.AsyncClient, peering: str) -> dict[str, list[dict[str, object]]]:
    r = await api.get(f"{BASE}/routeservers/rs/peerings/{peering}/learned-routes")
    r.raise_for_status()
    return r.json()  # type: ignore[no-any-return]


async def _learned_everywhere(
    api: httpx.AsyncClient, network: str = str(ONPREM), peerings: tuple[str, ...] = ("nva1", "nva2")
) -> bool:
    for peering in peerings:
        rows = await _learned(api, peering)
        if not all(any(r["network"] == network for r in rows[role]) for role in ROLES):
            return False
    return True


async def _effective(api: httpx.AsyncClient, prefix: str) -> list[tuple[str, str, list[str]]]:
    """vm1's Active routes for ``prefix``: (source, next hop type, next hop IPs)."""
    table = (await api.get(f"{BASE}/nics/vm1/effective-route-table")).json()
    return [
        (r["source"], r["nextHopType"], r["nextHopIpAddress"])
        for r in table["value"]
        if r["addressPrefix"] == [prefix] and r["state"] == "Active"
    ]


async def _cli(*args: str) -> Any:
    """``nexthop ARGS`` (a CLI client of the running server); its JSON output."""
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _all_established(speakers: list[Speaker]) -> bool:
    return all(s.peer_state(p) is SessionState.ESTABLISHED for s in speakers for p in s.peers)


def _reflected(speakers: list[Speaker]) -> bool:
    """Every NVA has the VNet's space from both instances, and on each instance the
    on-premises route reached the NVA whose path was not chosen as best (a route
    server never sends a peer its own route back)."""
    hub = all(_as_path(s, p, HUB) is not None for s in speakers for p in s.peers)
    return hub and all(
        sum(_as_path(s, p, ONPREM) is not None for s in speakers) == 1 for p in speakers[0].peers
    )


async def _start_nvas(addresses: AddressMap, bgp_port: int) -> list[Speaker]:
    speakers = [nva_speaker(name, addresses, bgp_port) for name in NVA_IPS]
    for speaker in speakers:
        await speaker.start()
    return speakers


def test_nvas_peer_both_instances_and_the_vnet_follows(tmp_path: Path) -> None:
    async def main() -> None:
        addresses = example_addresses()
        served = await start_serve(tmp_path / "nexthop.db", free_port(), str(EXAMPLE))
        speakers: list[Speaker] = []
        try:
            async with served.client() as api:  # no peer yet: the live network says so
                assert (await api.get(f"{BASE}/lab/status")).json()["live"] is True
                fresh = (await api.get(f"{BASE}/routeservers/rs/peerings")).json()
                assert {p["name"]: p["connectionState"] for p in fresh} == {
                    "nva1": "NotConnected",
                    "nva2": "NotConnected",
                }
                detail = (await api.get(f"{BASE}/routeservers/rs/peerings/nva1")).json()
                assert {s["state"] for s in detail["instances"].values()} == {"Idle"}
                assert (await _learned(api, "nva1")) == {role: [] for role in ROLES}
                metrics = (await api.get("/metrics")).text
                established = [
                    line.rsplit(" ", 1)[1]
                    for line in metrics.splitlines()
                    if line.startswith("nexthop_peering_established{")
                ]
                assert established == ["0.0"] * 4  # 2 peerings x 2 instances, none up
                assert await _effective(api, str(ONPREM)) != [
                    ("VirtualNetworkGateway", "VirtualNetworkGateway", ["10.1.0.100"])
                ]
            speakers = await _start_nvas(addresses, served.bgp_port)
            await until(lambda: _all_established(speakers), "every session Established")
            await until(lambda: _reflected(speakers), "routes reflected to the NVAs")
            async with served.client() as api:
                assert (await api.get(f"{BASE}/lab/status")).json()["live"] is True
                await until(lambda: _learned_everywhere(api), "learned routes over the API")
                for peering, ip in NVA_IPS.items():
                    rows = await _learned(api, peering)
                    for role, local in zip(ROLES, INSTANCE_IPS, strict=True):
                        assert {
                            "network": "192.168.0.0/16",
                            "nextHop": "10.1.0.100",  # kept as the NVA set it
                            "sourcePeer": ip,
                            "localAddress": local,
                            "asPath": "65001",
                        }.items() <= rows[role][0].items()
                to_frontend = [("VirtualNetworkGateway", "VirtualNetworkGateway", ["10.1.0.100"])]
                assert await _effective(api, str(ONPREM)) == to_frontend
                speakers[1].announce(EXTRA, next_hop="10.1.0.100")
                await until(
                    lambda: _learned_everywhere(api, EXTRA, ("nva2",)), "a new route, learned live"
                )
                assert await _effective(api, EXTRA) == to_frontend
                cli = await _cli(
                    "routeserver", "peering", "list-learned-routes",
                    "--routeserver", "rs", "-n", "nva2", "--server", served.url, "-o", "json",
                )  # fmt: skip
                assert {r["network"] for r in cli[ROLES[0]]} == {EXTRA, str(ONPREM)}
                cli = await _cli(
                    "nic", "show-effective-route-table", "-n", "vm1",
                    "--server", served.url, "-o", "json",
                )  # fmt: skip
                active = [
                    (r["source"], r["nextHopType"], r["nextHopIpAddress"])
                    for r in cli["value"]
                    if r["addressPrefix"] == [EXTRA] and r["state"] == "Active"
                ]
                assert active == to_frontend
                speakers[1].withdraw(EXTRA)

                async def withdrawn() -> bool:
                    rows = await _learned(api, "nva2")
                    gone = all(r["network"] != EXTRA for role in ROLES for r in rows[role])
                    # Azure's default "None" route for 172.16.0.0/12 is Active again
                    default = [("Default", "None", [])]
                    return gone and await _effective(api, EXTRA) == default

                await until(withdrawn, "the withdrawn route gone from the VNet")
                peerings = (await api.get(f"{BASE}/routeservers/rs/peerings")).json()
                assert {p["name"]: p["connectionState"] for p in peerings} == {
                    "nva1": "Connected",
                    "nva2": "Connected",
                }
                metrics = (await api.get("/metrics")).text
                assert (
                    'nexthop_peering_established{instance="RouteServiceRole_IN_1",'
                    'peering="nva2",routeserver="rs"} 1.0'
                ) in metrics
            for speaker in speakers:
                for instance in INSTANCE_IPS:
                    peer = addresses.stand_in(instance)
                    received = speaker.received_routes(peer)
                    hub = received[HUB]
                    assert _as_path(speaker, peer, HUB) == (AZURE_ASN,)
                    assert hub.next_hop == instance
            for instance in INSTANCE_IPS:
                peer = addresses.stand_in(instance)
                # the other NVA's route, reflected next-hop-self (spec §1.7)
                receivers = [s for s in speakers if ONPREM in s.received_routes(peer)]
                assert len(receivers) == 1
                onprem = receivers[0].received_routes(peer)[ONPREM]
                assert _as_path(receivers[0], peer, ONPREM) == (AZURE_ASN, NVA_ASN)
                assert onprem.next_hop == instance
        finally:
            for speaker in speakers:
                await speaker.stop()
            served.stop()

    asyncio.run(main())


def test_restart_restores_resources_and_sessions(tmp_path: Path) -> None:
    async def main() -> None:
        addresses = example_addresses()
        db, bgp_port = tmp_path / "nexthop.db", free_port()
        served = await start_serve(db, bgp_port, str(EXAMPLE))
        speakers: list[Speaker] = []
        try:
            speakers = await _start_nvas(addresses, bgp_port)
            await until(lambda: _all_established(speakers), "every session Established")
            async with served.client() as api:
                await until(lambda: _learned_everywhere(api), "learned routes over the API")
                kinds = (await api.get(f"{BASE}/resources")).json()
                resources = {k: (await api.get(f"{BASE}/resources/{k}")).json() for k in kinds}
            served.stop()
            for speaker in speakers:
                for peer in speaker.peers:
                    await until(
                        lambda s=speaker, p=peer: s.last_notification(p) is not None,
                        "the Cease of the stopping server",
                    )
                    notification = speaker.last_notification(peer)
                    assert notification is not None
                    assert (notification.code, notification.subcode) == (
                        ErrorCode.CEASE,
                        CeaseSubcode.ADMINISTRATIVE_SHUTDOWN,
                    )

            served = await start_serve(db, bgp_port)  # no file: the database has it all
            async with served.client() as api:
                again = {k: (await api.get(f"{BASE}/resources/{k}")).json() for k in resources}
                assert again == resources
                await until(lambda: _all_established(speakers), "the NVAs to reconnect")
                await until(lambda: _learned_everywhere(api), "routes learned again")
            await until(lambda: _reflected(speakers), "routes reflected again")
        finally:
            for speaker in speakers:
                await speaker.stop()
            served.stop()

    asyncio.run(main())


def test_a_peer_from_an_unconfigured_address_is_refused(tmp_path: Path) -> None:
    async def main() -> None:
        addresses = example_addresses()
        served = await start_serve(tmp_path / "nexthop.db", free_port(), str(EXAMPLE))
        try:
            instance = (addresses.stand_in(INSTANCE_IPS[0]), served.bgp_port)

            def attempt() -> bytes:
                with socket.socket() as s:
                    s.settimeout(10)
                    s.bind(("127.1.0.77", 0))  # 10.1.0.77: no peering has it
                    s.connect(instance)
                    try:
                        return s.recv(4096)  # no OPEN: the server closes at once
                    except ConnectionResetError:
                        return b""

            assert await asyncio.to_thread(attempt) == b""
            stray = Speaker(NVA_ASN, "10.1.0.77", listen_address="127.1.0.77", listen_port=0)
            good = nva_speaker("nva1", addresses, served.bgp_port)
            stray.add_peer(
                PeerConfig(address=instance[0], asn=AZURE_ASN, port=instance[1], connect_retry=0.5)
            )
            for speaker in (stray, good):
                await speaker.start()
            try:
                await until(lambda: _all_established([good]), "the configured NVA's sessions")
                assert stray.peer_state(instance[0]) is not SessionState.ESTABLISHED
                async with served.client() as api:
                    peerings = (await api.get(f"{BASE}/routeservers/rs/peerings")).json()
                assert {p["peerIp"] for p in peerings} == set(NVA_IPS.values())
            finally:
                await stray.stop()
                await good.stop()
        finally:
            served.stop()

    asyncio.run(main())

"""``nexthop serve`` with a BFD peering, no daemon and no root: the NVA is the plain
``Speaker`` for BGP plus two sans-IO ``BfdSession``s (one per route server
instance) pumped over UDP on the NVA's loopback stand-in. When the pump stops
(the NVA hangs without a word), the route server's BFD detects it and ends both
BGP sessions with Cease/BFD Down (RFC 9384) long before the 90 s hold time; the
API names BFD as the reason. Assertions are on states and reasons, not durations.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from nexthop.bfd import BfdConfig, BfdSession, State
from nexthop.bgp.constants import CeaseSubcode, ErrorCode
from nexthop.bgp.fsm import SessionState
from nexthop.lab import AddressMap
from nexthop.runtime.bfd_transport import SINGLE_HOP_PORT
from nexthop.runtime.speaker import PeerConfig, Speaker

INSTANCE_IPS = ("10.78.1.4", "10.78.1.5")
NVA_IP = "10.78.0.9"
NVA_ASN = 65010
WAIT = 30.0
TOPOLOGY = f"""
name: bfd-serve
region: westeurope
vnets:
  - name: hub
    address_space: [10.78.0.0/16]
    subnets:
      - {{name: nva, prefix: 10.78.0.0/24}}
      - {{name: RouteServerSubnet, prefix: 10.78.1.0/26}}
route_servers:
  - name: rs
    vnet: hub
    peerings:
      - name: nva
        peer_ip: {NVA_IP}
        peer_asn: {NVA_ASN}
        external: true
        bfd: {{min_tx_ms: 50, min_rx_ms: 50, multiplier: 3}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until(predicate: Callable[[], Awaitable[bool] | bool], what: str) -> None:
    try:
        async with asyncio.timeout(WAIT):
            while True:
                result = predicate()
                if not isinstance(result, bool):
                    result = await result
                if result:
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def _pump(sessions: dict[str, BfdSession], local: str) -> None:
    """The NVA's BFD: one receive socket on (local, 3784), one sender per session
    (TTL 255), until cancelled; then it falls silent, sending no AdminDown."""
    loop = asyncio.get_running_loop()
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    rx.bind((local, SINGLE_HOP_PORT))
    rx.setblocking(False)
    senders = {}
    for i, remote in enumerate(sessions):
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tx.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
        tx.bind((local, 49152 + os.getpid() % 10000 + i))
        senders[remote] = tx
    try:
        while True:
            with contextlib.suppress(BlockingIOError):
                while True:
                    data, (source, _) = rx.recvfrom(512)
                    if source in sessions:
                        sessions[source].receive(data, loop.time())
            for remote, session in sessions.items():
                session.handle_timer(loop.time())
                for datagram in session.datagrams_to_send():
                    senders[remote].sendto(datagram, (remote, SINGLE_HOP_PORT))
            await asyncio.sleep(0.005)
    finally:
        rx.close()
        for tx in senders.values():
            tx.close()


def test_a_silent_peer_is_taken_down_through_bfd(tmp_path: Path) -> None:
    async def main() -> None:
        addresses = AddressMap([*INSTANCE_IPS, NVA_IP])
        instances = [addresses.stand_in(ip) for ip in INSTANCE_IPS]
        nva = addresses.stand_in(NVA_IP)
        topology = tmp_path / "topology.yaml"
        topology.write_text(TOPOLOGY)
        bgp_port, api_port = _free_port(), _free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("NEXTHOP_TOKEN", "NEXTHOP_DB")}
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "nexthop.cli.main", "serve", str(topology)),
                *("--db", str(tmp_path / "nexthop.db"), "--port", str(api_port)),
                *("--bgp", "--bgp-port", str(bgp_port)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        api = httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", timeout=10.0)
        speaker = Speaker(NVA_ASN, NVA_IP, listen_address=nva, listen_port=0)
        for instance in instances:
            speaker.add_peer(PeerConfig(address=instance, asn=65515, port=bgp_port))
        config = BfdConfig.from_ms(min_tx_ms=50, min_rx_ms=50, multiplier=3)
        rng = random.Random(7)
        loop = asyncio.get_running_loop()
        sessions = {
            address: BfdSession(config, local_discriminator=100 + i, rng=rng, now=loop.time())
            for i, address in enumerate(instances)
        }
        pump: asyncio.Task[None] | None = None

        async def views() -> dict[str, dict[str, Any]]:
            r = await api.get("/api/v1/routeservers/rs/peerings/nva")
            r.raise_for_status()
            return r.json()["instances"]  # type: ignore[no-any-return]

        async def healthy() -> bool:
            assert process.poll() is None, "nexthop serve exited"
            with contextlib.suppress(httpx.TransportError):
                return (await api.get("/healthz")).status_code == 200
            return False

        async def bfd_up_everywhere() -> bool:
            ours = {(v["bfd"] or {}).get("state") for v in (await views()).values()}
            return ours == {"Up"} and all(s.state is State.UP for s in sessions.values())

        async def down_through_bfd() -> bool:
            return all(
                "BFD session down (control detection time expired)" in v["last_error"]
                and v["state"] != "Established"
                for v in (await views()).values()
            )

        try:
            await until(healthy, "nexthop serve to answer /healthz")
            pump = asyncio.create_task(_pump(sessions, nva))
            await speaker.start()
            await until(bfd_up_everywhere, "BFD Up on both instances and at the NVA")
            await until(
                lambda: all(
                    speaker.peer_state(p) is SessionState.ESTABLISHED for p in speaker.peers
                ),
                "both BGP sessions Established",
            )
            metrics = (await api.get("/metrics")).text
            assert metrics.count('nexthop_bfd_up{instance="') == 2
            pump.cancel()  # the NVA hangs: no AdminDown, no more packets
            await until(down_through_bfd, "the API to name BFD as the reason")
            for peer in speaker.peers:
                notification = speaker.last_notification(peer)
                assert notification is not None
                assert (notification.code, notification.subcode) == (
                    ErrorCode.CEASE,
                    CeaseSubcode.BFD_DOWN,
                )
        finally:
            if pump is not None:
                pump.cancel()
            await speaker.stop()
            await api.aclose()
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    asyncio.run(main())

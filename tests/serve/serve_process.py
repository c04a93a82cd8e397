"""Run ``nexthop serve`` as a real process (API and BGP on loopback) and play its
NVAs with the plain ``nexthop.runtime.speaker.Speaker``.

Waits are bounded polls of live state; the tests assert on states, routes and
NOTIFICATIONs, never on durations.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from nexthop.lab import AddressMap
from nexthop.runtime.speaker import PeerConfig, Speaker

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"
BASE = "/api/v1"
WAIT_S = 30.0
INSTANCE_IPS = ("10.1.1.4", "10.1.1.5")
NVA_IPS = {"nva1": "10.1.0.4", "nva2": "10.1.0.5"}
NVA_ASN = 65001
AZURE_ASN = 65515


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until(predicate: Callable[[], Awaitable[bool] | bool], what: str) -> None:
    """Poll ``predicate`` (sync or async) until true; fail naming ``what``."""
    try:
        async with asyncio.timeout(WAIT_S):
            while True:
                result = predicate()
                if not isinstance(result, bool):
                    result = await result
                if result:
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


@dataclass
class Served:
    """A running ``nexthop serve``."""

    process: subprocess.Popen[str]
    url: str
    bgp_port: int

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30.0)

    def stop(self) -> str:
        """SIGTERM (as a service manager would); returns stderr."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            _, err = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return err


async def start_serve(db: Path, bgp_port: int, *args: str, bgp: str = "--bgp") -> Served:
    """``nexthop serve [args] --db DB --port FREE --bgp --bgp-port BGP_PORT`` (``bgp``
    replaces ``--bgp``; empty for the default); returns once ``/healthz`` answers."""
    port = free_port()
    command = [sys.executable, "-m", "nexthop.cli.main", "serve", *args]
    command += ["--db", str(db), "--port", str(port), "--bgp-port", str(bgp_port)]
    command += [bgp] if bgp else []
    env = {k: v for k, v in os.environ.items() if k not in ("NEXTHOP_TOKEN", "NEXTHOP_DB")}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    served = Served(process=process, url=f"http://127.0.0.1:{port}", bgp_port=bgp_port)

    async def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"nexthop serve exited early:\n{served.stop()}")
        try:
            async with served.client() as api:
                return (await api.get("/healthz")).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await until(healthy, "nexthop serve to answer /healthz")
    except AssertionError:
        served.stop()
        raise
    return served


def nva_speaker(name: str, addresses: AddressMap, bgp_port: int) -> Speaker:
    """NVA ``name`` at its stand-in, peering both instances and announcing the
    on-premises prefix with NEXT_HOP = the load balancer frontend (spec §1.8)."""
    ip = NVA_IPS[name]
    speaker = Speaker(NVA_ASN, ip, listen_address=addresses.stand_in(ip), listen_port=0)
    for instance in INSTANCE_IPS:
        speaker.add_peer(
            PeerConfig(
                address=addresses.stand_in(instance),
                asn=AZURE_ASN,
                port=bgp_port,
                connect_retry=0.5,
                idle_hold_time=0.5,
            )
        )
    speaker.announce("192.168.0.0/16", next_hop="10.1.0.100")
    return speaker


def example_addresses() -> AddressMap:
    """The stand-ins ``nexthop serve`` uses for the example (those of ``lab up``)."""
    return AddressMap([*INSTANCE_IPS, *NVA_IPS.values(), "10.1.2.4", "10.1.0.100"])


__all__ = [
    "AZURE_ASN",
    "BASE",
    "EXAMPLE",
    "INSTANCE_IPS",
    "NVA_ASN",
    "NVA_IPS",
    "Served",
    "example_addresses",
    "free_port",
    "nva_speaker",
    "start_serve",
    "until",
]

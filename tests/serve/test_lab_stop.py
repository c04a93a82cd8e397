"""``nexthop lab up`` stopped by SIGTERM (as a service manager or Ctrl-C would) takes
its lab down: every peer of the route servers gets Cease/Administrative Shutdown
(RFC 4486 §4), an external one included, instead of a bare TCP close.

Waits are bounded polls; the assertions are on NOTIFICATIONs, never on durations.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import yaml
from serve_process import AZURE_ASN, EXAMPLE, INSTANCE_IPS, free_port, until

from nexthop.bgp.constants import CeaseSubcode, ErrorCode
from nexthop.bgp.fsm import SessionState
from nexthop.config import load_topology_text
from nexthop.lab import AddressMap
from nexthop.runtime.network import topology_addresses
from nexthop.runtime.speaker import PeerConfig, Speaker

EXTERNAL_IP, EXTERNAL_ASN = "10.1.0.9", 65009
SSH_PORT = 22
UP = SessionState.ESTABLISHED


def _with_external_peer(tmp_path: Path) -> tuple[Path, AddressMap]:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["route_servers"][0]["peerings"].append(
        {"name": "ext", "peer_ip": EXTERNAL_IP, "peer_asn": EXTERNAL_ASN, "external": True}
    )
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(data))
    topology = load_topology_text(path.read_text(), str(path)).topology
    return path, AddressMap(topology_addresses(topology))


def test_sigterm_brings_the_lab_down_with_cease_to_every_peer(tmp_path: Path) -> None:
    async def main() -> None:
        file, addresses = _with_external_peer(tmp_path)
        port, bgp_port = free_port(), free_port()
        command = [sys.executable, "-m", "nexthop.cli.main", "lab", "up", str(file)]
        command += ["--db", str(tmp_path / "lab.db"), "--port", str(port)]
        command += ["--bgp-port", str(bgp_port), "--port-offset", str(free_port() - SSH_PORT)]
        env = {k: v for k, v in os.environ.items() if k not in ("NEXTHOP_TOKEN", "NEXTHOP_DB")}
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        speaker = Speaker(
            EXTERNAL_ASN, EXTERNAL_IP, listen_address=addresses.stand_in(EXTERNAL_IP), listen_port=0
        )
        try:

            async def healthy() -> bool:
                assert process.poll() is None, process.communicate()[1]
                try:
                    async with httpx.AsyncClient(timeout=5) as api:
                        response = await api.get(f"http://127.0.0.1:{port}/healthz")
                        return response.status_code == 200
                except httpx.TransportError:
                    return False

            await until(healthy, "lab up to answer /healthz")
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
            await speaker.start()
            await until(
                lambda: all(
                    speaker.peer_state(p) is SessionState.ESTABLISHED for p in speaker.peers
                ),
                "the external peer Established on both instances",
            )
            process.terminate()
            for peer in speaker.peers:
                await until(
                    lambda p=peer: speaker.last_notification(p) is not None,
                    "the Cease of the stopping lab",
                )
                notification = speaker.last_notification(peer)
                assert notification is not None
                assert (notification.code, notification.subcode) == (
                    ErrorCode.CEASE,
                    CeaseSubcode.ADMINISTRATIVE_SHUTDOWN,
                )
        finally:
            await speaker.stop()
            if process.poll() is None:
                process.terminate()
            _, err = process.communicate(timeout=30)
        assert process.returncode in (0, -15), err

    asyncio.run(main())

"""A real FRR ``bgpd`` as an external NVA, running the topology's own config.

Skipped locally when FRR is not installed, failed in CI (``tests/conftest.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from nexthop.config import load_topology
from nexthop.lab import AddressMap, Lab
from nexthop.lab.frr import BGPD, bgpd_command, lab_frr_config
from nexthop.routeserver import IN_0, IN_1
from nexthop.runtime.probes import ProbeResponder, ResponderMode

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"
WAIT = 30.0
FRR_ADDRESS = "127.0.70.5"


def _vnet_prefix_seen(workdir: Path) -> bool:
    out = subprocess.run(
        ["vtysh", "--vty_socket", str(workdir), "-d", "bgpd", "-c", "show bgp ipv4 unicast json"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout
    with contextlib.suppress(ValueError):
        return "10.1.0.0/16" in json.loads(out).get("routes", {})
    return False


def test_frr_runs_the_topology_config_as_an_external_nva(
    addresses: AddressMap,
    tmp_path: Path,
    require_daemon: Callable[[str, str, str], str],
) -> None:
    bgpd = require_daemon("frr", BGPD, "frr")
    require_daemon("frr", "vtysh", "frr")
    topology = load_topology(EXAMPLE).topology
    lab = Lab(topology, addresses, fast=True, external={"nva2": FRR_ADDRESS})
    nva2 = topology.nva("nva2")
    assert nva2 is not None
    config = tmp_path / "bgpd.conf"
    config.write_text(lab_frr_config(nva2, lab.addresses, log_file=tmp_path / "bgpd.log"))
    assert (
        f"neighbor {addresses.stand_in('10.1.1.4')} port {addresses.bgp_port}" in config.read_text()
    )
    assert "set ip next-hop 10.1.0.100" in config.read_text()

    async def main() -> None:
        responder = ProbeResponder(FRR_ADDRESS, addresses.port(22), mode=ResponderMode.TCP)
        await lab.up()
        await responder.start()
        log = (tmp_path / "bgpd.out").open("wb")
        process = subprocess.Popen(
            bgpd_command(config, tmp_path, FRR_ADDRESS, binary=bgpd),
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            both = [("rs", IN_0), ("rs", IN_1)]
            await lab.wait_until(lambda: lab.established("nva2") == both, WAIT)
            server = lab.hosts["rs"].route_server
            await lab.wait_until(
                lambda: server.learned_routes("nva2")[IN_0] and server.learned_routes("nva2")[IN_1],
                WAIT,
            )
            for rows in server.learned_routes("nva2").values():
                assert [(r["network"], r["nextHop"], r["asPath"]) for r in rows] == [
                    ("192.168.0.0/16", "10.1.0.100", "65001")
                ]
            # FRR learned the VNet address space from the route server.
            await lab.wait_until(lambda: _vnet_prefix_seen(tmp_path), WAIT, poll=0.5)
            await lab.wait_until(lambda: lab.backend_state("ilb", "nva2") == "Up", WAIT)
            await lab.fail("nva1")
            await lab.wait_until(lambda: lab.backend_state("ilb", "nva1") == "Down", WAIT)
            path = lab.trace("vm1", "192.168.1.1", src_port=46000)
            assert path.ok, path.reason
            assert path.forward.nvas == ("nva2",)
            # Kill FRR outright: the kernel resets its connections.
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            await lab.wait_until(lambda: lab.established("nva2") == [], WAIT)
            assert server.learned_routes("nva2") == {IN_0: [], IN_1: []}
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            log.close()
            await responder.stop()
            await lab.down()

    asyncio.run(main())

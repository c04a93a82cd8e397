"""Run nexthop's asyncio ``Speaker`` as a benchmark target in its own process.

Usage: ``python -m benchmarks.nexthop_target SPEC.json`` where the JSON gives
``asn``, ``address``, ``port`` and ``peers`` (address, port, asn). The speaker
connects out to every peer. Line protocol on stdin/stdout:

* ``count`` -> the number of routes in all peers' Adj-RIB-In, one integer line;
* end of input -> stop the speaker and exit.

With ``"route_server": true`` (the propagation scenario) it runs nexthop's
``RouteServer`` behind ``RouteServerHost`` instead: passive, so the harness dials
it at ``RS_INSTANCE_STAND_IN``, and it reflects each peer's routes to the others.

``--check`` exits 0 when the speaker can be imported, else prints the reason.
Logging is limited to warnings so the run measures BGP work, not log output.
With ``NEXTHOP_BENCH_PROFILE=FILE`` set, the target runs under cProfile and dumps
its statistics to FILE on exit (read them with ``python -m pstats FILE``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _load_speaker() -> tuple[Any, Any]:
    from nexthop.runtime.speaker import PeerConfig, Speaker  # noqa: PLC0415

    return Speaker, PeerConfig


async def _serve(spec: dict[str, Any]) -> None:
    import structlog  # noqa: PLC0415

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    speaker_cls, peer_config_cls = _load_speaker()
    speaker = speaker_cls(spec["asn"], spec["address"], spec["address"], spec["port"])
    for peer in spec["peers"]:
        speaker.add_peer(
            peer_config_cls(
                address=peer["address"],
                asn=peer["asn"],
                port=peer["port"],
                hold_time=240,
                keepalive=80,
                connect_retry=1.0,
            )
        )
    await speaker.start()

    def count() -> int:
        return sum(speaker.received_count(p["address"]) for p in spec["peers"])

    await _line_protocol(count)
    await speaker.stop()


# Route-server mode: nexthop's Azure-model RouteServer behind RouteServerHost. It is
# passive (peers dial it), serves topology addresses through loopback stand-ins,
# and reflects every NVA's routes to the other NVAs.
RS_SUBNET = "10.9.0.0/26"  # instances 10.9.0.4 (IN_0) and 10.9.0.5 (IN_1)
RS_INSTANCE_STAND_IN = "127.0.9.4"
HUB_ADDRESS_SPACE = "10.0.0.0/8"  # serve_target's hub VNet


def topology_address(stand_in: str) -> str:
    """The harness peer 127.b.c.d is the NVA 10.b.c.d in the route server's world."""
    return "10." + stand_in.split(".", 1)[1]


async def _serve_route_server(spec: dict[str, Any]) -> None:
    import structlog  # noqa: PLC0415

    from nexthop.net.prefix import parse_prefix  # noqa: PLC0415
    from nexthop.routeserver import PeeringConfig, RouteServer, RouteServerConfig  # noqa: PLC0415
    from nexthop.runtime.addresses import AddressMap  # noqa: PLC0415
    from nexthop.runtime.route_server_host import HostTimers, RouteServerHost  # noqa: PLC0415

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    config = RouteServerConfig(
        name="bench",
        subnet=parse_prefix(RS_SUBNET),
        max_peers=max(8, len(spec["peers"])),
        max_routes_per_peer=10_000_000,
        max_total_routes=10_000_000,
        # Azure's own counting (held + in this UPDATE) is O(1) per UPDATE; the
        # unique-prefix variant rebuilds a set of the whole Adj-RIB-In per UPDATE.
        count_readvertised_routes=True,
        # The address space of serve_target's hub VNet: like the product's route
        # server, the stage profile then checks each prefix against it before
        # programming the VNet (route-server-spec §1.4 "Prefix acceptance").
        vnet_address_spaces=(parse_prefix(HUB_ADDRESS_SPACE),),
    )
    server = RouteServer(config)
    overrides = {"10.9.0.4": RS_INSTANCE_STAND_IN, "10.9.0.5": "127.0.9.5"}
    names = []
    for i, peer in enumerate(spec["peers"]):
        topo = topology_address(peer["address"])
        overrides[topo] = peer["address"]
        names.append(f"peer{i}")
        server.add_peering(PeeringConfig(name=f"peer{i}", peer_ip=topo, peer_asn=peer["asn"]))
    host = RouteServerHost(
        server,
        addresses=AddressMap(overrides=overrides),
        port=spec["port"],
        timers=HostTimers(hold_time=240, keepalive_time=80),
    )
    await host.start()

    def count() -> int:
        return sum(
            status.accepted_routes
            for name in names
            for status in server.peering_status(name).values()
            if status.instance.endswith("0")
        )

    await _line_protocol(count)
    await host.stop()


async def _line_protocol(count: Any) -> None:
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    async def count_async() -> int:
        return int(count())

    def stdin_loop() -> None:
        for line in sys.stdin:
            if line.strip() == "count":
                value = asyncio.run_coroutine_threadsafe(count_async(), loop).result()
                sys.stdout.write(f"{value}\n")
                sys.stdout.flush()
        loop.call_soon_threadsafe(done.set)

    threading.Thread(target=stdin_loop, daemon=True).start()
    await done.wait()


def main() -> None:
    if sys.argv[1:] == ["--check"]:
        try:
            _load_speaker()
        except Exception as exc:
            print(f"nexthop speaker unavailable: {exc!r}")
            sys.exit(1)
        return
    spec = json.loads(Path(sys.argv[1]).read_text())
    serve = _serve_route_server if spec.get("route_server") else _serve
    profile_to = os.environ.get("NEXTHOP_BENCH_PROFILE")
    if not profile_to:
        asyncio.run(serve(spec))
        return
    import cProfile  # noqa: PLC0415

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        asyncio.run(serve(spec))
    finally:
        profiler.disable()
        profiler.dump_stats(profile_to)


if __name__ == "__main__":
    main()

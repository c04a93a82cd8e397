"""The product as a benchmark target: ``nexthop serve TOPOLOGY`` in a subprocess.

The harness writes a topology (``serve_topology``): one VNet with a
RouteServerSubnet, one route server ``rs`` whose limits are raised so that a
million routes per peer are accepted (``limits.max_routes_per_peer``,
``max_total_routes``, ``max_peers``: docs/topology.md), and one
``external: true`` peering per harness peer (blasters ``feeder<i>``, monitors
``client<i>``). The harness peer at loopback ``127.b.c.d`` is the topology
address ``10.b.c.d`` (serve's stand-in rule, docs/lab.md "Address plan"), so
the route server accepts its connection. It then runs::

    nexthop serve FILE --db TMP/db.sqlite --port API --bgp --no-probes \\
        --bgp-address IN_0=127.0.9.4:BGP --bgp-address IN_1=127.0.9.5:BGP

with free ports, waits for ``/healthz``, and the harness dials ``IN_0``. The
count (``received``) is the sum over the peerings of ``accepted_routes`` on
``RouteServiceRole_IN_0`` from ``GET /api/v1/routeservers/rs/peerings/{name}``,
exactly what a user of the product would read. Peak RSS is the serve process's
``VmHWM`` (``targets.tree_peak_rss``; the venv has no psutil, and psutil has no
peak figure on Linux anyway).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from typing import Any

import yaml

from benchmarks.nexthop_target import HUB_ADDRESS_SPACE, RS_INSTANCE_STAND_IN, topology_address
from benchmarks.rest import (
    API_PREFIX,
    ApiClient,
    ApiError,
    ApiTimeoutError,
    free_port,
    instance_counters,
)
from benchmarks.targets import (
    _REPO,
    CliTimeoutError,
    PeerSpec,
    Target,
    TargetUnavailableError,
    bench_pythonpath,
)
from nexthop.net.prefix import Prefix

__all__ = [
    "IN_1_STAND_IN",
    "RS_NAME",
    "SERVE_LIMITS",
    "NexthopServe",
    "nexthop_command",
    "peering_name",
    "serve_topology",
]

RS_NAME = "rs"
RS_SUBNET = "10.9.0.0/26"  # IN_0 10.9.0.4, IN_1 10.9.0.5 (spec §1: base + 4, + 5)
VM_NAME = "vm1"  # a VM in the hub, whose effective routes show what the VNet is programmed with
VM_SUBNET, VM_IP = "10.9.1.0/24", "10.9.1.4"
BGP_SOURCE = "VirtualNetworkGateway"
IN_1_STAND_IN = "127.0.9.5"
API_HOST = "127.0.0.1"
START_TIMEOUT = 60.0
# Far above any benchmark size, so that no route is refused for a limit.
SERVE_LIMITS = {"max_routes_per_peer": 10_000_000, "max_total_routes": 10_000_000}


def nexthop_command(*args: str) -> list[str]:
    """``nexthop ARGS`` run by this interpreter (so the frozen source on PYTHONPATH
    is the code measured, not whatever the ``nexthop`` script would import)."""
    return [sys.executable, "-c", "from nexthop.cli.main import app; app()", *args]


def peering_name(spec: PeerSpec, index: int) -> str:
    """The topology name of a harness peer: its own name, else ``peer<index>``."""
    return spec.name or f"peer{index}"


def serve_topology(peers: list[PeerSpec]) -> str:
    """The topology YAML for ``peers``: one route server, an external peering each."""
    peerings = [
        {
            "name": peering_name(p, i),
            "peer_ip": topology_address(p.address),
            "peer_asn": p.asn,
            "external": True,
        }
        for i, p in enumerate(peers)
    ]
    topology: dict[str, Any] = {
        "name": "bench-serve",
        "description": "written by benchmarks.serve_target for one benchmark run",
        "region": "westeurope",
        "vnets": [
            {
                "name": "hub",
                "address_space": [HUB_ADDRESS_SPACE],
                "subnets": [
                    {"name": "RouteServerSubnet", "prefix": RS_SUBNET},
                    {"name": "workload", "prefix": VM_SUBNET},
                ],
            }
        ],
        "vms": [{"name": VM_NAME, "nic": {"vnet": "hub", "subnet": "workload", "ip": VM_IP}}],
        "route_servers": [
            {
                "name": RS_NAME,
                "vnet": "hub",
                "limits": {**SERVE_LIMITS, "max_peers": max(8, len(peers))},
                "peerings": peerings,
            }
        ],
    }
    return yaml.safe_dump(topology, sort_keys=False)


class NexthopServe(Target):
    """``nexthop serve`` with the harness's peers as external peerings; see the module."""

    name = "nexthop"
    label = "nexthop serve (the product: REST API, route server over TCP)"
    extra_advertised = 1  # the hub's address space, 10.0.0.0/8

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api_port = 0
        self.api: ApiClient | None = None
        self.names: list[str] = []
        self._not_bgp: dict[Prefix, int] = {}  # system/user routes inside a space

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = bench_pythonpath()
        return env

    def check(self) -> None:
        result = subprocess.run(
            [sys.executable, "-c", "import nexthop.cli.main"],
            capture_output=True,
            text=True,
            cwd=_REPO,
            check=False,
            env=self.environment(),
        )
        if result.returncode != 0:
            reason = (result.stdout + result.stderr).strip().splitlines()
            raise TargetUnavailableError(reason[-1] if reason else "nexthop CLI unavailable")

    def version(self) -> str:
        from nexthop import __version__  # noqa: PLC0415

        return f"nexthop {__version__} serve on Python {sys.version.split()[0]}"

    def dial_address(self) -> str | None:
        return RS_INSTANCE_STAND_IN

    def write_config(self) -> None:
        self.names = [peering_name(p, i) for i, p in enumerate(self.peers)]
        (self.workdir / "topology.yaml").write_text(serve_topology(self.peers))

    def command(self) -> list[str]:
        return nexthop_command(
            "serve", str(self.workdir / "topology.yaml"),
            "--db", str(self.workdir / "state.db"),
            "--host", API_HOST, "--port", str(self.api_port),
            "--bgp", "--no-probes",
            "--bgp-address", f"IN_0={RS_INSTANCE_STAND_IN}:{self.port}",
            "--bgp-address", f"IN_1={IN_1_STAND_IN}:{self.port}",
        )  # fmt: skip

    def start(self, peers: list[PeerSpec]) -> None:
        self.api_port = free_port(API_HOST)
        self.port = _free_port_on_both(RS_INSTANCE_STAND_IN, IN_1_STAND_IN)
        super().start(peers)
        self.api = ApiClient(API_HOST, self.api_port)
        try:
            self.api.wait_healthy(time.monotonic() + START_TIMEOUT, self.alive)
        except ApiError as exc:
            tail = self.tail_log(5)
            msg = f"{exc}: {tail}" if tail else str(exc)
            raise TargetUnavailableError(msg) from None

    def received(self) -> int:
        """Routes accepted on IN_0 from all peerings, by the product's REST API."""
        if self.api is None:
            return 0
        try:
            return sum(
                int(instance_counters(self.api.peering(RS_NAME, n)).get("accepted_routes", 0))
                for n in self.names
            )
        except ApiTimeoutError as exc:
            raise CliTimeoutError(str(exc)) from None
        except ApiError as exc:  # refused: the process is gone or restarting
            if not self.alive():
                return 0
            raise CliTimeoutError(str(exc)) from None

    def programmed(self, space: Prefix, goal: int) -> int | None:
        """``goal`` once ``vm1``'s effective routes (``GET /api/v1/nics/vm1/
        effective-route-table?prefix=SPACE``, pages by route) hold at least ``goal``
        BGP routes inside ``space``, else 0. Rows come system first, then BGP in
        prefix order, then user: the last BGP route is at skip = system routes
        inside ``space`` + goal - 1. Reading a page settles the VNet's backlog
        (docs/performance.md), so this is when a user would see the routes."""
        if self.api is None:
            return 0
        path = f"{API_PREFIX}/nics/{VM_NAME}/effective-route-table?prefix={space}"
        try:
            if space not in self._not_bgp:
                rows = self.api.get_json(f"{path}&top=64").get("value", [])
                self._not_bgp[space] = next(
                    (i for i, row in enumerate(rows) if row.get("source") == BGP_SOURCE), len(rows)
                )
            skip = self._not_bgp[space] + goal - 1
            rows = self.api.get_json(f"{path}&skip={skip}&top=1").get("value", [])
        except ApiTimeoutError as exc:
            raise CliTimeoutError(str(exc)) from None
        except ApiError as exc:
            if not self.alive():
                return 0
            raise CliTimeoutError(str(exc)) from None
        return goal if rows and rows[0].get("source") == BGP_SOURCE else 0

    def stop(self) -> None:
        if self.api is not None:
            self.api.close()
            self.api = None
        super().stop()


def _free_port_on_both(first: str, second: str, attempts: int = 20) -> int:
    """A port free on both instance stand-ins (the kernel picks it on the first)."""
    for _ in range(attempts):
        port = free_port(first)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, contextlib.suppress(OSError):
            s.bind((second, port))
            return port
    msg = f"no port free on both {first} and {second}"
    raise TargetUnavailableError(msg)

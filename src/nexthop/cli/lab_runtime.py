"""``nexthop lab up``: the control plane with the live loopback lab attached.

``LabRuntime`` adapts ``nexthop.lab.Lab`` (asyncio) to the control plane's
``LiveRuntime`` seam (called from the API's worker threads): views and faults are
handed to the lab's event loop and waited for. ``run_lab`` restores the stored
state, applies the file, brings the lab up and serves the API on the same loop
until interrupted, then brings the lab down.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

import uvicorn

from nexthop.api import create_app
from nexthop.cli.serve import OwnedServer
from nexthop.config import Topology
from nexthop.lab import (
    DEFAULT_BGP_PORT,
    DEFAULT_LOW_PORT_OFFSET,
    AddressMap,
    Lab,
    LabError,
)
from nexthop.runfile import DbLock
from nexthop.runtime.loop_bridge import LoopBridge
from nexthop.service import ControlPlane, ControlPlaneError
from nexthop.world import World

__all__ = ["LabRuntime", "run_lab"]

_T = TypeVar("_T")


class LabRuntime:
    """A running ``Lab`` on ``loop``, seen from other threads."""

    def __init__(self, lab: Lab, loop: asyncio.AbstractEventLoop) -> None:
        self.lab = lab
        self.loop = loop
        self._bridge = LoopBridge(loop, busy_code="lab_busy", what="the lab")

    @property
    def live(self) -> bool:
        return self.lab.running

    def _call(self, make: Callable[[], Awaitable[_T]]) -> _T:
        try:
            return self._bridge.call(make)
        except LabError as exc:
            raise ControlPlaneError("lab_error", str(exc)) from None

    def with_world(self, fn: Callable[[World], _T]) -> _T:
        async def view() -> _T:
            return fn(self.lab.synced_world())

        return self._call(view)

    def fail_nva(self, nva: str) -> None:
        self._call(lambda: self.lab.fail(nva))

    def restore_nva(self, nva: str) -> None:
        self._call(lambda: self.lab.restore(nva))

    def topology_changed(self, topology: Topology, world: World) -> None:
        self.lab.topology_changed(topology, world)

    def close(self) -> None:
        self.lab.close()


async def run_lab(
    cp: ControlPlane,
    *,
    host: str,
    sock: socket.socket,
    lock: DbLock,
    token: str | None,
    fast: bool,
    bgp_port: int | None,
    port_offset: int | None,
    log_level: str,
    on_up: Callable[[Lab], None] | None = None,
) -> None:
    """Bring the lab up on ``cp``'s topology, serve the API on ``sock`` (bound and
    listening already), bring the lab down at exit."""
    topology = cp.topology
    if topology is None:
        raise ControlPlaneError("empty", "no topology applied yet; give a FILE")
    addresses = None
    if bgp_port is not None or port_offset is not None:
        addresses = AddressMap(
            bgp_port=DEFAULT_BGP_PORT if bgp_port is None else bgp_port,
            low_port_offset=DEFAULT_LOW_PORT_OFFSET if port_offset is None else port_offset,
        )
    lab = Lab(topology, addresses, fast=fast)
    app = create_app(cp, token=token, bind_host=host)
    await lab.up()
    try:
        cp.attach_runtime(LabRuntime(lab, asyncio.get_running_loop()))
        for nva in cp.failed_nvas:
            await lab.fail(nva)  # faults survive a restart in the live lab too
        if on_up is not None:
            on_up(lab)
        config = uvicorn.Config(app, log_level=log_level)
        await OwnedServer(config, lock).serve(sockets=[sock])
    finally:
        await lab.down()

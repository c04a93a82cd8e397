"""``nexthop lab up``: the control plane with the live loopback lab attached.

``run_lab`` restores the stored state, applies the file, brings the lab up and
serves the API on the same loop until interrupted, then brings the lab down. The
lab's ``LiveNetwork`` (the runtime ``nexthop serve`` uses too) is what the control
plane attaches: views and faults are handed to the lab's loop and waited for.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from nexthop.api import create_app
from nexthop.cli.serve import OwnedServer
from nexthop.lab import (
    DEFAULT_BGP_PORT,
    DEFAULT_LOW_PORT_OFFSET,
    AddressMap,
    Lab,
)
from nexthop.runfile import DbLock
from nexthop.service import ControlPlane, ControlPlaneError

__all__ = ["run_lab"]


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
        assert lab.network is not None  # up() made it
        cp.attach_runtime(lab.network)
        for nva in cp.failed_nvas:
            await lab.fail(nva)  # faults survive a restart in the live lab too
        if on_up is not None:
            on_up(lab)
        await OwnedServer(app, log_level, lock, lab.down).serve(sockets=[sock])
    finally:
        await lab.down()

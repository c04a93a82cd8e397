"""The control plane's runtime seam: ``topology_changed`` and ``close`` are called
from another thread and carried out on the lab's loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

from nexthop.config import load_topology, load_topology_text
from nexthop.lab import AddressMap, Lab
from nexthop.routeserver import IN_0, IN_1
from nexthop.world import World

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"
WAIT = 15.0


def _eventually(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_topology_change_restarts_the_lab_and_close_brings_it_down(
    addresses: AddressMap,
) -> None:
    text = EXAMPLE.read_text()
    changed = load_topology_text(text.replace("branch_to_branch: false", "branch_to_branch: true"))
    lab = Lab(load_topology(EXAMPLE).topology, addresses, fast=True)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    both = [("rs", IN_0), ("rs", IN_1)]

    def on_loop(fn: Callable[[], object]) -> object:
        async def call() -> object:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), loop).result(WAIT)

    def config_b2b() -> bool:
        return bool(
            on_loop(lambda: lab.running and lab.hosts["rs"].route_server.config.branch_to_branch)
        )

    try:
        asyncio.run_coroutine_threadsafe(lab.up(), loop).result(WAIT)
        _eventually(lambda: on_loop(lambda: lab.established("nva1")) == both)
        assert not config_b2b()

        model = World.from_topology(changed.topology, 0.0)  # what the control plane passes
        before = on_loop(lambda: lab.hosts["rs"])
        lab.topology_changed(lab.topology, model)  # the same topology: no restart
        assert on_loop(lambda: lab.hosts["rs"]) is before
        lab.topology_changed(changed.topology, model)
        _eventually(config_b2b)
        _eventually(lambda: on_loop(lambda: lab.running and lab.established("nva1")) == both)

        lab.close()
        _eventually(lambda: not on_loop(lambda: lab.running))
        assert on_loop(lambda: lab.hosts) == {}
    finally:
        if lab.running:
            asyncio.run_coroutine_threadsafe(lab.down(), loop).result(WAIT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(WAIT)
        loop.close()

"""kill -9 during applies: after a restart the stored topology is exactly one that
was applied, never a mix (issue 15 "Crash safety").

A real ``nexthop serve --db X`` gets applies in a loop, each a whole new
generation of the topology: the description names the generation and the VM set
is replaced (``VMS_PER_GENERATION`` rows deleted and as many inserted in one
``Store.replace_all`` transaction). At a random moment (seeded RNG, bounded
iterations) the server is SIGKILLed; it is restarted on the same database and
the state read over HTTP must be, whole, either the last generation whose apply
was acknowledged or the one in flight when it died.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"
BASE = "/api/v1"
SEED = 15
ITERATIONS = 10
VMS_PER_GENERATION = 60
KILL_AFTER_S = (0.05, 1.5)
START_TIMEOUT_S = 30.0
KINDS_THAT_NEVER_CHANGE = ("vnets", "route_servers", "load_balancers", "nvas")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def generation(g: int) -> str:
    """The example topology as generation ``g``: its own description and VM names."""
    text = EXAMPLE.read_text().replace(
        "description: Route Server with NVAs behind an internal load balancer (next hop IP)",
        f"description: generation {g}",
    )
    assert f"generation {g}" in text
    vms = "".join(
        f"  - name: g{g}-vm{j}\n    nic: {{vnet: hub, subnet: workload, ip: 10.1.2.{10 + j}}}\n"
        for j in range(VMS_PER_GENERATION)
    )
    assert "\nvms:\n" in text
    return text.replace("\nvms:\n", f"\nvms:\n{vms}", 1)


def vm_names(g: int) -> set[str]:
    return {"vm1"} | {f"g{g}-vm{j}" for j in range(VMS_PER_GENERATION)}


class Server:
    def __init__(self, db: Path) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("NEXTHOP_TOKEN", "NEXTHOP_DB")}
        command = [sys.executable, "-m", "nexthop.cli.main", "serve", "--no-bgp"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port), "--db", str(db)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read() if self.process.stderr else ""
                raise AssertionError(f"nexthop serve exited: {err}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)  # still starting
        self.kill()
        raise AssertionError("nexthop serve did not answer /healthz in time")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)
        if self.process.stderr is not None:
            self.process.stderr.close()

    def state(self) -> dict[str, Any]:
        with httpx.Client(base_url=self.url, timeout=30.0) as c:
            return {
                kind: c.get(f"{BASE}/resources/{kind}").json()
                for kind in ("settings", "vms", *KINDS_THAT_NEVER_CHANGE)
            }


@dataclass
class Applier:
    """Posts generations one after another until the server dies; remembers the last
    acknowledged one and the one in flight."""

    url: str
    first: int
    acked: int | None = None
    in_flight: int | None = None
    errors: list[str] = field(default_factory=list)

    def run(self) -> None:
        g = self.first
        with httpx.Client(base_url=self.url, timeout=60.0) as c:
            while True:
                self.in_flight = g
                try:
                    r = c.post(f"{BASE}/apply", json={"yaml": generation(g), "source": f"g{g}"})
                except httpx.TransportError:
                    return  # killed: this generation's fate is unknown
                if r.status_code != 200 or not r.json()["applied"]:
                    self.errors.append(f"generation {g}: {r.status_code} {r.text[:200]}")
                    return
                self.acked, self.in_flight = g, None
                g += 1


def stored_generation(state: dict[str, Any], constant: dict[str, Any]) -> int:
    """The one generation the state is, whole; fails on any mix."""
    [settings] = state["settings"]
    description = settings["description"]
    assert description.startswith("generation "), description
    g = int(description.removeprefix("generation "))
    assert {vm["name"] for vm in state["vms"]} == vm_names(g), f"VMs of a mix, settings say {g}"
    for kind in KINDS_THAT_NEVER_CHANGE:
        assert state[kind] == constant[kind], kind
    return g


def test_kill_9_during_applies_leaves_one_whole_topology(tmp_path: Path) -> None:
    db = tmp_path / "nexthop.db"
    rng = random.Random(SEED)
    server = Server(db)
    try:
        with httpx.Client(base_url=server.url, timeout=60.0) as c:
            r = c.post(f"{BASE}/apply", json={"yaml": generation(0), "source": "g0"})
            assert r.status_code == 200, r.text
        constant = server.state()
        expected = 0
        next_generation = 1
        for _ in range(ITERATIONS):
            applier = Applier(server.url, first=next_generation)
            thread = threading.Thread(target=applier.run, daemon=True)
            thread.start()
            time.sleep(rng.uniform(*KILL_AFTER_S))
            server.kill()
            thread.join(timeout=60)
            assert not thread.is_alive()
            assert applier.errors == []
            allowed = {applier.acked if applier.acked is not None else expected}
            if applier.in_flight is not None:
                allowed.add(applier.in_flight)

            server = Server(db)  # restart on the same database
            g = stored_generation(server.state(), constant)
            assert g in allowed, f"stored generation {g}, expected one of {sorted(allowed)}"
            expected = g
            next_generation = max(allowed) + 1
        # The loop really applied between kills (not a vacuous pass).
        assert next_generation > ITERATIONS + 1
    finally:
        server.kill()

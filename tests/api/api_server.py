"""Start a real ``nexthop serve`` process on a free loopback port and talk to it with httpx."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

EXAMPLE = Path(__file__).parents[2] / "examples" / "next-hop-ip.yaml"
START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    db: Path

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0)

    def stop(self) -> str:
        """Stop the server (SIGTERM, as a service manager would) and return its stderr."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            _, err = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return err


def start_server(db: Path, *args: str) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "nexthop.cli.main", "serve", *args]
    command += ["--port", str(port), "--db", str(db)]
    if "--bgp" not in args:  # the model's API; the live network is tests/serve's
        command.append("--no-bgp")
    env = {k: v for k, v in os.environ.items() if k not in ("NEXTHOP_TOKEN", "NEXTHOP_DB")}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    server = Server(process=process, url=f"http://127.0.0.1:{port}", db=db)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"nexthop serve exited early:\n{server.stop()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1.0).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)  # the server is starting; poll again
    server.stop()
    raise AssertionError("nexthop serve did not answer /healthz in time")


__all__ = ["EXAMPLE", "Server", "free_port", "start_server"]

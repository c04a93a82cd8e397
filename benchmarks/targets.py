"""Targets under test: one class per BGP daemon, started on 127.0.0.x, ports >= 1024.

Every target connects out to the harness peers (blasters and monitors listen),
reports how many prefixes it has received through its own interface, and exposes
its process ids so the harness can read CPU seconds and peak RSS from /proc.

* BIRD 2: ``birdc show route count`` (routes in master4).
* FRR 8 (``bgpd -Z``, no zebra): ``vtysh show bgp summary json`` pfxRcd, summed.
* GoBGP 3: ``gobgp neighbor -j`` adj_table.accepted, summed.
* ExaBGP 4: its JSON API feeds ``benchmarks.exabgp_counter`` (ExaBGP has no RIB).
* nexthop (the product, ``benchmarks.serve_target``): ``nexthop serve TOPOLOGY``
  with the harness peers as external peerings, counted through its REST API.
* Stage profiles of nexthop's core, not the product (``benchmarks.nexthop_target``
  in a subprocess, answering ``count`` on stdin):
  * speaker-core: the plain asyncio Speaker (codec, sessions, Adj-RIB-In only);
    n/a in propagation (it does not re-advertise);
  * rs-core: the RouteServer (Loc-RIB, best path, per-client export) behind
    ``RouteServerHost`` alone, no control plane, API or VNet views; passive, the
    harness dials it. ``nexthop`` / ``rs-core`` is the cost of the product's
    layers over its route server.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from benchmarks.nexthop_target import RS_INSTANCE_STAND_IN

if TYPE_CHECKING:
    from nexthop.net.prefix import Prefix

__all__ = [
    "Bird",
    "CliTimeoutError",
    "ExaBgp",
    "Frr",
    "GoBgp",
    "PeerSpec",
    "RouteServerCore",
    "SpeakerCore",
    "Target",
    "TargetUnavailableError",
    "bench_pythonpath",
    "process_tree",
    "tree_cpu_seconds",
    "tree_peak_rss",
]

TARGET_ADDRESS = "127.0.0.10"
TARGET_ASN = 65000
TARGET_PORT = 17900
HOLD_TIME = 240
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_REPO = Path(__file__).resolve().parent.parent


class TargetUnavailableError(RuntimeError):
    """The target cannot run here (binary or module missing); the message says why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerSpec:
    """A harness peer the target must connect to."""

    address: str
    port: int
    asn: int
    route_server_client: bool = False
    name: str | None = None  # the peering's name where the target has named peerings


def bench_pythonpath() -> str:
    """PYTHONPATH for a nexthop subprocess: the repository (for ``benchmarks``) and the
    source measured. ``NEXTHOP_BENCH_SRC`` is a frozen copy of src/ (``python -m
    benchmarks`` makes one) so that every run of an invocation measures the same code."""
    src = os.environ.get("NEXTHOP_BENCH_SRC", str(_REPO / "src"))
    return os.pathsep.join([str(_REPO), src])


# --- /proc accounting ---------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants that are alive now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, ()))
    return out


def tree_cpu_seconds(pids: list[int]) -> float:
    """utime + stime (+ reaped children) of the given processes, in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / _CLK_TCK


def tree_peak_rss(pids: list[int]) -> int:
    """Sum of VmHWM (peak resident set) over the processes, in bytes."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) * 1024
    return total


# --- base class ------------------------------------------------------------------


class Target:
    """One daemon instance in its own working directory."""

    name: ClassVar[str] = "target"
    label: ClassVar[str] = "target"
    # prefixes of its own the target advertises to route-server clients on top of
    # the feeder's (nexthop serve: its VNet's address space, route-server-spec §1.6)
    extra_advertised: ClassVar[int] = 0

    def __init__(
        self, workdir: Path, *, address: str = TARGET_ADDRESS, port: int = TARGET_PORT
    ) -> None:
        self.workdir = workdir
        self.address = address
        self.asn = TARGET_ASN
        self.port = port
        self.peers: list[PeerSpec] = []
        self.process: subprocess.Popen[bytes] | None = None

    # subclasses provide these
    def check(self) -> None:
        """Raise ``TargetUnavailableError`` if the target cannot run here."""

    def version(self) -> str:
        return "?"

    def write_config(self) -> None:
        raise NotImplementedError

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def received(self) -> int:
        """Prefixes the target holds from all peers, by its own account."""
        raise NotImplementedError

    def dial_address(self) -> str | None:
        """Where harness peers must connect, for a passive target; None: it dials them."""
        return None

    def programmed(self, space: Prefix, goal: int) -> int | None:
        """For a target that programs a VNet (``nexthop serve``): ``goal`` once at
        least ``goal`` routes inside ``space`` are in a NIC's effective routes, else
        0; None for every other target (nothing to wait for)."""
        return None

    # shared behaviour
    def start(self, peers: list[PeerSpec]) -> None:
        self.check()
        if self.workdir.exists():
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(parents=True)
        self.peers = peers
        self.write_config()
        self.log = (self.workdir / "stdout.log").open("wb")
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.workdir,
            env=self.environment(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def pids(self) -> list[int]:
        return process_tree(self.pid) if self.process is not None else []

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None
        self.log.close()

    def tail_log(self, lines: int = 20) -> str:
        path = self.workdir / "stdout.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class CliTimeoutError(RuntimeError):
    """The target's CLI did not answer in time (a busy daemon); no reading this poll."""


def _run(cmd: list[str], timeout: float = 20) -> str:
    try:
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False
        ).stdout
    except subprocess.TimeoutExpired:
        msg = f"{cmd[0]} did not answer within {timeout:.0f}s"
        raise CliTimeoutError(msg) from None


def _need(binary: str, package: str) -> str:
    path = shutil.which(binary) or (binary if os.access(binary, os.X_OK) else None)
    if path is None:
        msg = f"{binary} not found; install the Debian package {package}"
        raise TargetUnavailableError(msg)
    return path


# --- BIRD 2 -------------------------------------------------------------------------


class Bird(Target):
    name = "bird"
    label = "BIRD 2"

    def check(self) -> None:
        _need("bird", "bird2")
        _need("birdc", "bird2")

    def version(self) -> str:
        out = subprocess.run(["bird", "--version"], capture_output=True, text=True, check=False)
        return (out.stdout + out.stderr).strip().replace("BIRD version ", "BIRD ")

    def write_config(self) -> None:
        conf = [
            f'log "{self.workdir / "bird.log"}" {{ warning, error, fatal }};',
            f"router id {self.address};",
            "protocol device { }",
        ]
        for i, peer in enumerate(self.peers):
            export = "all" if peer.route_server_client else "none"
            conf.append(
                textwrap.dedent(
                    f"""\
                    protocol bgp peer{i} {{
                      local {self.address} port {self.port} as {self.asn};
                      neighbor {peer.address} port {peer.port} as {peer.asn};
                      multihop;
                      strict bind yes;
                      hold time {HOLD_TIME};
                      connect delay time 1;
                      connect retry time 1;
                      {"rs client;" if peer.route_server_client else ""}
                      ipv4 {{ import all; export {export}; }};
                    }}"""
                )
            )
        (self.workdir / "bird.conf").write_text("\n".join(conf) + "\n")

    def command(self) -> list[str]:
        return [
            "bird", "-f", "-c", str(self.workdir / "bird.conf"),
            "-s", str(self.workdir / "bird.ctl"), "-P", str(self.workdir / "bird.pid"),
        ]  # fmt: skip

    def received(self) -> int:
        out = _run(["birdc", "-s", str(self.workdir / "bird.ctl"), "show route count"])
        match = re.search(r"(\d+) of (\d+) routes", out)
        return int(match.group(2)) if match else 0


# --- FRR 8 bgpd -Z ---------------------------------------------------------------


class Frr(Target):
    name = "frr"
    label = "FRR 8 bgpd -Z"
    BGPD = "/usr/lib/frr/bgpd"

    def check(self) -> None:
        _need(self.BGPD, "frr")
        _need("vtysh", "frr")

    def version(self) -> str:
        out = _run([self.BGPD, "--version"])
        return out.splitlines()[0].replace("bgpd version", "FRR bgpd") if out else "?"

    def write_config(self) -> None:
        conf = [
            "frr defaults traditional",
            "hostname bench",
            "no log unique-id",
            f"router bgp {self.asn}",
            f" bgp router-id {self.address}",
            " no bgp ebgp-requires-policy",
            " no bgp network import-check",
        ]
        for peer in self.peers:
            n = peer.address
            conf += [
                f" neighbor {n} remote-as {peer.asn}",
                f" neighbor {n} port {peer.port}",
                f" neighbor {n} update-source {self.address}",
                f" neighbor {n} disable-connected-check",
                f" neighbor {n} timers connect 1",
                f" neighbor {n} timers 80 {HOLD_TIME}",
            ]
        conf.append(" address-family ipv4 unicast")
        for p in self.peers:
            if p.route_server_client:
                conf.append(f"  neighbor {p.address} route-server-client")
            else:  # ingest-only peers: like BIRD's "export none", send nothing back
                conf.append(f"  neighbor {p.address} route-map SEND-NOTHING out")
        conf += [" exit-address-family", "route-map SEND-NOTHING deny 10"]
        (self.workdir / "bgpd.conf").write_text("\n".join(conf) + "\n")

    def command(self) -> list[str]:
        return [
            self.BGPD, "-f", str(self.workdir / "bgpd.conf"), "-Z", "-S",
            "-p", str(self.port), "-l", self.address, "-i", str(self.workdir / "bgpd.pid"),
            "--vty_socket", str(self.workdir), "-P", "0",
        ]  # fmt: skip

    def received(self) -> int:
        out = _run(
            ["vtysh", "--vty_socket", str(self.workdir), "-d", "bgpd", "-c",
             "show bgp ipv4 unicast summary json"]
        )  # fmt: skip
        try:
            data = json.loads(out)
        except ValueError:
            return 0
        peers = data.get("peers", {}) or data.get("ipv4Unicast", {}).get("peers", {})
        return sum(int(p.get("pfxRcd", 0)) for p in peers.values())


# --- GoBGP 3 -------------------------------------------------------------------------


class GoBgp(Target):
    name = "gobgp"
    label = "GoBGP 3"

    @property
    def api_port(self) -> int:
        return self.port + 32_000  # 17900 -> 49900

    def check(self) -> None:
        _need("gobgpd", "gobgpd")
        _need("gobgp", "gobgpd")

    def version(self) -> str:
        return _run(["gobgpd", "--version"]).strip().replace("gobgpd version", "GoBGP")

    def write_config(self) -> None:
        conf = [
            "[global.config]",
            f"  as = {self.asn}",
            f'  router-id = "{self.address}"',
            f"  port = {self.port}",
            f'  local-address-list = ["{self.address}"]',
        ]
        if not any(p.route_server_client for p in self.peers):
            # ingest-only runs: like BIRD's "export none", advertise nothing
            conf += [
                "[global.apply-policy.config]",
                '  default-export-policy = "reject-route"',
            ]
        for peer in self.peers:
            conf += [
                "[[neighbors]]",
                "  [neighbors.config]",
                f'    neighbor-address = "{peer.address}"',
                f"    peer-as = {peer.asn}",
                "  [neighbors.transport.config]",
                f'    local-address = "{self.address}"',
                f"    remote-port = {peer.port}",
                "  [neighbors.timers.config]",
                "    connect-retry = 1",
                f"    hold-time = {HOLD_TIME}",
                f"    keepalive-interval = {HOLD_TIME // 3}",
            ]
            if peer.route_server_client:
                conf += ["  [neighbors.route-server.config]", "    route-server-client = true"]
        (self.workdir / "gobgpd.toml").write_text("\n".join(conf) + "\n")

    def command(self) -> list[str]:
        return [
            "gobgpd", "-f", str(self.workdir / "gobgpd.toml"), "-l", "warn", "-p",
            "--api-hosts", f"127.0.0.1:{self.api_port}", "--pprof-disable",
        ]  # fmt: skip

    def received(self) -> int:
        out = _run(["gobgp", "-p", str(self.api_port), "neighbor", "-j"])
        try:
            data = json.loads(out)
        except ValueError:
            return 0
        total = 0
        for neighbor in data or []:
            for table in neighbor.get("afi_safis", []) or []:
                total += int(table.get("state", {}).get("accepted", 0) or 0)
            if not neighbor.get("afi_safis"):
                total += int(neighbor.get("state", {}).get("adj_table", {}).get("accepted", 0))
        return total


# --- ExaBGP 4 ------------------------------------------------------------------------


class ExaBgp(Target):
    name = "exabgp"
    label = "ExaBGP 4 (+JSON consumer)"

    def check(self) -> None:
        _need("exabgp", "exabgp")

    def version(self) -> str:
        out = _run(["exabgp", "--version"])
        match = re.search(r"ExaBGP : (\S+)", out)
        return f"ExaBGP {match.group(1)}" if match else "?"

    def write_config(self) -> None:
        conf = [
            "process count {",
            f"  run {sys.executable} -m benchmarks.exabgp_counter {self.workdir};",
            "  encoder json;",
            "}",
        ]
        for peer in self.peers:
            conf += [
                f"neighbor {peer.address} {{",
                f"  router-id {self.address};",
                f"  local-address {self.address};",
                f"  local-as {self.asn};",
                f"  peer-as {peer.asn};",
                f"  hold-time {HOLD_TIME};",
                f"  connect {peer.port};",
                "  capability { asn4 enable; }",
                "  family { ipv4 unicast; }",
                "  api { processes [ count ]; receive { parsed; update; } }",
                "}",
            ]
        (self.workdir / "exabgp.conf").write_text("\n".join(conf) + "\n")

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "PYTHONPATH": str(_REPO),
                "exabgp.log.destination": "stdout",
                "exabgp.log.level": "WARNING",
                "exabgp.daemon.drop": "false",
                "exabgp.daemon.user": "root",
                "exabgp.api.ack": "false",
                "exabgp.api.cli": "false",
                "exabgp.tcp.bind": "",
            }
        )
        return env

    def command(self) -> list[str]:
        return ["exabgp", str(self.workdir / "exabgp.conf")]

    def received(self) -> int:
        try:
            return int((self.workdir / "count").read_text())
        except (OSError, ValueError):
            return 0


# --- nexthop -------------------------------------------------------------------------


class SpeakerCore(Target):
    """Stage profile: nexthop's plain Speaker in ``benchmarks.nexthop_target``."""

    name = "speaker-core"
    label = "stage profile: nexthop Speaker (sessions, codec, Adj-RIB-In) in-process"

    def check(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "benchmarks.nexthop_target", "--check"],
            capture_output=True,
            text=True,
            cwd=_REPO,
            check=False,
            env=self.environment(),
        )
        if result.returncode != 0:
            reason = (result.stdout + result.stderr).strip().splitlines()
            raise TargetUnavailableError(reason[-1] if reason else "nexthop speaker unavailable")

    def version(self) -> str:
        from nexthop import __version__  # noqa: PLC0415

        return f"nexthop {__version__} on Python {sys.version.split()[0]}"

    def write_config(self) -> None:
        spec = {
            "route_server": self.route_server_mode,
            "asn": self.asn,
            "address": self.address,
            "port": self.port,
            "peers": [
                {
                    "address": p.address,
                    "port": p.port,
                    "asn": p.asn,
                    "route_server_client": p.route_server_client,
                }
                for p in self.peers
            ],
        }
        (self.workdir / "nexthop.json").write_text(json.dumps(spec, indent=1))

    @property
    def route_server_mode(self) -> bool:
        """The Speaker (False) or the RouteServer behind RouteServerHost (True)."""
        return False

    def dial_address(self) -> str | None:
        return RS_INSTANCE_STAND_IN if self.route_server_mode else None

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = bench_pythonpath()
        return env

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "benchmarks.nexthop_target", str(self.workdir / "nexthop.json"),
        ]  # fmt: skip

    def start(self, peers: list[PeerSpec]) -> None:
        self.check()
        if self.workdir.exists():
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(parents=True)
        self.peers = peers
        self.write_config()
        self.log = (self.workdir / "stderr.log").open("wb")
        self.process = subprocess.Popen(
            self.command(),
            cwd=_REPO,
            env=self.environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            start_new_session=True,
        )

    def received(self) -> int:
        proc = self.process
        if proc is None or proc.stdin is None or proc.stdout is None or proc.poll() is not None:
            return 0
        try:
            proc.stdin.write(b"count\n")
            proc.stdin.flush()
            return int(proc.stdout.readline() or b"0")
        except (OSError, ValueError):
            return 0

    def stop(self) -> None:
        if self.process is not None and self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        super().stop()

    def tail_log(self, lines: int = 20) -> str:
        path = self.workdir / "stderr.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class RouteServerCore(SpeakerCore):
    """Stage profile: nexthop's RouteServer (Loc-RIB, decision process, per-peer
    export) behind ``RouteServerHost`` in every scenario, without the product's
    control plane and API; the count is the routes accepted on instance IN_0."""

    name = "rs-core"
    label = "stage profile: nexthop RouteServer behind RouteServerHost in-process"
    extra_advertised = 1  # the hub's address space, as nexthop serve (nexthop_target)

    @property
    def route_server_mode(self) -> bool:
        return True

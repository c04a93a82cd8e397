"""Run real BGP daemons (FRR, BIRD, GoBGP, ExaBGP) on 127.0.0.x for interop tests.

Each ``Daemon`` writes its configuration into a private directory, runs the
daemon in the foreground on a loopback address and a high port (no root needed
for the ports; we do run as root in CI, so each daemon is told not to switch
user), and answers a few questions through the daemon's own CLI (JSON where the
daemon has it): the session state with a neighbor and what it received for a
prefix. Working configurations come from docs/bgp-landscape.md §4.

Nothing here sleeps for a fixed time: callers poll with ``wait_until``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

__all__ = [
    "BIRD",
    "DAEMONS",
    "FRR",
    "Daemon",
    "ExaBGP",
    "GoBGP",
    "Neighbor",
    "Originated",
    "SeenRoute",
    "free_port",
    "wait_until",
]

POLL_INTERVAL = 0.1


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> object:
    """Poll ``predicate`` until it returns a truthy value; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            msg = f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})"
            raise TimeoutError(msg)
        time.sleep(POLL_INTERVAL)


def free_port(address: str) -> int:
    """A TCP port currently free on ``address`` (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Neighbor:
    """A peer of the daemon (a nexthop speaker). ``passive``: the daemon only listens."""

    address: str
    asn: int
    port: int
    passive: bool = False


@dataclass(frozen=True)
class Originated:
    """A route the daemon announces to every neighbor."""

    prefix: str
    next_hop: str
    communities: tuple[str, ...] = ()  # "65002:100"
    large_communities: tuple[str, ...] = ()  # "65002:1:2"

    @property
    def ipv6(self) -> bool:
        return ":" in self.prefix


@dataclass(frozen=True)
class SeenRoute:
    """A route as the daemon reports it, normalised across daemons."""

    prefix: str
    next_hop: str
    as_path: tuple[int, ...]
    communities: frozenset[str] = frozenset()
    large_communities: frozenset[str] = frozenset()


@dataclass
class Daemon:
    """One daemon process. Subclasses write the config and parse the CLI output."""

    name: ClassVar[str]
    package: ClassVar[str]
    binary: ClassVar[str]

    workdir: Path
    address: str
    port: int
    asn: int
    neighbors: tuple[Neighbor, ...]
    routes: tuple[Originated, ...] = ()
    hold_time: int = 3
    keepalive: int = 1
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    # --- process control ----------------------------------------------------

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.out"

    def write_config(self) -> None:
        raise NotImplementedError

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def after_start(self) -> None:
        """Hook: wait for the control socket and push runtime state (routes)."""

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.write_config()
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.workdir,
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.after_start()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        texts = [p.read_text(errors="replace") for p in self.log_files() if p.exists()]
        return "\n".join(texts)

    def log_files(self) -> list[Path]:
        return [self.log_path]

    def run_cli(self, args: list[str], timeout: float = 10) -> str:
        result = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, check=False, cwd=self.workdir
        )
        return result.stdout

    # --- queries (subclasses) -------------------------------------------------

    def session_state(self, neighbor: str) -> str:
        """Lower-case state name ("established", "active", ...) or "" if unknown."""
        raise NotImplementedError

    def route(self, prefix: str) -> SeenRoute | None:
        """The best route the daemon holds for ``prefix`` (received from a neighbor)."""
        raise NotImplementedError

    def established(self, neighbor: str) -> bool:
        return self.session_state(neighbor) == "established"

    def refreshes_received(self, neighbor: str) -> int | None:
        """ROUTE-REFRESH messages received from ``neighbor``, if the daemon counts them."""
        return None

    def send_route_refresh(self, neighbor: str) -> bool:
        """Make the daemon send ROUTE-REFRESH to ``neighbor``; False if it has no way to."""
        return False

    # How the daemon's log words "received Cease/Administrative Shutdown from
    # {neighbor}" (``cease_pattern``) and the same with the shutdown
    # communication {text} (``shutdown_pattern``); both are regexes.
    cease_pattern: ClassVar[str] = ""
    shutdown_pattern: ClassVar[str] = ""

    def _log_matches(self, pattern: str, neighbor: str, text: str = "") -> bool:
        regex = pattern.format(
            neighbor=re.escape(neighbor),
            proto=re.escape(BIRD.protocol_name(neighbor)),
            text=re.escape(text),
        )
        return re.search(regex, self.log_text()) is not None

    def shutdown_seen(self, neighbor: str, text: str) -> bool:
        """Whether the daemon reported our shutdown communication ``text`` from ``neighbor``."""
        return self._log_matches(self.shutdown_pattern, neighbor, text)

    def cease_seen(self, neighbor: str) -> bool:
        """Whether the daemon reported a Cease/Administrative Shutdown from ``neighbor``."""
        return self._log_matches(self.cease_pattern, neighbor)

    def describe(self) -> str:
        code = self.process.poll() if self.process else "not started"
        tail = self.log_text()[-3000:]
        return f"{self.name} at {self.address}:{self.port} (exit {code})\n{tail}"


# --- FRR ---------------------------------------------------------------------


@dataclass
class FRR(Daemon):
    """FRR bgpd alone (``-Z``: no zebra), queried through vtysh's JSON output."""

    name: ClassVar[str] = "frr"
    package: ClassVar[str] = "frr"
    binary: ClassVar[str] = "/usr/lib/frr/bgpd"
    cease_pattern: ClassVar[str] = (
        r"NOTIFICATION: received from neighbor {neighbor} 6/2 \(Cease/Administrative Shutdown\)"
    )
    shutdown_pattern: ClassVar[str] = cease_pattern + r' "{text}"'

    def write_config(self) -> None:
        lines = [
            "frr defaults traditional",
            "hostname nexthop-interop",
            f"log file {self.workdir / 'bgpd.log'} debugging",
            "!",
            f"router bgp {self.asn}",
            f" bgp router-id {self.address}",
            " no bgp ebgp-requires-policy",
            " no bgp network import-check",
            " bgp log-neighbor-changes",
        ]
        for n in self.neighbors:
            lines += [
                f" neighbor {n.address} remote-as {n.asn}",
                f" neighbor {n.address} port {n.port}",
                f" neighbor {n.address} update-source {self.address}",
                f" neighbor {n.address} disable-connected-check",
                f" neighbor {n.address} timers {self.keepalive} {self.hold_time}",
                f" neighbor {n.address} timers connect 1",
                f" neighbor {n.address} advertisement-interval 0",
            ]
            if n.passive:
                lines.append(f" neighbor {n.address} passive")
        for family, v6 in (("ipv4", False), ("ipv6", True)):
            lines.append(f" address-family {family} unicast")
            lines += [f"  network {r.prefix}" for r in self.routes if r.ipv6 == v6]
            for n in self.neighbors:
                lines += [
                    f"  neighbor {n.address} activate",
                    f"  neighbor {n.address} route-map OUT-{family} out",
                ]
            lines.append(" exit-address-family")
        lines.append("!")
        for family, v6 in (("ipv4", False), ("ipv6", True)):
            for seq, r in enumerate((r for r in self.routes if r.ipv6 == v6), start=1):
                plist = f"P-{family}-{seq}"
                kind = "ipv6" if v6 else "ip"
                lines.append(f"{kind} prefix-list {plist} seq 5 permit {r.prefix}")
                lines.append(f"route-map OUT-{family} permit {seq * 10}")
                lines.append(f" match {kind} address prefix-list {plist}")
                lines.append(
                    f" set ipv6 next-hop global {r.next_hop}"
                    if v6
                    else f" set ip next-hop {r.next_hop}"
                )
                if r.communities:
                    lines.append(f" set community {' '.join(r.communities)} additive")
                if r.large_communities:
                    lines.append(f" set large-community {' '.join(r.large_communities)} additive")
            lines.append(f"route-map OUT-{family} permit 1000")
        (self.workdir / "bgpd.conf").write_text("\n".join(lines) + "\n")

    def command(self) -> list[str]:
        return [
            self.binary, "-f", str(self.workdir / "bgpd.conf"), "-Z", "-S",
            "-p", str(self.port), "-l", self.address, "-i", str(self.workdir / "bgpd.pid"),
            "--vty_socket", str(self.workdir), "-P", "0",
        ]  # fmt: skip

    def log_files(self) -> list[Path]:
        return [self.log_path, self.workdir / "bgpd.log"]

    def after_start(self) -> None:
        wait_until(
            lambda: (self.workdir / "bgpd.vty").exists() or not self.running(),
            15,
            "the FRR vty socket",
        )

    def vtysh(self, command: str) -> str:
        return self.run_cli(
            ["vtysh", "--vty_socket", str(self.workdir), "-d", "bgpd", "-c", command]
        )

    def vtysh_json(self, command: str) -> dict[str, object]:
        out = self.vtysh(command)
        try:
            data = json.loads(out)
        except json.JSONDecodeError:
            return {}
        return data if isinstance(data, dict) else {}

    def neighbor_json(self, neighbor: str) -> dict[str, object]:
        data = self.vtysh_json(f"show bgp neighbors {neighbor} json")
        value = data.get(neighbor, {})
        return value if isinstance(value, dict) else {}

    def session_state(self, neighbor: str) -> str:
        return str(self.neighbor_json(neighbor).get("bgpState", "")).lower()

    def send_route_refresh(self, neighbor: str) -> bool:
        self.vtysh(f"clear bgp {neighbor} soft in")
        return True

    def refreshes_received(self, neighbor: str) -> int | None:
        stats = self.neighbor_json(neighbor).get("messageStats", {})
        return int(stats.get("routeRefreshRecv", 0)) if isinstance(stats, dict) else 0

    def route(self, prefix: str) -> SeenRoute | None:
        family = "ipv6" if ":" in prefix else "ipv4"
        data = self.vtysh_json(f"show bgp {family} unicast {prefix} json")
        paths = data.get("paths")
        if not isinstance(paths, list) or not paths:
            return None
        best = next((p for p in paths if p.get("bestpath", {}).get("overall")), paths[0])
        nexthops = best.get("nexthops") or [{}]
        aspath = best.get("aspath", {}).get("string", "")
        return SeenRoute(
            prefix=prefix,
            next_hop=str(nexthops[0].get("ip", "")),
            as_path=tuple(int(a) for a in aspath.split() if a.isdigit()),
            communities=frozenset(best.get("community", {}).get("list", [])),
            large_communities=frozenset(best.get("largeCommunity", {}).get("list", [])),
        )


# --- BIRD --------------------------------------------------------------------


@dataclass
class BIRD(Daemon):
    """BIRD 2 in the foreground, queried with ``birdc`` (text output, parsed)."""

    name: ClassVar[str] = "bird"
    package: ClassVar[str] = "bird2"
    binary: ClassVar[str] = "bird"
    cease_pattern: ClassVar[str] = r"{proto}: Received: Administrative shutdown"
    shutdown_pattern: ClassVar[str] = cease_pattern + r': "{text}"'

    @staticmethod
    def protocol_name(neighbor: str) -> str:
        return "peer_" + neighbor.replace(".", "_")

    def write_config(self) -> None:
        def export(v6: bool) -> str:
            parts = ["if source != RTS_STATIC then reject;"]
            for r in self.routes:
                if r.ipv6 != v6:
                    continue
                sets = [f"bgp_next_hop = {r.next_hop};"]
                sets += [f"bgp_community.add(({c.replace(':', ',')}));" for c in r.communities]
                sets += [
                    f"bgp_large_community.add(({c.replace(':', ',')}));"
                    for c in r.large_communities
                ]
                parts.append(f"if net = {r.prefix} then {{ {' '.join(sets)} accept; }}")
            parts.append("reject;")
            return " ".join(parts)

        statics4 = "".join(f" route {r.prefix} blackhole;" for r in self.routes if not r.ipv6)
        statics6 = "".join(f" route {r.prefix} blackhole;" for r in self.routes if r.ipv6)
        conf = [
            f'log "{self.workdir / "bird.log"}" all;',
            f"router id {self.address};",
            "protocol device { }",
            f"protocol static static4 {{ ipv4;{statics4} }}",
            f"protocol static static6 {{ ipv6;{statics6} }}",
        ]
        for n in self.neighbors:
            conf.append(
                textwrap.dedent(
                    f"""\
                    protocol bgp {self.protocol_name(n.address)} {{
                      local {self.address} port {self.port} as {self.asn};
                      neighbor {n.address} port {n.port} as {n.asn};
                      multihop;
                      strict bind yes;
                      hold time {self.hold_time};
                      keepalive time {self.keepalive};
                      connect delay time 1;
                      connect retry time 1;
                      error wait time 1, 2;
                      {"passive on;" if n.passive else ""}
                      ipv4 {{ import all; export filter {{ {export(False)} }}; }};
                      ipv6 {{ import all; export filter {{ {export(True)} }}; }};
                    }}"""
                )
            )
        (self.workdir / "bird.conf").write_text("\n".join(conf) + "\n")

    @property
    def control_socket(self) -> Path:
        return self.workdir / "bird.ctl"

    def command(self) -> list[str]:
        return [
            self.binary, "-f", "-c", str(self.workdir / "bird.conf"),
            "-s", str(self.control_socket), "-P", str(self.workdir / "bird.pid"),
        ]  # fmt: skip

    def log_files(self) -> list[Path]:
        return [self.log_path, self.workdir / "bird.log"]

    def after_start(self) -> None:
        wait_until(
            lambda: self.control_socket.exists() or not self.running(), 15, "the BIRD socket"
        )

    def birdc(self, command: str) -> str:
        return self.run_cli(["birdc", "-s", str(self.control_socket), command])

    def send_route_refresh(self, neighbor: str) -> bool:
        self.birdc(f"reload in {self.protocol_name(neighbor)}")
        return True

    def protocol_info(self, neighbor: str) -> str:
        return self.birdc(f"show protocols all {self.protocol_name(neighbor)}")

    def session_state(self, neighbor: str) -> str:
        match = re.search(r"BGP state:\s+(\w+)", self.protocol_info(neighbor))
        return match.group(1).lower() if match else ""

    def route(self, prefix: str) -> SeenRoute | None:
        text = self.birdc(f"show route {prefix} all")  # exact match, unlike "for"
        if re.search(rf"^{re.escape(prefix)}\s", text, re.MULTILINE) is None:
            return None
        next_hop = re.search(r"BGP\.next_hop:\s+(\S+)", text)
        as_path = re.search(r"BGP\.as_path:([^\n]*)", text)
        communities = re.search(r"BGP\.community:([^\n]*)", text)
        large = re.search(r"BGP\.large_community:([^\n]*)", text)
        if next_hop is None:
            return None
        return SeenRoute(
            prefix=prefix,
            next_hop=next_hop.group(1),
            as_path=tuple(int(a) for a in as_path.group(1).split()) if as_path else (),
            communities=frozenset(
                c.replace(",", ":") for c in re.findall(r"\((\d+,\d+)\)", communities.group(1))
            )
            if communities
            else frozenset(),
            large_communities=frozenset(
                c.replace(", ", ":").replace(",", ":")
                for c in re.findall(r"\((\d+, ?\d+, ?\d+)\)", large.group(1))
            )
            if large
            else frozenset(),
        )


# --- GoBGP -------------------------------------------------------------------


@dataclass
class GoBGP(Daemon):
    """gobgpd with a gRPC API port per instance; routes are added through ``gobgp``."""

    name: ClassVar[str] = "gobgp"
    package: ClassVar[str] = "gobgpd"
    binary: ClassVar[str] = "gobgpd"
    # gobgpd logs JSON lines; keys come out sorted.
    cease_pattern: ClassVar[str] = r'"Code":6,.*"Key":"{neighbor}","Subcode":2,'
    shutdown_pattern: ClassVar[str] = (
        r'"Code":6,"Communicated-Reason":"{text}",.*"Key":"{neighbor}","Subcode":2,'
    )
    api_port: int = 0

    def write_config(self) -> None:
        if not self.api_port:
            self.api_port = free_port("127.0.0.1")
        conf = [
            "[global.config]",
            f"  as = {self.asn}",
            f'  router-id = "{self.address}"',
            f"  port = {self.port}",
            f'  local-address-list = ["{self.address}"]',
        ]
        for n in self.neighbors:
            conf += [
                "[[neighbors]]",
                "  [neighbors.config]",
                f'    neighbor-address = "{n.address}"',
                f"    peer-as = {n.asn}",
                "  [neighbors.timers.config]",
                "    connect-retry = 1",
                f"    hold-time = {self.hold_time}",
                f"    keepalive-interval = {self.keepalive}",
                "  [neighbors.transport.config]",
                f'    local-address = "{self.address}"',
                f"    remote-port = {n.port}",
                f"    passive-mode = {'true' if n.passive else 'false'}",
                "  [[neighbors.afi-safis]]",
                "    [neighbors.afi-safis.config]",
                '      afi-safi-name = "ipv4-unicast"',
                "  [[neighbors.afi-safis]]",
                "    [neighbors.afi-safis.config]",
                '      afi-safi-name = "ipv6-unicast"',
            ]
        (self.workdir / "gobgpd.toml").write_text("\n".join(conf) + "\n")

    def command(self) -> list[str]:
        return [
            self.binary, "-f", str(self.workdir / "gobgpd.toml"),
            "--api-hosts", f"127.0.0.1:{self.api_port}", "--pprof-disable",
        ]  # fmt: skip

    def gobgp(self, *args: str) -> str:
        return self.run_cli(["gobgp", "-p", str(self.api_port), *args])

    def gobgp_json(self, *args: str) -> object:
        out = self.gobgp(*args, "-j")
        try:
            return json.loads(out)
        except json.JSONDecodeError:
            return None

    def after_start(self) -> None:
        wait_until(
            lambda: not self.running() or self.gobgp_json("global") is not None,
            15,
            "the GoBGP API",
        )
        for r in self.routes:
            args = ["global", "rib", "add", "-a", "ipv6" if r.ipv6 else "ipv4", r.prefix]
            args += ["nexthop", r.next_hop]
            if r.communities:
                args += ["community", ",".join(r.communities)]
            if r.large_communities:
                args += ["large-community", ",".join(r.large_communities)]
            self.gobgp(*args)

    def neighbor_json(self, neighbor: str) -> dict[str, object]:
        data = self.gobgp_json("neighbor", neighbor)
        return data if isinstance(data, dict) else {}

    def refreshes_received(self, neighbor: str) -> int | None:
        state = self.neighbor_json(neighbor).get("state", {})
        messages = state.get("messages", {}) if isinstance(state, dict) else {}
        return int(messages.get("received", {}).get("refresh", 0))

    def session_state(self, neighbor: str) -> str:
        state = self.neighbor_json(neighbor).get("state", {})
        value = str(state.get("session_state", "")) if isinstance(state, dict) else ""
        # GoBGP reports numeric states in JSON: 6 is ESTABLISHED (api.PeerState).
        names = {"6": "established", "1": "idle", "2": "connect", "3": "active"}
        return names.get(value, value.lower())

    def route(self, prefix: str) -> SeenRoute | None:
        family = "ipv6" if ":" in prefix else "ipv4"
        data = self.gobgp_json("global", "rib", "-a", family, prefix)
        if not isinstance(data, dict) or not data:
            return None
        paths = next(iter(data.values()))
        if not paths:
            return None
        best = next((p for p in paths if p.get("best")), paths[0])
        next_hop, as_path = "", ()
        communities: set[str] = set()
        large: set[str] = set()
        for attr in best.get("attrs", []):
            kind = attr.get("type")
            if kind == 3:  # NEXT_HOP
                next_hop = attr.get("nexthop", "")
            elif kind == 14:  # MP_REACH_NLRI
                next_hop = attr.get("nexthop", next_hop)
            elif kind == 2:  # AS_PATH
                as_path = tuple(a for seg in attr.get("as_paths", []) for a in seg.get("asns", []))
            elif kind == 8:  # COMMUNITIES
                communities = {f"{c >> 16}:{c & 0xFFFF}" for c in attr.get("communities", [])}
            elif kind == 32:  # LARGE_COMMUNITY
                large = {
                    f"{c['ASN']}:{c['LocalData1']}:{c['LocalData2']}" for c in attr.get("value", [])
                }
        return SeenRoute(
            prefix=prefix,
            next_hop=next_hop,
            as_path=as_path,
            communities=frozenset(communities),
            large_communities=frozenset(large),
        )


# --- ExaBGP ------------------------------------------------------------------

EXABGP_API_SCRIPT = """\
import json, os, sys, threading

workdir = sys.argv[1]
fifo = os.path.join(workdir, "commands.fifo")


def forward_commands():
    while True:
        with open(fifo) as commands:
            for line in commands:
                sys.stdout.write(line)
                sys.stdout.flush()


threading.Thread(target=forward_commands, daemon=True).start()
with open(os.path.join(workdir, "received.jsonl"), "a") as out:
    for line in sys.stdin:
        out.write(line)
        out.flush()
"""


@dataclass
class ExaBGP(Daemon):
    """ExaBGP with an API process that appends every received message (JSON) to
    ``received.jsonl`` and forwards lines written to ``commands.fifo``."""

    name: ClassVar[str] = "exabgp"
    package: ClassVar[str] = "exabgp"
    binary: ClassVar[str] = "exabgp"

    def write_config(self) -> None:
        received = self.workdir / "received.jsonl"
        if received.exists():  # a restart: keep the old run's messages aside
            received.rename(self.workdir / f"received.{time.monotonic_ns()}.jsonl")
        script = self.workdir / "api.py"
        script.write_text(EXABGP_API_SCRIPT)
        fifo = self.workdir / "commands.fifo"
        if not fifo.exists():
            os.mkfifo(fifo)
        conf = [
            "process api {",
            f"  run {sys.executable} {script} {self.workdir};",
            "  encoder json;",
            "}",
        ]
        for n in self.neighbors:
            statics = []
            for r in self.routes:
                extra = ""
                if r.communities:
                    extra += f" community [{' '.join(r.communities)}]"
                if r.large_communities:
                    extra += f" large-community [{' '.join(r.large_communities)}]"
                statics.append(f"    route {r.prefix} next-hop {r.next_hop}{extra};")
            conf += [
                f"neighbor {n.address} {{",
                f"  router-id {self.address};",
                f"  local-address {self.address};",
                f"  local-as {self.asn};",
                f"  peer-as {n.asn};",
                f"  hold-time {self.hold_time};",
                f"  connect {n.port};",
                *([f"  listen {self.port};"] if n.passive else []),
                f"  passive {'true' if n.passive else 'false'};",
                "  capability { route-refresh; asn4 enable; }",
                "  family { ipv4 unicast; ipv6 unicast; }",
                "  api {",
                "    processes [ api ];",
                "    neighbor-changes;",
                "    receive { parsed; update; notification; refresh; }",
                "  }",
                "  static {",
                *statics,
                "  }",
                "}",
            ]
        (self.workdir / "exabgp.conf").write_text("\n".join(conf) + "\n")

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "exabgp.log.destination": "stdout",
                "exabgp.daemon.drop": "false",
                "exabgp.daemon.user": "root",
                "exabgp.api.ack": "false",
                "exabgp.api.cli": "false",
                "exabgp.log.level": "INFO",
            }
        )
        return env

    def command(self) -> list[str]:
        return [self.binary, str(self.workdir / "exabgp.conf")]

    def messages(self) -> list[dict[str, object]]:
        path = self.workdir / "received.jsonl"
        if not path.exists():
            return []
        out = []
        for line in path.read_text(errors="replace").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(line)
                if isinstance(value, dict):
                    out.append(value)
        return out

    def send_command(self, command: str) -> None:
        fd = os.open(self.workdir / "commands.fifo", os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, (command + "\n").encode())
        finally:
            os.close(fd)

    def send_route_refresh(self, neighbor: str) -> bool:
        for family in ("ipv4 unicast", "ipv6 unicast"):
            self.send_command(f"neighbor {neighbor} announce route-refresh {family}")
        return True

    def session_state(self, neighbor: str) -> str:
        state = ""
        for message in self.messages():
            if message.get("type") != "state":
                continue
            body = message.get("neighbor", {})
            if isinstance(body, dict) and body.get("address", {}).get("peer") == neighbor:
                raw = str(body.get("state", ""))
                state = "established" if raw == "up" else raw
        return state

    def route(self, prefix: str) -> SeenRoute | None:
        seen: SeenRoute | None = None
        for message in self.messages():
            if message.get("type") != "update":
                continue
            update = message.get("neighbor", {}).get("message", {}).get("update", {})
            attrs = update.get("attribute", {})
            for family, by_nh in update.get("announce", {}).items():
                del family
                for next_hop, nlris in by_nh.items():
                    for nlri in nlris:
                        if nlri.get("nlri") == prefix:
                            seen = SeenRoute(
                                prefix=prefix,
                                next_hop=next_hop,
                                as_path=tuple(attrs.get("as-path", [])),
                                communities=frozenset(
                                    f"{a}:{b}" for a, b in attrs.get("community", [])
                                ),
                                large_communities=frozenset(
                                    f"{a}:{b}:{c}" for a, b, c in attrs.get("large-community", [])
                                ),
                            )
            for by_family in update.get("withdraw", {}).values():
                for nlri in by_family:
                    if nlri.get("nlri") == prefix:
                        seen = None
        return seen

    def _ceases(self, neighbor: str) -> list[bytes]:
        """Data of each Cease/Administrative Shutdown received from ``neighbor``
        (ExaBGP hands received NOTIFICATIONs to the API process as JSON)."""
        found = []
        for message in self.messages():
            body = message.get("neighbor", {})
            if message.get("type") != "notification" or not isinstance(body, dict):
                continue
            notification = body.get("notification", {})
            if (
                body.get("address", {}).get("peer") == neighbor
                and body.get("direction") == "receive"
                and (notification.get("code"), notification.get("subcode")) == (6, 2)
            ):
                found.append(bytes.fromhex(str(notification.get("data", "0x"))[2:]))
        return found

    def cease_seen(self, neighbor: str) -> bool:
        return bool(self._ceases(neighbor))

    def shutdown_seen(self, neighbor: str, text: str) -> bool:
        encoded = text.encode()
        return bytes([len(encoded)]) + encoded in self._ceases(neighbor)


DAEMONS: dict[str, type[Daemon]] = {d.name: d for d in (FRR, BIRD, GoBGP, ExaBGP)}

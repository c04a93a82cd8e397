"""BFD between ``nexthop serve`` and FRR (zebra + bfdd + bgpd, ``neighbor X bfd``).

The route server's peering has ``bfd: {min_tx_ms: 100, min_rx_ms: 100,
multiplier: 3}``; FRR peers both instances with a bfdd profile of the same
intervals. BGP hold timers stay at 180 s on both sides, so a session that goes
down here went down through BFD: the tests assert the reason each side gives,
never a time.

* both sides report the BFD sessions Up (FRR's ``show bfd peers json``, our peering
  view and ``/metrics``);
* FRR's bfdd stopped (SIGSTOP: hung, not gone, so BGP's TCP stays open): our BFD
  detects it and ends the BGP sessions with Cease/BFD Down (RFC 9384), which the
  API names and FRR's bgpd logs;
* ``nexthop serve`` stopped (SIGSTOP): FRR's bfdd detects it and its bgpd resets
  the sessions for "BFD down".

FRR runs in its own network namespace joined to ours by a veth pair: a real
single-hop link (TTL 255 arrives as sent), addresses FRR's zebra accepts (it
ignores 127.0.0.0/8 as martian, and bgpd will not run a session whose local
address it cannot place on an interface), and a bfdd whose wildcard sockets on
3784 are its own. ``nexthop serve --bgp-bind real`` listens on the instance IPs,
which the host end of the veth carries. That needs root (CI runs as root) and
``ip`` (iproute2). FRR's daemons drop privileges to the ``frr`` user, so their
directory is a world-writable one under /tmp rather than pytest's private
tmp_path. Skipped outside CI when FRR, ``ip`` or root is missing, failed in CI
(``tests/conftest.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from bgp_daemons import wait_until

FRR_DIR = Path("/usr/lib/frr")
ROLES = ("RouteServiceRole_IN_0", "RouteServiceRole_IN_1")
INSTANCE_IPS = ("198.19.1.4", "198.19.1.5")  # RFC 2544 benchmarking space
FRR_IP = "198.19.0.9"
PREFIX_LENGTH = 16
FRR_ASN = 65009
WAIT = 30.0
TOPOLOGY = f"""
name: bfd-interop
region: westeurope
vnets:
  - name: hub
    address_space: [198.19.0.0/16]
    subnets:
      - {{name: nva, prefix: 198.19.0.0/24}}
      - {{name: RouteServerSubnet, prefix: 198.19.1.0/26}}
route_servers:
  - name: rs
    vnet: hub
    peerings:
      - name: frr
        peer_ip: {FRR_IP}
        peer_asn: {FRR_ASN}
        external: true
        bfd: {{min_tx_ms: 100, min_rx_ms: 100, multiplier: 3}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Frr:
    """zebra, bfdd and bgpd in network namespace ``netns``, sharing one zserv
    socket in ``workdir``."""

    netns: str
    workdir: Path
    address: str
    instances: tuple[str, ...]
    bgp_port: int
    processes: dict[str, subprocess.Popen[bytes]]

    def write_config(self) -> None:
        log = self.workdir / "frr.log"
        (self.workdir / "zebra.conf").write_text(f"hostname zebra\nlog file {log}\n")
        (self.workdir / "bfdd.conf").write_text(
            "\n".join([
                "hostname bfdd",
                f"log file {log} debugging",
                "debug bfd peer",
                "debug bfd zebra",
                "bfd",
                " profile fast",
                "  transmit-interval 100",
                "  receive-interval 100",
                "  detect-multiplier 3",
                " !",
                "!",
            ]) + "\n"
        )  # fmt: skip
        lines = [
            "frr defaults traditional",
            "hostname bgpd",
            f"log file {log} debugging",
            f"router bgp {FRR_ASN}",
            f" bgp router-id {FRR_IP}",
            " no bgp ebgp-requires-policy",
            " bgp log-neighbor-changes",
        ]
        for peer in self.instances:
            lines += [
                f" neighbor {peer} remote-as 65515",
                f" neighbor {peer} port {self.bgp_port}",
                f" neighbor {peer} update-source {self.address}",
                f" neighbor {peer} timers connect 1",
                f" neighbor {peer} bfd",
                f" neighbor {peer} bfd profile fast",
            ]
        (self.workdir / "bgpd.conf").write_text("\n".join(lines) + "\n")

    def command(self, daemon: str) -> list[str]:
        d = self.workdir
        common = ["-f", str(d / f"{daemon}.conf"), "-i", str(d / f"{daemon}.pid")]
        common += ["--vty_socket", str(d), "-P", "0", "-z", str(d / "zserv.api")]
        extra = {
            "zebra": [],
            "bfdd": ["--bfdctl", str(d / "bfdd.sock")],
            "bgpd": ["-p", "0", "-l", self.address],  # -l: no kernel routes
        }[daemon]
        return ["ip", "netns", "exec", self.netns, str(FRR_DIR / daemon), *common, *extra]

    def start(self) -> None:
        self.write_config()
        for daemon in ("zebra", "bfdd", "bgpd"):
            out = (self.workdir / f"{daemon}.out").open("ab")
            self.processes[daemon] = subprocess.Popen(
                self.command(daemon),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            out.close()
            wait_until(
                lambda d=daemon: (
                    (self.workdir / f"{d}.vty").exists() or self.processes[d].poll() is not None
                ),
                15,
                f"the {daemon} vty socket",
            )

    def stop(self) -> None:
        for process in reversed(self.processes.values()):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGCONT)
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)

    def signal(self, daemon: str, sig: signal.Signals) -> None:
        os.kill(self.processes[daemon].pid, sig)

    def vtysh_json(self, daemon: str, command: str) -> Any:
        out = subprocess.run(
            ["vtysh", "--vty_socket", str(self.workdir), "-d", daemon, "-c", command],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
        try:
            return json.loads(out)
        except json.JSONDecodeError:
            return None

    def bfd_peers(self) -> dict[str, dict[str, Any]]:
        peers = self.vtysh_json("bfdd", "show bfd peers json")
        return {p["peer"]: p for p in peers} if isinstance(peers, list) else {}

    def neighbor(self, peer: str) -> dict[str, Any]:
        data = self.vtysh_json("bgpd", f"show bgp neighbors {peer} json")
        return data.get(peer, {}) if isinstance(data, dict) else {}

    def log(self) -> str:
        path = self.workdir / "frr.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def describe(self) -> str:
        codes = {d: p.poll() for d, p in self.processes.items()}
        return f"FRR {codes}\n{self.log()[-4000:]}"


@dataclass
class Setup:
    frr: Frr
    serve: subprocess.Popen[str]
    api: httpx.Client
    instances: tuple[str, ...]  # the instances' stand-ins (what FRR peers)

    def instance_views(self) -> dict[str, dict[str, Any]]:
        r = self.api.get("/api/v1/routeservers/rs/peerings/frr")
        r.raise_for_status()
        return r.json()["instances"]  # type: ignore[no-any-return]

    def ours(self, state: str) -> bool:
        return all(
            i["state"] == state if state == "Established" else i["state"] != "Established"
            for i in self.instance_views().values()
        )

    def bfd_ours(self) -> set[str | None]:
        return {(i["bfd"] or {}).get("state") for i in self.instance_views().values()}

    def frr_bfd(self) -> set[str]:
        peers = self.frr.bfd_peers()
        return {peers[p]["status"] if p in peers else "missing" for p in self.instances}

    def frr_bgp(self) -> set[str]:
        return {str(self.frr.neighbor(p).get("bgpState", "")) for p in self.instances}

    def states(self) -> str:
        """Both sides' BFD and BGP states, for assertion messages."""
        try:
            views = self.instance_views()
        except httpx.HTTPError as exc:  # e.g. while the route server is stopped
            views = {"error": {"state": str(exc), "bfd": None, "last_error": ""}}
        ours = {r: (v["state"], v["bfd"], v["last_error"]) for r, v in views.items()}
        frr_bgp = {p: self.frr.neighbor(p).get("lastResetDueTo") for p in self.instances}
        return (
            f"ours: {ours}\nFRR BFD: {self.frr.bfd_peers()}\n"
            f"FRR BGP: {self.frr_bgp()} last reset: {frr_bgp}"
        )

    def all_up(self) -> bool:
        return (
            self.bfd_ours() == {"Up"}
            and self.frr_bfd() == {"up"}
            and self.ours("Established")
            and self.frr_bgp() == {"Established"}
        )


def _ip(*args: str, netns: str | None = None) -> None:
    prefix = ["ip", "netns", "exec", netns] if netns is not None else []
    subprocess.run([*prefix, "ip", *args], check=True, capture_output=True, timeout=10)


@contextlib.contextmanager
def _namespace(name: str) -> Iterator[None]:
    """Netns ``name`` with a veth to us: FRR_IP there, the instance IPs here."""
    host, peer = f"{name}a", f"{name}b"
    _ip("netns", "add", name)
    try:
        _ip("link", "add", host, "type", "veth", "peer", "name", peer)
        _ip("link", "set", peer, "netns", name)
        for address in INSTANCE_IPS:
            _ip("addr", "add", f"{address}/{PREFIX_LENGTH}", "dev", host)
        _ip("link", "set", host, "up")
        _ip("addr", "add", f"{FRR_IP}/{PREFIX_LENGTH}", "dev", peer, netns=name)
        for link in (peer, "lo"):
            _ip("link", "set", link, "up", netns=name)
        yield
    finally:
        for args in (["netns", "del", name], ["link", "del", host]):
            subprocess.run(["ip", *args], capture_output=True, timeout=10, check=False)


def _require_root() -> None:
    if os.geteuid() == 0:
        return
    message = "the BFD interop test puts FRR in a network namespace, which needs root"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def setup(require_daemon: Callable[[str, str, str], str]) -> Iterator[Setup]:
    for daemon in ("zebra", "bfdd", "bgpd"):
        require_daemon("frr", str(FRR_DIR / daemon), "frr")
    require_daemon("frr", "vtysh", "frr")
    require_daemon("frr", "ip", "iproute2")
    _require_root()
    name = f"nhb{os.getpid() % 100000}"
    workdir = Path(tempfile.mkdtemp(prefix="nexthop-bfd-", dir="/tmp"))
    workdir.chmod(0o777)  # the daemons run as the frr user
    bgp_port, api_port = _free_port(), _free_port()
    topology = workdir / "topology.yaml"
    topology.write_text(TOPOLOGY)
    env = {k: v for k, v in os.environ.items() if k not in ("NEXTHOP_TOKEN", "NEXTHOP_DB")}
    with contextlib.ExitStack() as stack:
        stack.enter_context(_namespace(name))
        serve_log = (workdir / "serve.out").open("w")
        serve = subprocess.Popen(
            [
                *(sys.executable, "-m", "nexthop.cli.main", "serve", str(topology)),
                *("--db", str(workdir / "nexthop.db"), "--port", str(api_port)),
                *("--bgp", "--bgp-bind", "real", "--bgp-port", str(bgp_port)),
            ],
            stdout=serve_log,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        serve_log.close()
        api = httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=10.0)
        frr = Frr(
            netns=name,
            workdir=workdir,
            address=FRR_IP,
            instances=INSTANCE_IPS,
            bgp_port=bgp_port,
            processes={},
        )
        try:

            def healthy() -> bool:
                assert serve.poll() is None, (workdir / "serve.out").read_text()
                with contextlib.suppress(httpx.TransportError):
                    return api.get("/healthz").status_code == 200
                return False

            wait_until(healthy, WAIT, "nexthop serve to answer /healthz")
            frr.start()
            yield Setup(frr=frr, serve=serve, api=api, instances=INSTANCE_IPS)
        finally:
            with contextlib.suppress(ProcessLookupError):
                serve.send_signal(signal.SIGCONT)
            serve.terminate()
            try:
                serve.wait(timeout=20)
            except subprocess.TimeoutExpired:
                serve.kill()
                serve.wait()
            frr.stop()
            api.close()
            if os.environ.get("NEXTHOP_KEEP_BFD_DIR") is None:
                shutil.rmtree(workdir, ignore_errors=True)


def _wait(setup: Setup, predicate: Callable[[], object], what: str) -> None:
    try:
        wait_until(predicate, WAIT, what)
    except TimeoutError as exc:
        serve_out = (setup.frr.workdir / "serve.out").read_text(errors="replace")[-3000:]
        states = setup.states()
        raise AssertionError(
            f"{exc}\n{states}\n{setup.frr.describe()}\nserve:\n{serve_out}"
        ) from None


def test_bfd_comes_up_on_both_sides(setup: Setup) -> None:
    _wait(setup, setup.all_up, "BFD Up and BGP Established on both sides")
    for view in setup.instance_views().values():
        bfd = view["bfd"]
        assert bfd["remote_state"] == "Up"
        assert bfd["transmit_interval_ms"] == 100.0  # negotiated with FRR's 100 ms
        assert bfd["detection_time_ms"] == 300.0  # FRR's multiplier 3 x 100 ms
    peers = setup.frr.bfd_peers()
    for peer in setup.instances:
        assert peers[peer]["multihop"] is False  # RFC 5881 single hop
        assert peers[peer]["remote-receive-interval"] == 100
    metrics = setup.api.get("/metrics").text
    up = re.findall(r'^nexthop_bfd_up\{[^}]*peering="frr"[^}]*\} (\S+)$', metrics, re.M)
    assert sorted(up) == ["1.0", "1.0"]


def test_a_hung_bfdd_takes_our_bgp_sessions_down_through_bfd(setup: Setup) -> None:
    _wait(setup, setup.all_up, "everything Up before the test")
    setup.frr.signal("bfdd", signal.SIGSTOP)
    try:
        _wait(
            setup,
            lambda: all(
                "BFD session down (control detection time expired)" in v["last_error"]
                for v in setup.instance_views().values()
            ),
            "our peering view to name BFD as the reason both sessions went down",
        )
        for peer in setup.instances:
            # FRR's bgpd got our Cease/BFD Down (RFC 9384 subcode 10).
            _wait(
                setup,
                lambda peer=peer: re.search(
                    rf"received from neighbor {re.escape(peer)} 6/10 \(Cease/BFD Down\)",
                    setup.frr.log(),
                ),
                f"FRR to log the Cease/BFD Down from {peer}",
            )
    finally:
        setup.frr.signal("bfdd", signal.SIGCONT)
    _wait(setup, setup.all_up, "everything Up again once bfdd runs")


def test_a_hung_route_server_takes_frr_s_bgp_sessions_down_through_bfd(setup: Setup) -> None:
    _wait(setup, setup.all_up, "everything Up before the test")
    setup.serve.send_signal(signal.SIGSTOP)
    try:
        _wait(
            setup,
            lambda: all(
                p.get("status") == "down"
                and p.get("diagnostic") == "control detection time expired"
                for p in (setup.frr.bfd_peers().get(i, {}) for i in setup.instances)
            ),
            "FRR's bfdd to detect the silent route server",
        )
        for peer in setup.instances:
            # FRR's bgpd ends the session with its own Cease/BFD Down (RFC 9384).
            _wait(
                setup,
                lambda peer=peer: re.search(
                    rf"sent to neighbor {re.escape(peer)} 6/10 \(Cease/BFD Down\)",
                    setup.frr.log(),
                ),
                f"FRR's bgpd to reset the session with {peer} for BFD",
            )
    finally:
        setup.serve.send_signal(signal.SIGCONT)
    _wait(setup, setup.all_up, "everything Up again once the route server runs")


def test_stopping_the_route_server_sends_cease_before_bfd_admin_down(setup: Setup) -> None:
    """Last (it stops the route server): FRR's bgpd resets BGP on a BFD AdminDown
    (docs/bfd.md), so our BFD AdminDown must follow the Cease/Administrative
    Shutdown with its communication, which FRR then logs for both sessions."""
    _wait(setup, setup.all_up, "everything Up before the test")
    setup.serve.terminate()
    setup.serve.wait(timeout=20)
    for peer in setup.instances:
        _wait(
            setup,
            lambda peer=peer: re.search(
                rf"received from neighbor {re.escape(peer)} 6/2 "
                r'\(Cease/Administrative Shutdown\) "nexthop stopping"',
                setup.frr.log(),
            ),
            f"FRR to log our Administrative Shutdown from {peer}",
        )

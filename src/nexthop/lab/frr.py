"""Run an NVA's own FRR configuration against the lab (an external NVA).

``lab_frr_config(nva, addresses)`` turns the topology's ``bgp_config`` text into a
``bgpd.conf`` that works on loopback: each ``neighbor <instance IP>`` becomes the
instance's stand-in, and every neighbor gets the lab's BGP port, the NVA's stand-in
as update-source, no connected check (the stand-ins share no subnet), and the
session timers. Policy, ``network`` statements and ``set ip next-hop`` stay as
written: NEXT_HOPs are topology addresses, only the session endpoints move.
``bgpd_command`` is the matching command line (``-Z``: no zebra, so
``no bgp network import-check`` is added for the ``network`` statements).
"""

from __future__ import annotations

import re
from pathlib import Path

from nexthop.config.schema import Nva
from nexthop.lab.nva import StandIns

__all__ = ["BGPD", "bgpd_command", "lab_frr_config"]

BGPD = "/usr/lib/frr/bgpd"
_NEIGHBOR = re.compile(r"^(\s*(?:no\s+)?neighbor\s+)(\d+\.\d+\.\d+\.\d+)(\b.*)$")
_REMOTE_AS = re.compile(r"^\s*neighbor\s+(\S+)\s+remote-as\b")
_ROUTER_BGP = re.compile(r"^\s*router\s+bgp\s+\d+")


def lab_frr_config(
    nva: Nva,
    addresses: StandIns,
    *,
    hold_time: int = 9,
    keepalive: int = 3,
    log_file: Path | None = None,
) -> str:
    """The NVA's ``bgp_config`` rewritten for the lab (see the module docstring)."""
    if nva.bgp_config is None:
        msg = f"NVA {nva.name!r} has no bgp_config"
        raise ValueError(msg)
    source = addresses.stand_in(str(nva.nic.ip))
    lines = ["frr defaults traditional", f"hostname {nva.name}"]
    if log_file is not None:
        lines.append(f"log file {log_file} debugging")
    lines.append("!")
    for raw in nva.bgp_config.splitlines():
        match = _NEIGHBOR.match(raw)
        line = raw if match is None else match[1] + addresses.stand_in(match[2]) + match[3]
        lines.append(line)
        if _ROUTER_BGP.match(line):
            lines += [
                f" bgp router-id {nva.nic.ip}",
                " no bgp ebgp-requires-policy",
                " no bgp network import-check",
                " bgp log-neighbor-changes",
            ]
        remote = _REMOTE_AS.match(line)
        if remote is not None:
            peer = remote[1]
            lines += [
                f" neighbor {peer} port {addresses.bgp_port}",
                f" neighbor {peer} update-source {source}",
                f" neighbor {peer} disable-connected-check",
                f" neighbor {peer} timers {keepalive} {hold_time}",
                f" neighbor {peer} timers connect 1",
                f" neighbor {peer} advertisement-interval 0",
            ]
    return "\n".join(lines) + "\n"


def bgpd_command(config: Path, workdir: Path, listen: str, *, binary: str = BGPD) -> list[str]:
    """``bgpd`` alone (no zebra), not listening (``-p 0``: the route server never
    dials), its vty socket and pid file in ``workdir``."""
    return [
        binary, "-f", str(config), "-Z", "-S", "-p", "0", "-l", listen,
        "-i", str(workdir / "bgpd.pid"), "--vty_socket", str(workdir), "-P", "0",
    ]  # fmt: skip

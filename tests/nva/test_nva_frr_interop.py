"""The BGP configurations we accept are also valid FRR configurations.

Runs ``vtysh --dryrun`` (FRR's own parser, no daemon needed) on the article's
configuration and on every NVA of every example topology.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from nexthop.config import load_topology

EXAMPLES = Path(__file__).parents[2] / "examples"
ARTICLE_CONFIG = (Path(__file__).parent / "article-config.txt").read_text()

CONFIGS = [("article", ARTICLE_CONFIG)] + [
    (f"{path.stem}/{nva.name}", nva.bgp_config)
    for path in sorted(EXAMPLES.glob("*.yaml"))
    for nva in load_topology(path).topology.nvas
    if nva.bgp_config is not None
]


def vtysh_check(vtysh: str, tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    conf = tmp_path / "bgpd.conf"
    conf.write_text(text)
    return subprocess.run(
        [vtysh, "--dryrun", "--inputfile", str(conf)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.interop
@pytest.mark.parametrize(("name", "text"), CONFIGS, ids=[c[0] for c in CONFIGS])
def test_frr_accepts(
    name: str, text: str, tmp_path: Path, require_daemon: Callable[[str, str, str], str]
) -> None:
    vtysh = require_daemon("FRR vtysh", "vtysh", "frr")
    result = vtysh_check(vtysh, tmp_path, text)
    assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"


@pytest.mark.interop
def test_frr_rejects_what_we_reject(
    tmp_path: Path, require_daemon: Callable[[str, str, str], str]
) -> None:
    """The dry run is a real check: FRR fails on the misspelt statement too."""
    vtysh = require_daemon("FRR vtysh", "vtysh", "frr")
    result = vtysh_check(vtysh, tmp_path, "router bgp 65001\n neighbour 10.1.1.4 remote-as 65515\n")
    assert result.returncode != 0

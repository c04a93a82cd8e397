"""Every example topology loads; the next-hop-ip example is the article's architecture."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from nexthop.bgp.wire.messages import PathAttributes
from nexthop.config import load_topology, route_server_instance_ips
from nexthop.config.types import HaRole, ResponderMode
from nexthop.net.prefix import parse_prefix
from nexthop.nva import Accepted, Direction, evaluate_neighbor

EXAMPLES = Path(__file__).parents[2] / "examples"


def ip(text: str) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(text)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_loads(path: Path) -> None:
    loaded = load_topology(path)
    assert loaded.source == str(path)
    assert loaded.topology.vnets


def test_examples_exist() -> None:
    assert {p.stem for p in EXAMPLES.glob("*.yaml")} >= {
        "next-hop-ip",
        "active-active",
        "active-passive",
        "cross-region",
    }


def test_next_hop_ip_is_the_article_architecture() -> None:
    loaded = load_topology(EXAMPLES / "next-hop-ip.yaml")
    topo = loaded.topology
    assert topo.route_server_ips("rs") == (ip("10.1.1.4"), ip("10.1.1.5"))
    ilb = topo.load_balancer("ilb")
    assert ilb is not None
    assert ilb.frontend.ip == ip("10.1.0.100")
    assert ilb.backend_pool.members == ("nva1", "nva2")
    rs = topo.route_server("rs")
    assert rs is not None
    assert rs.asn == 65515
    assert [(p.name, p.peer_asn) for p in rs.peerings] == [("nva1", 65001), ("nva2", 65001)]
    assert [vm.name for vm in topo.vms] == ["vm1"]
    (branch,) = topo.branches
    assert branch.name == "onprem"
    assert branch.behind_nvas == ("nva1", "nva2")
    for name in ("nva1", "nva2"):
        nva = topo.nva(name)
        assert nva is not None
        config = nva.bgp
        assert config is not None
        assert config.bgp is not None
        assert config.bgp.asn == 65001
        assert [(n.address, n.remote_as, n.route_map_out) for n in config.bgp.neighbors] == [
            (int(ip("10.1.1.4")), 65515, "SET-NEXTHOP"),
            (int(ip("10.1.1.5")), 65515, "SET-NEXTHOP"),
        ]
        # Routes toward either instance leave with the ILB frontend as next hop.
        for instance in ("10.1.1.4", "10.1.1.5"):
            result = evaluate_neighbor(
                config,
                int(ip(instance)),
                Direction.OUT,
                parse_prefix("192.168.0.0/16"),
                PathAttributes(next_hop=int(nva.nic.ip)),
            )
            assert isinstance(result, Accepted)
            assert result.attributes.next_hop == int(ip("10.1.0.100"))


def test_next_hop_ip_nvas_carry_every_statement_of_the_article() -> None:
    article = (Path(__file__).parents[1] / "nva" / "article-config.txt").read_text()
    wanted = [line.strip() for line in article.splitlines() if line.strip() not in ("", "!")]
    topo = load_topology(EXAMPLES / "next-hop-ip.yaml").topology
    for nva in topo.nvas:
        assert nva.bgp_config is not None
        have = [line.strip() for line in nva.bgp_config.splitlines()]
        # in the article's order; the example only adds ebgp-multihop and network lines
        positions = [have.index(line) for line in wanted]
        assert positions == sorted(positions)
        for line in have:
            if line not in wanted:
                assert line == "!" or line.startswith("network ") or " ebgp-multihop " in line


def test_active_passive_roles_and_fast_probes() -> None:
    topo = load_topology(EXAMPLES / "active-passive.yaml").topology
    roles = {n.name: n.ha.role for n in topo.nvas}
    assert roles == {"fw-a": HaRole.ACTIVE, "fw-b": HaRole.STANDBY}
    assert all(
        n.probe_responder is not None and n.probe_responder.mode is ResponderMode.WHEN_ACTIVE
        for n in topo.nvas
    )
    ilb = topo.load_balancer("ilb")
    assert ilb is not None
    assert ilb.fast_probes
    assert ilb.probes[0].interval_s == 1


def test_active_active_all_nvas_answer_the_probe() -> None:
    topo = load_topology(EXAMPLES / "active-active.yaml").topology
    assert {n.ha.role for n in topo.nvas} == {HaRole.ACTIVE}
    assert topo.region_of("spoke") == "westeurope"


def test_cross_region_validates() -> None:
    """Azure accepts it; tests/lint shows the warning per NVA (cross-region-next-hop)."""
    path = EXAMPLES / "cross-region.yaml"
    assert "TRAFFIC TO THESE ROUTES WILL FAIL" in path.read_text()
    loaded = load_topology(path)
    assert loaded.topology.region_of("transit") == "northeurope"


@pytest.mark.parametrize(
    ("subnet", "first", "second"),
    [
        ("10.1.1.0/26", "10.1.1.4", "10.1.1.5"),
        ("10.0.1.64/26", "10.0.1.68", "10.0.1.69"),
        ("10.1.0.0/24", "10.1.0.4", "10.1.0.5"),
    ],
)
def test_route_server_instance_ips(subnet: str, first: str, second: str) -> None:
    assert route_server_instance_ips(ipaddress.IPv4Network(subnet)) == (ip(first), ip(second))

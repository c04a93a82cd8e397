"""The topology's ``bfd`` block on a route server peering: off unless present (as in
Azure, whose Route Server has no BFD), checked field by field, and carried to the
route server's ``PeeringConfig``."""

from __future__ import annotations

import pytest

from nexthop.bfd import BfdConfig
from nexthop.config import TopologyError, load_topology_text
from nexthop.world import World

TEXT = """
region: westeurope
vnets:
  - name: hub
    address_space: [10.79.0.0/16]
    subnets:
      - {name: RouteServerSubnet, prefix: 10.79.1.0/26}
route_servers:
  - name: rs
    vnet: hub
    peerings:
      - {name: plain, peer_ip: 10.79.0.8, peer_asn: 65008, external: true}
      - name: fast
        peer_ip: 10.79.0.9
        peer_asn: 65009
        external: true
        bfd: BFD
"""


def _peerings(bfd: str) -> dict[str, BfdConfig | None]:
    topology = load_topology_text(TEXT.replace("BFD", bfd), "t.yaml").topology
    world = World.from_topology(topology, 0.0)
    return {p.name: p.bfd for p in world.route_servers["rs"].server.peerings()}


def test_bfd_is_off_without_the_block_and_on_with_it() -> None:
    peerings = _peerings("{min_tx_ms: 100, min_rx_ms: 200, multiplier: 5, multihop: true}")
    assert peerings["plain"] is None
    assert peerings["fast"] == BfdConfig(
        desired_min_tx_us=100_000, required_min_rx_us=200_000, detect_mult=5, multihop=True
    )


def test_an_empty_block_takes_frr_s_defaults_and_enabled_false_turns_it_off() -> None:
    assert _peerings("{}")["fast"] == BfdConfig()  # 300 ms, multiplier 3, single hop
    assert _peerings("{enabled: false}")["fast"] is None


@pytest.mark.parametrize(
    ("bfd", "field"),
    [
        ("{multiplier: 0}", "multiplier"),
        ("{multiplier: 256}", "multiplier"),
        ("{min_tx_ms: 0}", "min_tx_ms"),
        ("{min_rx_ms: -1}", "min_rx_ms"),
        ("{echo: true}", "echo"),
    ],
)
def test_a_bad_value_names_its_field(bfd: str, field: str) -> None:
    with pytest.raises(TopologyError) as info:
        load_topology_text(TEXT.replace("BFD", bfd), "t.yaml")
    paths = [p.path for p in info.value.problems]
    assert paths == [f"route_servers[0].peerings[1].bfd.{field}"], paths

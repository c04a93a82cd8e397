"""Configuration validation: instance addresses, ASN rules, peer limits."""

from __future__ import annotations

import pytest
from rs_helpers import NVA1, SUBNET, VNET, connect, ip, server

from nexthop.net.prefix import parse_prefix
from nexthop.routeserver import (
    IN_0,
    IN_1,
    ConfigError,
    HubRoutingPreference,
    PeeringConfig,
    RouteServer,
    RouteServerConfig,
)


def test_defaults_match_azure() -> None:
    config = RouteServerConfig(name="ars", subnet=SUBNET)
    assert config.asn == 65515
    assert config.max_peers == 8
    assert config.max_routes_per_peer == 4000
    assert config.branch_to_branch is False
    assert config.hub_routing_preference is HubRoutingPreference.EXPRESS_ROUTE
    assert config.next_hop_validation is False


def test_instance_ips_are_the_4th_and_5th_addresses() -> None:
    rs = RouteServer(RouteServerConfig(name="ars", subnet=parse_prefix("10.0.1.64/26")))
    assert rs.config.instance_ip_texts == ("10.0.1.68", "10.0.1.69")
    assert rs.instances[IN_0].local_ip == ip("10.0.1.68")
    assert rs.instances[IN_1].local_ip == ip("10.0.1.69")


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (RouteServerConfig(name="ars", subnet=parse_prefix("10.1.1.0/27")), "subnet"),
        (RouteServerConfig(name="ars", subnet=parse_prefix("2001:db8::/64")), "subnet"),
        (RouteServerConfig(name="", subnet=SUBNET), "name"),
        (RouteServerConfig(name="ars", subnet=SUBNET, max_peers=0), "max_peers"),
        (
            RouteServerConfig(
                name="ars", subnet=SUBNET, vnet_address_spaces=(parse_prefix("2001:db8::/48"),)
            ),
            "vnet_address_spaces",
        ),
    ],
)
def test_bad_route_server_config_names_the_field(config: RouteServerConfig, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        RouteServer(config)
    assert info.value.field == field


@pytest.mark.parametrize(
    "asn", [8074, 8075, 12076, 65515, 65517, 65518, 65519, 65520, 23456, 64496, 64511, 65535]
)
def test_reserved_peer_asns_are_refused(asn: int) -> None:
    rs = server()
    with pytest.raises(ConfigError) as info:
        rs.add_peering(PeeringConfig(name="nva", peer_ip="10.1.0.4", peer_asn=asn))
    assert info.value.field == "peer_asn"
    assert rs.peerings() == []


def test_four_octet_peer_asn_only_beyond_the_cloud() -> None:
    big = PeeringConfig(name="nva", peer_ip="10.1.0.4", peer_asn=4200000001)
    with pytest.raises(ConfigError, match="peer_asn"):
        server().add_peering(big)
    rs = server(allow_four_octet_peer_asn=True)
    rs.add_peering(big)
    assert rs.peerings() == [big]


@pytest.mark.parametrize(
    ("peering", "field"),
    [
        (PeeringConfig(name="nva1", peer_ip="10.1.0.9", peer_asn=65002), "name"),
        (PeeringConfig(name="other", peer_ip="10.1.0.4", peer_asn=65002), "peer_ip"),
        (PeeringConfig(name="other", peer_ip="not-an-ip", peer_asn=65002), "peer_ip"),
        (PeeringConfig(name="other", peer_ip="10.1.1.10", peer_asn=65002), "peer_ip"),
        (PeeringConfig(name="other", peer_ip="2001:db8::1", peer_asn=65002), "peer_ip"),
        (PeeringConfig(name="", peer_ip="10.1.0.9", peer_asn=65002), "name"),
    ],
)
def test_duplicate_or_bad_peering_is_refused_and_state_kept(
    peering: PeeringConfig, field: str
) -> None:
    rs = server()
    rs.add_peering(NVA1)
    with pytest.raises(ConfigError) as info:
        rs.add_peering(peering)
    assert info.value.field == field
    assert rs.peerings() == [NVA1]


def test_ninth_peer_exceeds_the_limit() -> None:
    rs = server()
    for i in range(8):
        rs.add_peering(PeeringConfig(name=f"nva{i}", peer_ip=f"10.1.0.{10 + i}", peer_asn=65001))
    with pytest.raises(ConfigError) as info:
        rs.add_peering(PeeringConfig(name="nva9", peer_ip="10.1.0.99", peer_asn=65001))
    assert info.value.field == "max_peers"
    assert len(rs.peerings()) == 8
    # Beyond the cloud: a larger limit is a configuration value.
    bigger = server(max_peers=16)
    for i in range(9):
        bigger.add_peering(
            PeeringConfig(name=f"nva{i}", peer_ip=f"10.1.0.{10 + i}", peer_asn=65001)
        )
    assert len(bigger.peerings()) == 9


def test_rejected_reconfiguration_leaves_state_untouched() -> None:
    rs = server()
    connect(rs, NVA1)
    rs.add_peering(PeeringConfig(name="nva2", peer_ip="10.1.0.5", peer_asn=65002))
    before = rs.config
    with pytest.raises(ConfigError) as info:
        rs.reconfigure(1.0, max_peers=1)
    assert info.value.field == "max_peers"
    with pytest.raises(ConfigError, match="asn"):
        rs.reconfigure(1.0, asn=65000)
    with pytest.raises(ConfigError, match="config"):
        rs.reconfigure(1.0, no_such_setting=True)
    assert rs.config is before
    assert rs.config.vnet_address_spaces == (VNET,)

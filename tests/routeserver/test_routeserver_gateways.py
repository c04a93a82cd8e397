"""Virtual network gateways as route sources: branch-to-branch and hub routing preference."""

from __future__ import annotations

import pytest
from rs_helpers import (
    NVA1,
    NVA3,
    announce,
    announced_to,
    connect,
    ip,
    send_both,
    server,
)

from nexthop.bgp.rib.path import as_path_asns
from nexthop.net.prefix import parse_prefix
from nexthop.routeserver import (
    IN_0,
    IN_1,
    ConfigError,
    GatewayKind,
    GatewayRoute,
    HubRoutingPreference,
    RouteServerWarning,
)

ONPREM = parse_prefix("10.50.0.0/16")
ER_NH = ip("10.1.3.4")
VPN_NH = ip("10.1.3.10")
ER = GatewayKind.EXPRESS_ROUTE
VPN = GatewayKind.VPN_GATEWAY


def er_route(
    prefix: str = "10.50.0.0/16", as_path: tuple[int, ...] = (12076, 65020)
) -> GatewayRoute:
    return GatewayRoute(prefix=parse_prefix(prefix), next_hop=ER_NH, as_path=as_path)


def test_gateway_routes_stay_away_from_nvas_without_branch_to_branch() -> None:
    rs = server()
    connect(rs, NVA1)
    out = rs.add_gateway_routes("er", ER, [er_route()], 0.0)
    assert announced_to(out, IN_0, "nva1") == {}
    send_both(rs, "nva1", announce("10.100.0.0/16"))
    assert rs.routes_to_gateways() == {IN_0: [], IN_1: []}
    # The VNet itself still uses the gateway's route.
    assert (ONPREM, (ER_NH,)) in rs.vnet_routes()


def test_branch_to_branch_exchanges_both_ways() -> None:
    rs = server()
    connect(rs, NVA1)
    rs.add_gateway_routes("er", ER, [er_route()], 0.0)
    send_both(rs, "nva1", announce("10.100.0.0/16"))
    out = rs.reconfigure(1.0, branch_to_branch=True)
    attrs = announced_to(out, IN_0, "nva1")[ONPREM]
    assert as_path_asns(attrs) == (65515, 12076, 65020)
    assert attrs.next_hop == ip("10.1.1.4")
    row = {r["network"]: r for r in rs.advertised_routes("nva1")[IN_0]}["10.50.0.0/16"]
    assert row["origin"] == "IBgp"
    offered = rs.routes_to_gateways()
    assert [str(p.prefix) for p in offered[IN_0]] == ["10.100.0.0/16"]
    assert [str(p.prefix) for p in offered[IN_1]] == ["10.100.0.0/16"]
    # Turning it off withdraws the gateway route from the NVA again.
    out = rs.reconfigure(2.0, branch_to_branch=False)
    assert any(ONPREM in o.update.withdrawn for o in out if hasattr(o, "update"))


@pytest.mark.parametrize(
    ("preference", "expected"),
    [
        (HubRoutingPreference.EXPRESS_ROUTE, (ER_NH,)),
        (HubRoutingPreference.VPN_GATEWAY, (ip("10.1.0.100"),)),
        (HubRoutingPreference.AS_PATH, (ip("10.1.0.100"),)),
    ],
)
def test_hub_routing_preference_between_expressroute_and_nva(
    preference: HubRoutingPreference, expected: tuple[int, ...]
) -> None:
    rs = server(branch_to_branch=True, hub_routing_preference=preference)
    connect(rs, NVA1, NVA3)
    rs.add_gateway_routes("er", ER, [er_route()], 0.0)  # AS_PATH length 2
    send_both(rs, "nva1", announce(ONPREM))  # AS_PATH length 1
    assert rs.vnet_routes() == [(ONPREM, expected)]
    # nva3 is sent whichever source won.
    row = {r["network"]: r for r in rs.advertised_routes("nva3")[IN_0]}["10.50.0.0/16"]
    want = "65515 12076 65020" if expected == (ER_NH,) else "65515 65001"
    assert row["asPath"] == want


def test_as_path_preference_with_equal_lengths_is_ecmp_across_sources() -> None:
    rs = server(hub_routing_preference=HubRoutingPreference.AS_PATH)
    connect(rs, NVA1)
    rs.add_gateway_routes("er", ER, [er_route(as_path=(12076,))], 0.0)
    send_both(rs, "nva1", announce(ONPREM))
    assert rs.vnet_routes() == [(ONPREM, (ip("10.1.0.100"), ER_NH))]


def test_vpn_and_nva_are_ranked_by_as_path_under_the_default() -> None:
    rs = server()
    connect(rs, NVA1)
    vpn = GatewayRoute(prefix=ONPREM, next_hop=VPN_NH, as_path=(65050, 65051))
    rs.add_gateway_routes("vpn", VPN, [vpn], 0.0)
    send_both(rs, "nva1", announce(ONPREM))
    assert rs.vnet_routes() == [(ONPREM, (ip("10.1.0.100"),))]
    out = rs.reconfigure(1.0, hub_routing_preference=HubRoutingPreference.EXPRESS_ROUTE)
    assert rs.vnet_routes() == [(ONPREM, (ip("10.1.0.100"),))]
    assert out == []  # the same setting again: nothing to send, nothing reprogrammed
    # An ExpressRoute route for the same prefix beats both by default.
    rs.add_gateway_routes("er", ER, [er_route(as_path=(12076, 65020, 65020))], 2.0)
    assert rs.vnet_routes() == [(ONPREM, (ER_NH,))]
    rs.withdraw_gateway_routes("er", [ONPREM], 3.0)
    assert rs.vnet_routes() == [(ONPREM, (ip("10.1.0.100"),))]
    rs.remove_gateway("vpn", 4.0)
    send_both(rs, "nva1", announce(ONPREM, as_path=(65001, 65001, 65001, 65001)))
    assert rs.vnet_routes() == [(ONPREM, (ip("10.1.0.100"),))]


def test_gateway_configuration_errors() -> None:
    rs = server()
    rs.add_peering(NVA1)
    with pytest.raises(ConfigError, match="kind"):
        rs.add_gateway_routes("x", GatewayKind.NVA, [], 0.0)
    with pytest.raises(ConfigError, match="name"):
        rs.add_gateway_routes("nva1", ER, [], 0.0)
    rs.add_gateway_routes("er", ER, [er_route()], 0.0)
    with pytest.raises(ConfigError, match="kind"):
        rs.add_gateway_routes("er", VPN, [], 0.0)


def test_expressroute_route_limit_warning() -> None:
    rs = server(branch_to_branch=True, expressroute_route_limit=2)
    connect(rs, NVA1)
    rs.add_gateway_routes("er", ER, [er_route()], 0.0)
    out = send_both(rs, "nva1", announce("10.100.0.0/16"))
    assert not any(isinstance(o, RouteServerWarning) for o in out)
    out = send_both(rs, "nva1", announce("10.101.0.0/16"))
    warnings = [o for o in out if isinstance(o, RouteServerWarning)]
    assert len(warnings) == 1
    assert "exceed the limit of 2" in warnings[0].message


def test_gateway_offer_count_follows_the_table() -> None:
    """The count the ExpressRoute limit uses (kept per changed prefix) always
    equals the routes actually offered to the gateways."""
    rs = server(branch_to_branch=True)
    connect(rs, NVA1, NVA3)
    rs.add_gateway_routes("er", ER, [er_route()], 0.0)

    def counts() -> list[int]:
        for inst in rs.instances.values():
            assert inst.gateway_offer_count() == len(inst.routes_to_gateways())
        return [inst.gateway_offer_count() for inst in rs.instances.values()]

    assert counts() == [0, 0]
    send_both(rs, "nva1", announce("10.100.0.0/16", "10.101.0.0/16"))
    assert counts() == [2, 2]
    send_both(rs, "nva3", announce("10.102.0.0/16", communities=(0xFFFFFF02,)))  # NO_ADVERTISE
    assert counts() == [2, 2]
    send_both(rs, "nva3", announce("10.100.0.0/16", as_path=(65003,)))
    assert counts() == [2, 2]
    rs.peer_down(IN_0, "nva1", 1.0)
    assert counts() == [1, 2]
    rs.reconfigure(2.0, branch_to_branch=False)
    assert counts() == [0, 0]
    rs.reconfigure(3.0, branch_to_branch=True)
    connect(rs, NVA1, instances=(IN_0,), now=3.0)
    send_both(rs, "nva1", announce("10.103.0.0/16"))
    assert counts() == [2, 3]

"""``reconcile``: a running route server brought to a new configuration in place,
with the fewest session disturbances (issue 10; route-server-spec §1.2)."""

from __future__ import annotations

from dataclasses import replace

from rs_helpers import NVA1, NVA2, NVA3, announce, connect, send_both, server

from nexthop.bgp.constants import CeaseSubcode
from nexthop.net.prefix import parse_prefix
from nexthop.routeserver import RouteServer, SendRouteRefresh, TeardownPeering
from nexthop.routeserver.reconcile import reconcile

SPOKE = parse_prefix("10.20.0.0/16")
ONPREM = parse_prefix("192.168.0.0/16")


def _running() -> RouteServer:
    rs = server()
    connect(rs, NVA1, NVA2)
    send_both(rs, "nva1", announce(ONPREM, next_hop="10.1.0.100"))
    return rs


def test_nothing_changed_makes_no_call() -> None:
    rs = _running()
    before = rs.vnet_routes()
    assert reconcile(rs, rs.config, rs.peerings(), 1.0) == []
    assert rs.vnet_routes() == before


def test_identity_change_needs_a_restart() -> None:
    rs = _running()
    assert reconcile(rs, replace(rs.config, asn=65516), rs.peerings(), 1.0) is None
    other = replace(rs.config, subnet=parse_prefix("10.1.2.0/26"))
    assert reconcile(rs, other, rs.peerings(), 1.0) is None


def test_a_vnet_peering_asks_for_route_refresh_and_keeps_routes() -> None:
    rs = _running()
    wanted = replace(rs.config, peered_address_spaces=(SPOKE,))
    outputs = reconcile(rs, wanted, rs.peerings(), 1.0)
    assert outputs is not None
    refreshes = {(o.instance, o.peering) for o in outputs if isinstance(o, SendRouteRefresh)}
    assert {p for _, p in refreshes} == {"nva1", "nva2"}
    assert len(refreshes) == 4  # both instances
    assert not [o for o in outputs if isinstance(o, TeardownPeering)]
    assert rs.config.peered_address_spaces == (SPOKE,)
    assert ONPREM in dict(rs.vnet_routes())  # nothing withdrawn

    back = reconcile(rs, replace(wanted, peered_address_spaces=()), rs.peerings(), 2.0)
    assert back is not None
    assert not [o for o in back if isinstance(o, TeardownPeering)]
    assert rs.config.peered_address_spaces == ()


def test_peerings_added_removed_and_changed_touch_only_those() -> None:
    rs = _running()
    changed = replace(NVA2, peer_asn=65002)
    outputs = reconcile(rs, rs.config, [NVA1, changed, NVA3], 1.0)
    assert outputs is not None
    torn = {(o.peering, o.notification.subcode) for o in outputs if isinstance(o, TeardownPeering)}
    assert torn == {("nva2", CeaseSubcode.PEER_DE_CONFIGURED)}
    assert {p.name: p for p in rs.peerings()} == {"nva1": NVA1, "nva2": changed, "nva3": NVA3}
    assert ONPREM in dict(rs.vnet_routes())  # nva1's route stays

    outputs = reconcile(rs, rs.config, [changed], 2.0)
    assert outputs is not None
    torn = {o.peering for o in outputs if isinstance(o, TeardownPeering)}
    assert torn == {"nva1"}  # nva3 never came up: nothing to tear down
    assert [p.name for p in rs.peerings()] == [changed.name]
    assert rs.vnet_routes() == []


def test_other_settings_reconfigure_without_teardown() -> None:
    rs = _running()
    wanted = replace(rs.config, branch_to_branch=True, max_routes_per_peer=8000)
    outputs = reconcile(rs, wanted, rs.peerings(), 1.0)
    assert outputs is not None
    assert not [o for o in outputs if isinstance(o, TeardownPeering)]
    assert rs.config == wanted

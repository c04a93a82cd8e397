"""Inbound rules, best path / ECMP, VNet programming and the learned-routes view."""

from __future__ import annotations

import pytest
from rs_helpers import (
    NVA1,
    NVA2,
    NVA3,
    NVA_NET,
    announce,
    announced_to,
    connect,
    ip,
    send_both,
    server,
    withdraw,
)

from nexthop.bgp.constants import WellKnownCommunity
from nexthop.bgp.rib import Reason
from nexthop.bgp.wire.errors import LocalProtocolError
from nexthop.bgp.wire.messages import Update
from nexthop.clock import ManualClock
from nexthop.net.prefix import parse_prefix
from nexthop.routeserver import IN_0, IN_1, RoutesChanged, RouteServerWarning


def test_two_nvas_same_route_same_next_hop() -> None:
    clock = ManualClock()
    rs = server()
    connect(rs, NVA1, NVA2, now=clock.now())
    clock.advance(5)
    send_both(rs, "nva1", announce(NVA_NET), clock.now())
    out = send_both(rs, "nva2", announce(NVA_NET), clock.now())

    # The learned view keeps every duplicate with its source peer.
    learned1 = rs.learned_routes("nva1")
    learned2 = rs.learned_routes("nva2")
    assert learned1[IN_0] == [
        {
            "localAddress": "10.1.1.4",
            "network": "10.100.0.0/16",
            "nextHop": "10.1.0.100",
            "sourcePeer": "10.1.0.4",
            "origin": "EBgp",
            "asPath": "65001",
            "weight": 32768,
        }
    ]
    assert learned1[IN_1][0]["localAddress"] == "10.1.1.5"
    assert learned2[IN_0][0]["sourcePeer"] == "10.1.0.5"
    # The VNet gets one route with one next hop.
    assert rs.vnet_routes() == [(NVA_NET, (ip("10.1.0.100"),))]
    # nva2's UPDATE did not change the programmed next hops.
    assert not any(isinstance(o, RoutesChanged) for o in out)
    # nva1's path won on the router id; nva2 hears it as "65515 65001" via the instance.
    best = rs.best_path(IN_0, NVA_NET)
    assert best is not None
    assert (best[0].source, best[1]) == ("nva1", Reason.ROUTER_ID)
    advertised = rs.advertised_routes("nva2")
    rows = {r["network"]: r for r in advertised[IN_0]}
    assert rows["10.100.0.0/16"]["asPath"] == "65515 65001"
    assert rows["10.100.0.0/16"]["nextHop"] == "10.1.1.4"
    assert {r["network"]: r["nextHop"] for r in advertised[IN_1]}["10.100.0.0/16"] == "10.1.1.5"
    # ...and never back to nva1, the peer it came from.
    assert "10.100.0.0/16" not in {r["network"] for r in rs.advertised_routes("nva1")[IN_0]}


def test_equal_as_path_length_gives_ecmp_and_shorter_wins() -> None:
    rs = server()
    connect(rs, NVA1, NVA2, NVA3)
    send_both(rs, "nva1", announce(NVA_NET, next_hop="10.1.0.4"))
    out = send_both(rs, "nva3", announce(NVA_NET, as_path=(65003,), next_hop="10.1.0.6"))
    assert RoutesChanged(prefixes=(NVA_NET,)) in out
    assert rs.vnet_routes() == [(NVA_NET, (ip("10.1.0.4"), ip("10.1.0.6")))]
    # Active/passive by prepending: nva2's longer path is held back.
    send_both(rs, "nva2", announce(NVA_NET, as_path=(65001, 65001), next_hop="10.1.0.5"))
    assert rs.vnet_routes() == [(NVA_NET, (ip("10.1.0.4"), ip("10.1.0.6")))]
    send_both(rs, "nva1", withdraw(NVA_NET))
    send_both(rs, "nva3", withdraw(NVA_NET))
    assert rs.vnet_routes() == [(NVA_NET, (ip("10.1.0.5"),))]
    send_both(rs, "nva2", withdraw(NVA_NET))
    assert rs.vnet_routes() == []


def test_as_path_with_65515_is_rejected_but_kept() -> None:
    rs = server()
    connect(rs, NVA1, NVA2)
    out = send_both(rs, "nva1", announce("10.10.0.0/16", as_path=(65001, 65515)))
    assert rs.learned_routes("nva1") == {IN_0: [], IN_1: []}
    assert rs.vnet_routes() == []
    assert announced_to(out, IN_0, "nva2") == {}
    rejected = rs.rejected_routes("nva1")[IN_0]
    assert [(str(p.prefix), reason) for p, reason in rejected] == [
        ("10.10.0.0/16", "AS_PATH contains 65515 (loop prevention)")
    ]
    status = rs.peering_status("nva1")[IN_0]
    assert (status.received_routes, status.accepted_routes, status.rejected_routes) == (1, 0, 1)


def test_as_zero_in_path_is_treated_as_withdraw() -> None:
    rs = server()
    connect(rs, NVA1)
    send_both(rs, "nva1", announce(NVA_NET))
    assert rs.vnet_routes() != []
    out = rs.receive_update(IN_0, "nva1", announce(NVA_NET, as_path=(65001, 0)), 1.0)
    assert any(isinstance(o, RouteServerWarning) and "RFC 7607" in o.message for o in out)
    assert rs.learned_routes("nva1")[IN_0] == []
    # IN_1 still holds it, so the VNet (union of instances) keeps the route.
    assert rs.vnet_routes() == [(NVA_NET, (ip("10.1.0.100"),))]
    rs.receive_update(IN_1, "nva1", announce(NVA_NET, as_path=(0,)), 1.0)
    assert rs.vnet_routes() == []


def test_codec_treat_as_withdraw_removes_the_route() -> None:
    rs = server()
    connect(rs, NVA1)
    send_both(rs, "nva1", announce(NVA_NET))
    bad = announce(NVA_NET)
    marked = Update(attributes=bad.attributes, nlri=bad.nlri, treat_as_withdraw=True)
    send_both(rs, "nva1", marked)
    assert rs.vnet_routes() == []
    assert rs.peering_status("nva1")[IN_0].received_routes == 0


def test_third_party_next_hop_is_kept_exactly() -> None:
    rs = server()
    connect(rs, NVA1, NVA2)
    # Next hop IP support: both NVAs point at the internal load balancer frontend.
    send_both(rs, "nva1", announce("0.0.0.0/0", next_hop="10.1.2.100"))
    send_both(rs, "nva2", announce("0.0.0.0/0", next_hop="10.1.2.100"))
    assert rs.learned_routes("nva1")[IN_1][0]["nextHop"] == "10.1.2.100"
    assert rs.learned_routes("nva2")[IN_1][0]["nextHop"] == "10.1.2.100"
    assert rs.vnet_routes() == [(parse_prefix("0.0.0.0/0"), (ip("10.1.2.100"),))]


def test_no_advertise_is_programmed_but_not_advertised() -> None:
    rs = server()
    connect(rs, NVA1, NVA3)
    out = send_both(rs, "nva1", announce(NVA_NET, communities=(WellKnownCommunity.NO_ADVERTISE,)))
    assert rs.vnet_routes() == [(NVA_NET, (ip("10.1.0.100"),))]
    assert announced_to(out, IN_0, "nva3") == {}
    assert "10.100.0.0/16" not in {r["network"] for r in rs.advertised_routes("nva3")[IN_0]}


def test_prefixes_inside_the_vnet_are_not_injected_but_supernets_are() -> None:
    rs = server()
    connect(rs, NVA1)
    send_both(rs, "nva1", announce("10.1.5.0/24", "10.1.0.0/16", "10.0.0.0/8"))
    assert rs.vnet_routes() == [(parse_prefix("10.0.0.0/8"), (ip("10.1.0.100"),))]


def test_instances_are_independent_and_the_vnet_sees_their_union() -> None:
    rs = server()
    connect(rs, NVA1, instances=(IN_0,))
    rs.add_peering(NVA2)
    rs.receive_update(IN_0, "nva1", announce(NVA_NET), 0.0)
    assert rs.learned_routes("nva1") == {IN_0: rs.learned_routes("nva1")[IN_0], IN_1: []}
    assert len(rs.learned_routes("nva1")[IN_0]) == 1
    assert rs.vnet_routes() == [(NVA_NET, (ip("10.1.0.100"),))]
    assert rs.peering_status("nva1")[IN_1].state.value == "Idle"
    assert rs.peering_status("nva1")[IN_0].state.value == "Established"


def test_update_on_a_session_that_is_not_up_is_a_local_error() -> None:
    rs = server()
    rs.add_peering(NVA1)
    with pytest.raises(LocalProtocolError, match="not Established"):
        rs.receive_update(IN_0, "nva1", announce(NVA_NET), 0.0)
    with pytest.raises(LocalProtocolError, match="no peering"):
        rs.receive_update(IN_0, "ghost", announce(NVA_NET), 0.0)
    with pytest.raises(LocalProtocolError, match="no instance"):
        rs.peer_down("RouteServiceRole_IN_7", "nva1", 0.0)


def test_peer_down_withdraws_its_routes_everywhere() -> None:
    clock = ManualClock()
    rs = server()
    connect(rs, NVA1, NVA3)
    send_both(rs, "nva1", announce(NVA_NET))
    clock.advance(30)
    out = rs.peer_down(IN_0, "nva1", clock.now(), "hold timer expired")
    assert {str(p) for u in out if hasattr(u, "update") for p in u.update.withdrawn} == {
        "10.100.0.0/16"
    }
    # IN_1 still has it.
    assert rs.vnet_routes() == [(NVA_NET, (ip("10.1.0.100"),))]
    status = rs.peering_status("nva1")[IN_0]
    assert status.last_error == "hold timer expired"
    assert status.received_routes == 0
    out = rs.peer_down(IN_1, "nva1", clock.now())
    assert RoutesChanged(prefixes=(NVA_NET,)) in out
    assert rs.vnet_routes() == []


def test_import_policy_change_reapplies_without_route_refresh() -> None:
    rs = server()
    connect(rs, NVA1, NVA3)
    send_both(rs, "nva1", announce(NVA_NET, "10.101.0.0/16"))

    def no_101(path: object) -> str | None:
        return "blocked" if str(getattr(path, "prefix", "")) == "10.101.0.0/16" else None

    out = rs.set_import_policy(no_101, 1.0)
    assert not any(type(o).__name__ == "SendRouteRefresh" for o in out)
    assert [str(p) for p, _ in rs.vnet_routes()] == ["10.100.0.0/16"]
    withdrawn = {str(p) for o in out if hasattr(o, "update") for p in o.update.withdrawn}
    assert withdrawn == {"10.101.0.0/16"}
    assert rs.peering_status("nva1")[IN_0].rejected_routes == 1
    rs.set_import_policy(None, 2.0)
    assert [str(p) for p, _ in rs.vnet_routes()] == ["10.100.0.0/16", "10.101.0.0/16"]


def test_equal_attributes_from_separate_updates_are_shared() -> None:
    rs = server()
    connect(rs, NVA1)
    send_both(rs, "nva1", announce("10.100.0.0/16"))
    send_both(rs, "nva1", announce("10.101.0.0/16"))
    first = rs.best_path(IN_0, parse_prefix("10.100.0.0/16"))
    second = rs.best_path(IN_0, parse_prefix("10.101.0.0/16"))
    assert first is not None
    assert second is not None
    assert first[0].attributes is second[0].attributes


def test_add_path_ids_keep_paths_apart() -> None:
    rs = server()
    connect(rs, NVA1)
    one = announce(NVA_NET, next_hop="10.1.0.100")
    two = announce(NVA_NET, next_hop="10.1.0.101")
    rs.receive_update(
        IN_0, "nva1", Update(attributes=one.attributes, nlri=one.nlri, nlri_path_ids=(1,)), 0.0
    )
    rs.receive_update(
        IN_0, "nva1", Update(attributes=two.attributes, nlri=two.nlri, nlri_path_ids=(2,)), 0.0
    )
    assert [r["nextHop"] for r in rs.learned_routes("nva1")[IN_0]] == ["10.1.0.100", "10.1.0.101"]
    assert rs.vnet_routes() == [(NVA_NET, (ip("10.1.0.100"), ip("10.1.0.101")))]
    rs.receive_update(IN_0, "nva1", Update(withdrawn=(NVA_NET,), withdrawn_path_ids=(1,)), 0.0)
    assert rs.vnet_routes() == [(NVA_NET, (ip("10.1.0.101"),))]


def test_many_distinct_attribute_sets_do_not_break_sharing_after_pruning() -> None:
    rs = server()
    connect(rs, NVA1)
    # 1,500 UPDATEs with distinct AS_PATHs for one prefix, then two that match.
    for i in range(1500):
        rs.receive_update(IN_0, "nva1", announce(NVA_NET, as_path=(65001, i + 1)), 0.0)
    send_both(rs, "nva1", announce("10.100.0.0/16", "10.101.0.0/16", as_path=(65001, 7)))
    send_both(rs, "nva1", announce("10.102.0.0/16", as_path=(65001, 7)))
    first = rs.best_path(IN_0, parse_prefix("10.101.0.0/16"))
    second = rs.best_path(IN_0, parse_prefix("10.102.0.0/16"))
    assert first is not None
    assert second is not None
    assert first[0].attributes is second[0].attributes
    assert rs.learned_routes("nva1")[IN_0][0]["asPath"] == "65001 7"

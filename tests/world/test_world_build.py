"""World.from_topology on the real examples: fabric, route servers, BGP model, HA, probes."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from world_builders import edited, example, world

from nexthop.config.schema import Branch
from nexthop.lb import HaState
from nexthop.net.prefix import parse_prefix
from nexthop.routeserver import IN_0, IN_1, PeeringState
from nexthop.vnet import NextHopType, RouteSource, RouteState
from nexthop.world import World, WorldError, WorldOptions
from nexthop.world.bgp_model import outbound_updates

LB_FE = int(ipaddress.IPv4Address("10.1.0.100"))


Row = tuple[RouteState, NextHopType, tuple[int, ...]]


def bgp_rows(w: World, nic: str, prefix: str) -> list[Row]:
    return [
        (r.state, r.next_hop_type, r.next_hop_ips)
        for r in w.fabric.effective_routes(nic)
        if r.source == RouteSource.VIRTUAL_NETWORK_GATEWAY and str(r.prefix) == prefix
    ]


def test_next_hop_ip_programs_one_next_hop_for_both_nvas() -> None:
    w = world("next-hop-ip")
    assert bgp_rows(w, "vm1-nic", "192.168.0.0/16") == [
        (RouteState.ACTIVE, NextHopType.VIRTUAL_NETWORK_GATEWAY, (LB_FE,))
    ]
    decision = w.fabric.lookup("vm1-nic", "192.168.1.10")
    assert decision.next_hop_texts() == ["10.1.0.100"]
    server = w.route_servers["rs"].server
    assert server.vnet_routes() == [(parse_prefix("192.168.0.0/16"), (LB_FE,))]


def test_learned_routes_view_shows_both_nvas_with_the_frontend_next_hop() -> None:
    server = world("next-hop-ip").route_servers["rs"].server
    for peering, address in (("nva1", "10.1.0.4"), ("nva2", "10.1.0.5")):
        learned = server.learned_routes(peering)
        assert set(learned) == {IN_0, IN_1}
        for rows in learned.values():
            assert [(r["network"], r["nextHop"], r["sourcePeer"], r["asPath"]) for r in rows] == [
                ("192.168.0.0/16", "10.1.0.100", address, "65001")
            ]
        status = server.peering_status(peering)
        assert {s.state for s in status.values()} == {PeeringState.ESTABLISHED}


def test_nvas_learn_the_vnet_and_drop_reflected_routes_with_their_own_as() -> None:
    w = world("next-hop-ip")
    for name in ("nva1", "nva2"):
        node = w.nvas[name]
        learned = {(k[1], str(v.prefix), v.as_path) for k, v in node.learned.items()}
        assert learned == {(IN_0, "10.1.0.0/16", (65515,)), (IN_1, "10.1.0.0/16", (65515,))}
    # The second NVA to connect hears the first one's route back through the route
    # server as 65515 65001 and drops it (own AS in the path).
    reasons = {r for n in w.nvas.values() for r in n.rejected.values()}
    assert reasons == {"AS_PATH 65515 65001 holds own AS 65001"}


def test_fabric_has_a_nic_for_every_nva_vm_and_frontend() -> None:
    w = world("next-hop-ip")
    assert {n.name for n in w.fabric.nics()} == {"nva1-nic", "nva2-nic", "vm1-nic", "ilb-frontend"}
    assert w.fabric.nic_by_ip("hub", "10.1.0.100") == w.fabric.nic("ilb-frontend")


def test_outbound_route_map_sets_the_frontend_and_the_standby_prepends() -> None:
    w = world("active-passive")
    fw_b = w.nvas["fw-b"]
    updates, denied = outbound_updates(fw_b, fw_b.sessions[0])
    assert denied == {}
    assert len(updates) == 1
    attrs = updates[0].attributes
    assert attrs is not None
    assert [str(p) for p in updates[0].nlri] == ["192.168.10.0/24", "192.168.20.0/24"]
    assert attrs.next_hop == int(ipaddress.IPv4Address("10.2.0.100"))
    assert [a for s in attrs.as_path for a in s.asns] == [65010, 65010, 65010]
    no_export = 0xFFFFFF01
    assert set(attrs.communities) == {(65010 << 16) | 200, no_export}


def test_active_passive_elects_the_configured_active_and_only_it_is_probed_up() -> None:
    w = world("active-passive")
    fw_a, fw_b = w.nvas["fw-a"], w.nvas["fw-b"]
    assert fw_a.ha is not None
    assert fw_a.ha.state is HaState.ACTIVE
    assert fw_b.ha is not None
    assert fw_b.ha.state is HaState.STANDBY
    rows = w.load_balancers["ilb"].engine.rule_health("ha-ports")["loadBalancerBackendAddresses"]
    assert {r["name"]: r["state"] for r in rows} == {"fw-a": "Up", "fw-b": "Down"}
    # Shortest AS_PATH wins the VNet programming; both paths share the ILB next hop.
    best = w.route_servers["rs"].server.best_path(IN_0, parse_prefix("192.168.10.0/24"))
    assert best is not None
    assert best[0].source == "fw-a"


def test_active_active_spoke_gets_the_hub_routes_through_gateway_transit() -> None:
    w = world("active-active")
    frontend = int(ipaddress.IPv4Address("10.10.0.100"))
    assert bgp_rows(w, "app1-nic", "172.16.0.0/12") == [
        (RouteState.ACTIVE, NextHopType.VIRTUAL_NETWORK_GATEWAY, (frontend,))
    ]
    nva1 = w.nvas["nva1"]
    assert {str(v.prefix) for v in nva1.learned.values()} == {"10.10.0.0/16", "10.20.0.0/16"}
    assert {v.route_map for v in nva1.learned.values()} == {"FROM-RS"}


def test_bgp_sessions_follow_fail_and_restore() -> None:
    w = world("next-hop-ip")
    server = w.route_servers["rs"].server
    w.fail_nva("nva1", 5.0, bgp_down_after=0)
    assert {s.state for s in server.peering_status("nva1").values()} == {PeeringState.IDLE}
    assert all(rows == [] for rows in server.learned_routes("nva1").values())
    assert w.nvas["nva1"].learned == {}
    # nva2 still advertises the same next hop: the VNet route stays.
    assert server.vnet_routes() == [(parse_prefix("192.168.0.0/16"), (LB_FE,))]
    w.restore_nva("nva1", 6.0)
    assert {s.state for s in server.peering_status("nva1").values()} == {PeeringState.ESTABLISHED}
    assert len(w.nvas["nva1"].learned) == 2


def test_bgp_goes_down_only_when_the_hold_timer_expires() -> None:
    w = world("next-hop-ip")
    server = w.route_servers["rs"].server
    w.fail_nva("nva1", 10.0)
    w.fail_nva("nva2", 10.0)
    w.advance(10.0 + 179.0)
    assert server.vnet_routes() != []
    w.advance(10.0 + 180.0)
    assert server.vnet_routes() == []
    assert bgp_rows(w, "vm1-nic", "192.168.0.0/16") == []
    kinds = [(e.kind, e.subject) for e in w.events if e.kind == "bgp_down"]
    assert sorted(set(kinds)) == [("bgp_down", "nva1"), ("bgp_down", "nva2")]


def test_a_missing_reference_is_a_clear_error() -> None:
    topology = example("next-hop-ip")
    broken = topology.model_copy(
        update={"branches": (Branch(name="lost", prefixes=(), behind_nvas=("ghost",)),)}
    )
    with pytest.raises(WorldError, match="unknown NVA 'ghost'"):
        World.from_topology(broken, 0.0)


def test_unknown_nva_name_is_rejected() -> None:
    with pytest.raises(WorldError, match="unknown NVA 'nva9'"):
        world("next-hop-ip").fail_nva("nva9", 1.0)


def test_the_model_clock_does_not_go_back() -> None:
    w = world("next-hop-ip", now=10.0)
    with pytest.raises(ValueError, match="cannot go back"):
        w.advance(5.0)


def test_an_nva_without_a_peering_gets_no_session() -> None:
    def drop_nva2_peering(data: dict[str, object]) -> None:
        rs = data["route_servers"][0]  # type: ignore[index]
        rs["peerings"] = [p for p in rs["peerings"] if p["name"] != "nva2"]

    w = World.from_topology(edited("next-hop-ip", drop_nva2_peering), 0.0)
    assert w.nvas["nva2"].sessions == ()
    assert [p.name for p in w.route_servers["rs"].server.peerings()] == ["nva1"]
    assert any(e.kind == "bgp_no_peering" and e.subject == "nva2" for e in w.events)


def test_a_pair_forms_when_only_the_standby_names_its_peer() -> None:
    def one_sided(data: dict[str, Any]) -> None:
        data["nvas"][0]["ha"] = {"role": "active"}  # fw-a: no heartbeat of its own

    w = World.from_topology(edited("active-passive", one_sided), 0.0)
    fw_a, fw_b = w.nvas["fw-a"], w.nvas["fw-b"]
    assert fw_a.ha_peer == "fw-b"
    assert fw_b.ha_peer == "fw-a"
    assert fw_a.ha is not None
    assert fw_a.ha.state is HaState.ACTIVE
    assert fw_b.ha is not None
    assert fw_b.ha.state is HaState.STANDBY
    w.advance(60.0)  # heartbeats keep the standby from promoting itself
    assert fw_b.ha.state is HaState.STANDBY
    assert [e.subject for e in w.events if e.kind == "became_active"] == ["fw-a"]


def test_fail_and_restore_are_idempotent() -> None:
    w = world("active-passive")
    w.fail_nva("fw-a", 1.0)
    w.fail_nva("fw-a", 2.0)
    assert [e.at for e in w.events if e.kind == "nva_failed"] == [1.0]
    w.restore_nva("fw-a", 3.0)
    w.restore_nva("fw-a", 4.0)
    assert [e.at for e in w.events if e.kind == "nva_restored"] == [3.0]
    assert w.nvas["fw-a"].up


def test_options_are_checked() -> None:
    with pytest.raises(WorldError, match="hop_limit"):
        WorldOptions(hop_limit=0)
    with pytest.raises(WorldError, match="hold_time"):
        WorldOptions(hold_time=-1.0)


def test_advertised_view_is_what_the_nvas_received() -> None:
    w = world("next-hop-ip")
    server = w.route_servers["rs"].server
    for peering in ("nva1", "nva2"):
        advertised = server.advertised_routes(peering)
        for role, rows in advertised.items():
            instance_ip = ipaddress.IPv4Address(w.route_servers["rs"].instance_ips[role])
            vnet_row = next(r for r in rows if r["network"] == "10.1.0.0/16")
            assert (vnet_row["nextHop"], vnet_row["asPath"]) == (str(instance_ip), "65515")
            node = w.nvas[peering]
            received = {str(k[2]) for k in (*node.learned, *node.rejected) if k[1] == role}
            assert received == {r["network"] for r in rows}

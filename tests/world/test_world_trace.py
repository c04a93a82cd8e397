"""Flow traces through the example topologies: hops, rules, drops and the symmetry verdict."""

from __future__ import annotations

import json
from typing import Any

import pytest
from world_builders import edited, example, world

from nexthop.clock import ManualClock
from nexthop.world import DropCause, HopKind, Symmetry, Trace, World, WorldError, trace


def kinds(hops: Any) -> list[tuple[HopKind, str]]:
    return [(h.kind, h.node) for h in hops]


def test_next_hop_ip_trace_goes_through_the_ilb_to_one_nva_and_back_through_it() -> None:
    w = world("next-hop-ip")
    t = trace(w, "vm1", "192.168.1.10", src_port=40000, dst_port=443, now=1.0)
    nva = t.forward.nva
    assert nva in {"nva1", "nva2"}
    assert kinds(t.forward.hops) == [
        (HopKind.SOURCE, "vm1"),
        (HopKind.ROUTE, "vm1-nic"),
        (HopKind.LOAD_BALANCER, "ilb"),
        (HopKind.NVA, nva),
        (HopKind.DELIVER, "onprem"),
    ]
    route = t.forward.hops[1].details
    assert route["prefix"] == "192.168.0.0/16"
    assert route["source"] == "VirtualNetworkGateway"
    assert route["next_hop_type"] == "VirtualNetworkGateway"
    assert route["next_hop_ips"] == ["10.1.0.100"]
    lb = t.forward.hops[2].details
    assert lb["rule"] == "ha-ports"
    assert lb["ha_ports"] is True
    assert lb["backend"] == nva
    assert lb["destination_kept"] is True
    assert lb["flow_state"] == "New"
    assert lb["symmetric_hash"] is True
    assert lb["distribution"] == "Default"
    assert lb["health"] == {"nva1": "Up (Up_Probe_Success)", "nva2": "Up (Up_Probe_Success)"}
    assert lb["hash_inputs"] == ["tcp", "10.1.2.4:40000", "192.168.1.10:443"]
    assert t.forward.hops[3].details == {"route": "192.168.0.0/16", "branch": "onprem"}
    assert t.forward.endpoint == "branch:onprem"

    assert t.reverse is not None
    assert kinds(t.reverse.hops) == [
        (HopKind.SOURCE, "onprem"),
        (HopKind.BRANCH, "onprem"),
        (HopKind.LOAD_BALANCER, "ilb"),
        (HopKind.NVA, nva),
        (HopKind.ROUTE, f"{nva}-nic"),
        (HopKind.DELIVER, "vm1"),
    ]
    assert t.reverse.hops[2].details["flow_state"] == "Established"
    assert t.reverse.hops[3].details["route"] == "10.1.0.0/16"
    assert t.reverse.hops[4].details["next_hop_type"] == "VnetLocal"
    assert t.reverse.endpoint == "vm:vm1"
    assert t.symmetry is Symmetry.SYMMETRIC
    assert t.ok
    assert t.reason.endswith("symmetric")


def test_trace_to_dict_is_json() -> None:
    t = trace(world("next-hop-ip"), "vm1", "192.168.1.10", now=1.0)
    data = json.loads(json.dumps(t.to_dict()))
    assert data["symmetry"] == "symmetric"
    assert data["forward"]["hops"][2]["kind"] == "load_balancer"
    assert data["reverse"]["endpoint"] == "vm:vm1"
    assert all(isinstance(h["reason"], str) and h["reason"] for h in data["forward"]["hops"])


def test_the_same_five_tuple_again_is_an_established_flow() -> None:
    w = world("next-hop-ip")
    first = trace(w, "vm1", "192.168.1.10", src_port=40001, now=1.0)
    again = trace(w, "vm1", "192.168.1.10", src_port=40001, now=2.0)
    assert again.forward.nva == first.forward.nva
    assert again.forward.hops[2].details["flow_state"] == "Established"
    assert "flow-table hit" in again.forward.hops[2].reason


def test_cross_region_frontend_drops_with_the_reason() -> None:
    t = trace(world("cross-region"), "vm1", "192.168.1.10", now=1.0)
    assert not t.ok
    assert t.forward.drop is DropCause.CROSS_REGION_FRONTEND
    last = t.forward.hops[-1]
    assert last.kind is HopKind.DROP
    assert last.node == "ilb"
    assert "northeurope" in last.reason
    assert "westeurope" in last.reason
    assert t.reverse is None
    assert t.symmetry is Symmetry.INCOMPLETE


def test_reserved_range_without_a_route_drops_on_the_none_route() -> None:
    t = trace(world("next-hop-ip"), "vm1", "172.16.5.5", now=1.0)
    assert t.forward.drop is DropCause.NONE_ROUTE
    assert t.forward.hops[1].details["prefix"] == "172.16.0.0/12"
    assert t.forward.hops[1].details["next_hop_type"] == "None"


def test_all_nvas_failed_is_no_healthy_backend_then_none_route_after_the_hold_time() -> None:
    clock = ManualClock()
    w = world("next-hop-ip")
    clock.advance(5.0)
    w.fail_nva("nva1", clock.now())
    w.fail_nva("nva2", clock.now())
    clock.advance(30.0)  # 5 s probes x 2 misses: both marked down
    t = trace(w, "vm1", "192.168.1.10", src_port=41000, now=clock.now())
    assert t.forward.drop is DropCause.NO_HEALTHY_BACKEND
    assert "AllProbedDown" in t.forward.reason
    clock.advance(180.0)  # the route server's hold timer: the routes go
    t = trace(w, "vm1", "192.168.1.10", src_port=41001, now=clock.now())
    assert t.forward.drop is DropCause.NONE_ROUTE


def test_a_failed_nva_loses_packets_until_the_probe_notices() -> None:
    w = world("next-hop-ip")
    first = trace(w, "vm1", "192.168.1.10", src_port=42000, now=1.0)
    victim = first.forward.nva
    assert victim is not None
    w.fail_nva(victim, 2.0)
    # Same instant: the ILB still probes it up, a new flow hashed to it is lost.
    lost = trace(w, "vm1", "192.168.1.10", src_port=42000, protocol="udp", now=2.0)
    tcp = trace(w, "vm1", "192.168.1.10", src_port=42000, now=2.0)
    assert tcp.forward.drop is DropCause.NVA_DOWN
    assert tcp.forward.hops[-1].node == victim
    assert tcp.forward.nvas == (victim,)
    # After detection: the established TCP flow stays pinned to the dead NVA (spec §3),
    # a UDP flow moves to the survivor.
    later = 30.0
    pinned = trace(w, "vm1", "192.168.1.10", src_port=42000, now=later)
    assert pinned.forward.drop is DropCause.NVA_DOWN
    moved = trace(w, "vm1", "192.168.1.10", src_port=42000, protocol="udp", now=later)
    assert moved.ok
    assert moved.forward.nva not in (None, victim)
    assert lost.forward.nva in {"nva1", "nva2"}


def test_icmp_is_not_carried_by_ha_ports() -> None:
    t = trace(world("next-hop-ip"), "vm1", "192.168.1.10", "icmp", now=1.0)
    assert t.forward.drop is DropCause.NO_LB_RULE


def test_internet_is_delivered_and_its_reply_not_traced() -> None:
    t = trace(world("next-hop-ip"), "vm1", "8.8.8.8", now=1.0)
    assert t.forward.delivered
    assert t.forward.endpoint == "internet"
    assert t.reverse is None
    assert t.symmetry is Symmetry.NOT_TRACED


def test_vm_to_an_nva_address_is_local_and_crosses_no_nva() -> None:
    t = trace(world("next-hop-ip"), "vm1", "10.1.0.4", now=1.0)
    assert t.forward.endpoint == "nva:nva1"
    assert t.reverse is not None
    assert t.reverse.endpoint == "vm:vm1"
    assert t.symmetry is Symmetry.NO_NVA


def test_branch_sourced_trace_by_name_and_by_address() -> None:
    w = world("next-hop-ip")
    by_name = trace(w, "onprem", "10.1.2.4", now=1.0)
    by_ip = trace(w, "192.168.7.7", "10.1.2.4", now=1.0)
    for t in (by_name, by_ip):
        assert t.forward.endpoint == "vm:vm1"
        assert t.reverse is not None
        assert t.reverse.endpoint == "branch:onprem"
        assert t.symmetry is Symmetry.SYMMETRIC
    assert by_ip.forward.source_ip == "192.168.7.7"


def test_an_nva_without_a_branch_route_loops_until_the_hop_limit() -> None:
    def no_branches(data: dict[str, Any]) -> None:
        data["branches"] = []

    w = World.from_topology(edited("next-hop-ip", no_branches), 0.0)
    t = trace(w, "vm1", "192.168.1.10", now=1.0)
    assert t.forward.drop is DropCause.ROUTING_LOOP
    assert "hop limit" in t.forward.reason
    # VM -> ILB -> NVA -> back to the fabric, whose route points at the ILB again.
    nodes = [h.node for h in t.forward.hops[:8]]
    assert nodes[:4] == ["vm1", "vm1-nic", "ilb", t.forward.hops[3].node]


def test_unknown_source_and_bad_destination_are_errors() -> None:
    w = world("next-hop-ip")
    with pytest.raises(WorldError, match="unknown source"):
        trace(w, "nobody", "192.168.1.10")
    with pytest.raises(WorldError, match="not an IPv4 address"):
        trace(w, "vm1", "not-an-ip")
    with pytest.raises(WorldError, match="unknown protocol"):
        trace(w, "vm1", "192.168.1.10", "sctp")


def test_active_passive_trace_goes_through_the_active() -> None:
    t = trace(world("active-passive"), "vm1", "192.168.20.9", now=0.5)
    assert t.forward.nva == "fw-a"
    assert t.reverse is not None
    assert t.reverse.nva == "fw-a"
    assert t.symmetry is Symmetry.SYMMETRIC
    lb = next(h for h in t.forward.hops if h.kind is HopKind.LOAD_BALANCER)
    assert lb.details["health"] == {
        "fw-a": "Up (Up_Probe_Success)",
        "fw-b": "Down (Down_Probe_ConnectionRefused)",
    }


def test_world_trace_method_matches_the_function() -> None:
    w1, w2 = world("next-hop-ip"), world("next-hop-ip")
    a: Trace = w1.trace("vm1", "192.168.3.3", protocol="udp", port=53, now=1.0)
    b = trace(w2, "vm1", "192.168.3.3", "udp", dst_port=53, now=1.0)
    assert a.to_dict() == b.to_dict()
    assert example("next-hop-ip").name == "next-hop-ip"


def test_without_next_hop_ip_the_vm_host_spreads_flows_by_ecmp() -> None:
    def no_set_next_hop(data: dict[str, Any]) -> None:
        for nva in data["nvas"]:
            nva["bgp_config"] = "\n".join(
                line
                for line in nva["bgp_config"].splitlines()
                if "SET-NEXTHOP" not in line and "set ip next-hop" not in line
            )

    w = World.from_topology(edited("next-hop-ip", no_set_next_hop), 0.0)
    decision = w.fabric.lookup("vm1-nic", "192.168.1.10")
    assert decision.next_hop_texts() == ["10.1.0.4", "10.1.0.5"]
    seen = set()
    for port in range(43000, 43040):
        t = trace(w, "vm1", "192.168.1.10", src_port=port, now=1.0)
        route = t.forward.hops[1]
        assert route.details["ecmp_pick"] == route.details["next_hop"]
        assert isinstance(route.details["ecmp_hash"], str)
        picked = {"10.1.0.4": "nva1", "10.1.0.5": "nva2"}[str(route.details["ecmp_pick"])]
        # The VM host sends straight to the NVA: no load balancer hop on the way out.
        assert kinds(t.forward.hops)[2] == (HopKind.NVA, picked)
        assert t.forward.nva == picked
        seen.add(picked)
    assert seen == {"nva1", "nva2"}


def test_a_failed_nva_sends_nothing() -> None:
    w = world("next-hop-ip")
    w.fail_nva("nva1", 1.0)
    t = trace(w, "nva1", "10.1.2.4", now=1.0)
    assert t.forward.drop is DropCause.NVA_DOWN

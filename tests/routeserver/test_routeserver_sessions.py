"""End to end over real sessions: NVAs learn the VNet and each other's routes
through both instances; max-prefix sends a real Cease NOTIFICATION."""

from __future__ import annotations

from rs_helpers import NVA1, NVA2, NVA_NET, VNET, announce, ip, server
from rs_wire import Fabric

from nexthop.bgp.constants import CeaseSubcode, ErrorCode
from nexthop.bgp.fsm import SessionState
from nexthop.bgp.rib.path import as_path_asns
from nexthop.bgp.wire.messages import Update
from nexthop.clock import ManualClock
from nexthop.net.prefix import Afi, Prefix
from nexthop.routeserver import IN_0, IN_1, PeeringState


def test_nvas_learn_vnet_and_each_other_through_both_instances() -> None:
    clock = ManualClock(1000.0)
    fabric = Fabric(server(), clock)
    fabric.connect(NVA1, bgp_id=ip("10.1.0.4"))
    fabric.connect(NVA2, bgp_id=ip("10.1.0.5"))
    for (role, _), link in fabric.links.items():
        assert link.nva.state is SessionState.ESTABLISHED
        first = link.received()[0]
        assert first.nlri == (VNET,)
        assert first.attributes is not None
        assert as_path_asns(first.attributes) == (65515,)
        local = "10.1.1.4" if role == IN_0 else "10.1.1.5"
        assert first.attributes.next_hop == ip(local)
        assert link.received()[1] == Update()  # End-of-RIB

    clock.advance(1)
    fabric.nva_sends("nva1", announce(NVA_NET, next_hop="10.1.0.100"))
    for role, local in ((IN_0, "10.1.1.4"), (IN_1, "10.1.1.5")):
        heard = fabric.links[(role, "nva2")].received()[-1]
        assert heard.nlri == (NVA_NET,)
        assert heard.attributes is not None
        assert as_path_asns(heard.attributes) == (65515, 65001)
        assert heard.attributes.next_hop == ip(local)
    assert fabric.rs.vnet_routes() == [(NVA_NET, (ip("10.1.0.100"),))]


def test_max_prefix_sends_cease_with_the_limit() -> None:
    clock = ManualClock(1000.0)
    fabric = Fabric(server(max_routes_per_peer=3), clock)
    fabric.connect(NVA1, bgp_id=ip("10.1.0.4"))
    many = [Prefix(Afi.IPV4, (172 << 24) | (i << 8), 24) for i in range(4)]
    fabric.nva_sends("nva1", announce(*many), roles=(IN_0,))
    link = fabric.links[(IN_0, "nva1")]
    downs = link.downs()
    assert len(downs) == 1
    notification = downs[0].notification
    assert notification is not None
    assert notification.code == ErrorCode.CEASE
    assert notification.subcode == CeaseSubcode.MAXIMUM_NUMBER_OF_PREFIXES_REACHED
    assert notification.data == bytes([0, 1, 1, 0, 0, 0, 3])
    status = fabric.rs.peering_status("nva1")
    assert status[IN_0].state is PeeringState.IDLE
    assert status[IN_0].max_prefix_events == 1
    assert status[IN_1].state is PeeringState.ESTABLISHED

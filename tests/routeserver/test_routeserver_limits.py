"""Maximum routes per peer (Azure FAQ counting), idle hold, next-hop validation."""

from __future__ import annotations

from dataclasses import replace

from rs_helpers import (
    NVA1,
    NVA3,
    NVA_NET,
    SUBNET,
    VNET,
    announce,
    connect,
    ip,
    send_both,
    server,
    withdraw,
    withdrawn_to,
)

from nexthop.bgp.constants import CeaseSubcode, ErrorCode
from nexthop.clock import ManualClock
from nexthop.net.prefix import Afi, Prefix
from nexthop.routeserver import (
    IN_0,
    IN_1,
    PeeringState,
    RouteServer,
    RouteServerConfig,
    RouteServerWarning,
    SendUpdate,
    TeardownPeering,
)


def nets(n: int, base: int = 0) -> list[Prefix]:
    return [Prefix(Afi.IPV4, (172 << 24) | ((base + i) << 8), 24) for i in range(n)]


def test_readvertising_counts_twice_and_tears_the_session_down() -> None:
    clock = ManualClock(100.0)
    rs = server(max_routes_per_peer=5, idle_hold_after_max_prefix=30.0)
    connect(rs, NVA1, NVA3, now=clock.now())
    send_both(rs, "nva1", announce(*nets(3)), clock.now())
    assert rs.peering_status("nva1")[IN_0].accepted_routes == 3
    # The same 3 again: 3 held + 3 in the UPDATE = 6 > 5 (the FAQ's 2,001 + 2,001 case).
    out = rs.receive_update(IN_0, "nva1", announce(*nets(3)), clock.now())
    teardown = out[0]
    assert isinstance(teardown, TeardownPeering)
    assert (teardown.instance, teardown.peering) == (IN_0, "nva1")
    assert teardown.notification.code == ErrorCode.CEASE
    assert teardown.notification.subcode == CeaseSubcode.MAXIMUM_NUMBER_OF_PREFIXES_REACHED
    # RFC 4486: AFI (2) SAFI (1) limit (4).
    assert teardown.notification.data == bytes([0, 1, 1, 0, 0, 0, 5])
    assert teardown.idle_hold == 30.0
    status = rs.peering_status("nva1")[IN_0]
    assert status.state is PeeringState.IDLE
    assert status.max_prefix_events == 1
    assert "maximum number of prefixes" in status.last_error
    assert status.idle_hold_until == 130.0
    # nva3 hears the withdrawals from IN_0.
    assert withdrawn_to(out, IN_0, "nva3") == set(nets(3))
    # The other instance is unaffected.
    assert rs.peering_status("nva1")[IN_1].state is PeeringState.ESTABLISHED

    # During the idle hold a new session is refused.
    clock.advance(10)
    refused = connect(rs, NVA1, now=clock.now(), instances=(IN_0,))
    assert len(refused) == 1
    assert isinstance(refused[0], TeardownPeering)
    assert refused[0].notification.subcode == CeaseSubcode.CONNECTION_REJECTED
    assert refused[0].idle_hold == 20.0
    # After it, the session comes back and gets the table.
    clock.advance(25)
    back = connect(rs, NVA1, now=clock.now(), instances=(IN_0,))
    assert any(isinstance(o, SendUpdate) for o in back)
    assert rs.peering_status("nva1")[IN_0].state is PeeringState.ESTABLISHED
    assert rs.peering_status("nva1")[IN_0].max_prefix_events == 1


def test_too_many_new_routes_in_one_update() -> None:
    rs = server(max_routes_per_peer=4)
    connect(rs, NVA1)
    out = rs.receive_update(IN_0, "nva1", announce(*nets(5)), 0.0)
    assert isinstance(out[0], TeardownPeering)
    assert rs.vnet_routes() == []


def test_unique_counting_beyond_the_cloud() -> None:
    rs = server(max_routes_per_peer=5, count_readvertised_routes=False)
    connect(rs, NVA1)
    send_both(rs, "nva1", announce(*nets(3)))
    out = send_both(rs, "nva1", announce(*nets(3)))
    assert not any(isinstance(o, TeardownPeering) for o in out)
    out = send_both(rs, "nva1", announce(*nets(3, base=10)))
    assert isinstance(out[0], TeardownPeering)


def test_unique_counting_nets_withdrawals_in_the_same_update() -> None:
    rs = server(max_routes_per_peer=5, count_readvertised_routes=False)
    connect(rs, NVA1)
    send_both(rs, "nva1", announce(*nets(5)))
    # Withdraw two, re-announce one of them and add one new: 5 unique, still legal.
    swap = replace(announce(nets(1)[0], *nets(1, base=20)), withdrawn=tuple(nets(2)))
    out = send_both(rs, "nva1", swap)
    assert not any(isinstance(o, TeardownPeering) for o in out)
    assert rs.peering_status("nva1")[IN_0].state is PeeringState.ESTABLISHED
    # Withdrawing and re-announcing a prefix keeps it counted: with one new
    # prefix that makes 6 unique.
    again = replace(announce(nets(3)[2], *nets(1, base=30)), withdrawn=(nets(3)[2],))
    out = send_both(rs, "nva1", again)
    assert isinstance(out[0], TeardownPeering)


def test_next_hop_validation_is_off_by_default() -> None:
    rs = server()
    connect(rs, NVA1)
    out = send_both(rs, "nva1", announce(NVA_NET, next_hop="192.168.50.1"))
    assert not any(isinstance(o, RouteServerWarning) for o in out)


def test_next_hop_validation_warns_outside_vnet_and_for_remote_frontends() -> None:
    frontends = {ip("10.1.2.100"): "westeurope", ip("10.1.2.200"): "northeurope"}
    rs = RouteServer(
        RouteServerConfig(
            name="ars", subnet=SUBNET, vnet_address_spaces=(VNET,), next_hop_validation=True
        ),
        region="westeurope",
        frontend_region=frontends.get,
    )
    connect(rs, NVA1)
    ok = rs.receive_update(IN_0, "nva1", announce(NVA_NET, next_hop="10.1.2.100"), 0.0)
    assert not any(isinstance(o, RouteServerWarning) for o in ok)
    outside = rs.receive_update(IN_0, "nva1", announce(NVA_NET, next_hop="192.168.5.5"), 0.0)
    messages = [o.message for o in outside if isinstance(o, RouteServerWarning)]
    assert messages == ["10.100.0.0/16: next hop 192.168.5.5 is outside the VNet and peered VNets"]
    remote = rs.receive_update(IN_0, "nva1", announce(NVA_NET, next_hop="10.1.2.200"), 0.0)
    messages = [o.message for o in remote if isinstance(o, RouteServerWarning)]
    assert len(messages) == 1
    assert "northeurope" in messages[0]
    # Warnings only: the route is still used as sent.
    assert rs.vnet_routes() == [(NVA_NET, (ip("10.1.2.200"),))]


def test_total_route_limit_warns_once_per_crossing() -> None:
    rs = server(max_total_routes=4)  # the VNet range counts too
    connect(rs, NVA1)
    out = send_both(rs, "nva1", announce(*nets(3)))
    assert not any(isinstance(o, RouteServerWarning) for o in out)
    out = send_both(rs, "nva1", announce(*nets(1, base=50)))
    warnings = [o.message for o in out if isinstance(o, RouteServerWarning)]
    assert warnings == ["5 routes exceed the total limit of 4"]
    out = send_both(rs, "nva1", announce(*nets(1, base=60)))
    assert not any(isinstance(o, RouteServerWarning) for o in out)
    out = send_both(rs, "nva1", withdraw(*nets(1, base=50), *nets(1, base=60)))
    assert not any(isinstance(o, RouteServerWarning) for o in out)
    out = send_both(rs, "nva1", announce(*nets(1, base=70)))
    assert [o.message for o in out if isinstance(o, RouteServerWarning)] == [
        "5 routes exceed the total limit of 4"
    ]


def test_routes_refused_before_they_are_stored_do_not_count() -> None:
    """Spec §1.3/§1.11 (issue 14): an FRR NVA reflects the VNet range back with
    AS_PATH ``65001 65515`` beside exactly its limit of own routes; the reflected
    route is dropped as a loop, so it must not push the count past the limit."""
    rs = server(max_routes_per_peer=4)
    connect(rs, NVA1, NVA3)
    looped = announce(VNET, as_path=(65001, 65515))
    assert not any(isinstance(o, TeardownPeering) for o in send_both(rs, "nva1", looped))
    out = send_both(rs, "nva1", announce(*nets(4)))
    assert not any(isinstance(o, TeardownPeering) for o in out)
    status = rs.peering_status("nva1")[IN_0]
    assert status.state is PeeringState.ESTABLISHED
    assert status.accepted_routes == 4
    # AS 0 makes the UPDATE treat-as-withdraw (RFC 7607): nothing stored, nothing counted
    zero = announce(*nets(2, base=10), as_path=(65001, 0))
    assert not any(isinstance(o, TeardownPeering) for o in send_both(rs, "nva1", zero))
    # a fifth stored route is one too many, as before
    out = rs.receive_update(IN_0, "nva1", announce(*nets(1, base=20)), 0.0)
    assert isinstance(out[0], TeardownPeering)

"""What each NVA is sent: initial table, End-of-RIB, next-hop-self, 65515
prepended, communities kept, only changes; refresh and VNet peering changes."""

from __future__ import annotations

import pytest
from rs_helpers import (
    NVA1,
    NVA2,
    NVA3,
    NVA_NET,
    VNET,
    announce,
    announced_to,
    connect,
    ip,
    negotiated,
    send_both,
    server,
    updates_to,
    withdrawn_to,
)

from nexthop.bgp.constants import CeaseSubcode, ErrorCode
from nexthop.bgp.rib.path import as_path_asns
from nexthop.bgp.wire import decode_message, encode_message
from nexthop.bgp.wire.messages import Update
from nexthop.net.prefix import Afi, Prefix, parse_prefix
from nexthop.routeserver import (
    IN_0,
    IN_1,
    ConfigError,
    PeeringState,
    SendRouteRefresh,
    SendUpdate,
    TeardownPeering,
)

SPOKE = parse_prefix("10.2.0.0/16")


def test_initial_table_is_the_vnet_space_then_end_of_rib() -> None:
    rs = server()
    out = connect(rs, NVA1)
    for role, local in ((IN_0, "10.1.1.4"), (IN_1, "10.1.1.5")):
        updates = updates_to(out, role, "nva1")
        assert updates[-1] == Update()  # End-of-RIB
        attrs = announced_to(out, role, "nva1")[VNET]
        assert as_path_asns(attrs) == (65515,)
        assert attrs.next_hop == ip(local)
        assert attrs.origin == 0
    assert rs.advertised_routes("nva1")[IN_0] == [
        {
            "localAddress": "10.1.1.4",
            "network": "10.1.0.0/16",
            "nextHop": "10.1.1.4",
            "sourcePeer": None,
            "origin": "Igp",
            "asPath": "65515",
            "weight": 0,
        }
    ]


def test_reflected_route_keeps_communities_and_drops_med() -> None:
    rs = server()
    connect(rs, NVA1, NVA3)
    update = announce(NVA_NET, as_path=(65001, 65100), communities=(65001 << 16 | 100,), med=50)
    out = send_both(rs, "nva1", update)
    attrs = announced_to(out, IN_1, "nva3")[NVA_NET]
    assert as_path_asns(attrs) == (65515, 65001, 65100)
    assert attrs.next_hop == ip("10.1.1.5")
    assert attrs.communities == (65001 << 16 | 100,)
    assert attrs.med is None
    row = {r["network"]: r for r in rs.advertised_routes("nva3")[IN_1]}["10.100.0.0/16"]
    assert row["origin"] == "EBgp"


def test_only_changes_are_sent() -> None:
    rs = server()
    connect(rs, NVA1, NVA3)
    first = send_both(rs, "nva1", announce(NVA_NET))
    assert len(updates_to(first, IN_0, "nva3")) == 1
    # The same route again changes nothing for nva3.
    again = send_both(rs, "nva1", announce(NVA_NET))
    assert updates_to(again, IN_0, "nva3") == []
    # A longer AS_PATH changes the advertisement.
    longer = send_both(rs, "nva1", announce(NVA_NET, as_path=(65001, 65001)))
    assert as_path_asns(announced_to(longer, IN_0, "nva3")[NVA_NET]) == (65515, 65001, 65001)


def test_best_from_another_peer_replaces_a_withdrawn_one() -> None:
    rs = server()
    connect(rs, NVA1, NVA2, NVA3)
    send_both(rs, "nva1", announce(NVA_NET))
    send_both(rs, "nva2", announce(NVA_NET, as_path=(65001, 65001)))
    # nva1 (the best) withdraws; nva2's path is now best, so nva1 gets it.
    out = send_both(rs, "nva1", Update(withdrawn=(NVA_NET,)))
    assert as_path_asns(announced_to(out, IN_0, "nva1")[NVA_NET]) == (65515, 65001, 65001)
    # nva2 is told to forget nva1's path: its own is best now.
    assert withdrawn_to(out, IN_0, "nva2") == {NVA_NET}
    assert as_path_asns(announced_to(out, IN_0, "nva3")[NVA_NET]) == (65515, 65001, 65001)


def test_a_large_table_is_packed_into_few_updates() -> None:
    rs = server()
    connect(rs, NVA1, NVA3)
    prefixes = [Prefix(Afi.IPV4, (172 << 24) | (16 << 16) | (i << 4), 28) for i in range(3000)]
    out = send_both(rs, "nva1", announce(*prefixes))
    updates = updates_to(out, IN_0, "nva3")
    assert 3 <= len(updates) <= 5
    assert sorted(p for u in updates for p in u.nlri) == sorted(prefixes)


def test_route_refresh_from_the_peer_resends_everything() -> None:
    rs = server()
    connect(rs, NVA1, NVA3)
    send_both(rs, "nva1", announce(NVA_NET))
    out = rs.receive_route_refresh(IN_0, "nva3", 5.0)
    assert set(announced_to(out, IN_0, "nva3")) == {VNET, NVA_NET}
    assert Update() not in updates_to(out, IN_0, "nva3")  # End-of-RIB is for the first table


def test_vnet_peering_triggers_refresh_or_hard_reset() -> None:
    rs = server()
    connect(rs, NVA1)
    connect(rs, NVA3, route_refresh=False)
    out = rs.add_vnet_peering([SPOKE], 10.0)
    # The new address space is advertised...
    assert SPOKE in announced_to(out, IN_0, "nva1")
    # ...and every NVA with route refresh is asked to resend.
    refreshes = {(o.instance, o.peering) for o in out if isinstance(o, SendRouteRefresh)}
    assert refreshes == {(IN_0, "nva1"), (IN_1, "nva1")}
    resets = [o for o in out if isinstance(o, TeardownPeering)]
    assert {(o.instance, o.peering) for o in resets} == {(IN_0, "nva3"), (IN_1, "nva3")}
    assert resets[0].notification.code == ErrorCode.CEASE
    assert rs.peering_status("nva3")[IN_0].state is PeeringState.IDLE
    assert updates_to(out, IN_0, "nva3") == []  # reset before the new space is sent
    assert rs.config.peered_address_spaces == (SPOKE,)
    # NVA routes for the spoke range are not injected (it is a peered VNet).
    send_both(rs, "nva1", announce("10.2.3.0/24"))
    assert rs.vnet_routes() == []
    out = rs.remove_vnet_peering([SPOKE], 20.0)
    assert SPOKE in withdrawn_to(out, IN_0, "nva1")


def test_remove_peering_tears_down_and_withdraws() -> None:
    rs = server()
    connect(rs, NVA1, NVA3)
    send_both(rs, "nva1", announce(NVA_NET))
    out = rs.remove_peering("nva1", 3.0)
    teardowns = [o for o in out if isinstance(o, TeardownPeering)]
    assert {o.instance for o in teardowns} == {IN_0, IN_1}
    assert all(o.notification.subcode == CeaseSubcode.PEER_DE_CONFIGURED for o in teardowns)
    assert NVA_NET in withdrawn_to(out, IN_0, "nva3")
    assert [p.name for p in rs.peerings()] == ["nva3"]
    assert rs.vnet_routes() == []


def test_peer_asn_mismatch_is_refused() -> None:
    rs = server()
    rs.add_peering(NVA1)
    wrong = negotiated(NVA3)  # claims AS 65003, configured 65001
    out = rs.peer_established(IN_0, "nva1", wrong, 0.0)
    assert [type(o) for o in out] == [TeardownPeering]
    assert rs.peering_status("nva1")[IN_0].state is PeeringState.IDLE
    assert not any(isinstance(o, SendUpdate) for o in out)


def test_invalid_vnet_peering_changes_nothing() -> None:
    rs = server()
    connect(rs, NVA1, route_refresh=False)
    with pytest.raises(ConfigError) as info:
        rs.add_vnet_peering([parse_prefix("2001:db8::/48")], 1.0)
    assert info.value.field == "peered_address_spaces"
    assert rs.peering_status("nva1")[IN_0].state is PeeringState.ESTABLISHED
    assert rs.config.peered_address_spaces == ()


def test_every_update_sent_encodes_and_decodes() -> None:
    rs = server(branch_to_branch=True)
    out = connect(rs, NVA1, NVA2, NVA3)
    out += send_both(rs, "nva1", announce(NVA_NET, as_path=(65001, 65100), communities=(7,)))
    out += send_both(rs, "nva3", announce("0.0.0.0/0", as_path=(65003,), next_hop="10.1.2.100"))
    out += send_both(rs, "nva1", Update(withdrawn=(NVA_NET,)))
    negotiated_ = negotiated(NVA1)
    sent = [o.update for o in out if isinstance(o, SendUpdate)]
    assert len(sent) > 10
    for update in sent:
        decoded = decode_message(encode_message(update, negotiated_), negotiated_)
        assert decoded == update

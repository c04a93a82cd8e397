"""Two sessions talking over a fake link (RFC 4271 §8, §6, §4.2 hold time)."""

from __future__ import annotations

import pytest
from fsm_pair import (
    A_ID,
    B_ID,
    NOW,
    SessionPair,
    config_a,
    config_b,
    decode_all,
    established_session,
    opensent_session,
    peer_open,
    wire,
)

from nexthop.bgp.constants import (
    CeaseSubcode,
    ErrorCode,
    HeaderErrorSubcode,
    OpenErrorSubcode,
    UpdateErrorSubcode,
)
from nexthop.bgp.fsm import (
    CloseRequested,
    ConnectRequested,
    DownReason,
    NotificationReceived,
    RouteRefreshReceived,
    Session,
    SessionDown,
    SessionEstablished,
    SessionState,
    UpdateReceived,
)
from nexthop.bgp.wire import (
    AsPathSegment,
    Keepalive,
    LocalProtocolError,
    Notification,
    Open,
    PathAttributes,
    RouteRefresh,
    Update,
    cease_notification,
    encode_message,
    shutdown_communication,
)
from nexthop.net.prefix import parse_prefix

S = SessionState
ESTABLISHED = S.ESTABLISHED


def an_update(*prefixes: str, asn: int = 65001) -> Update:
    return Update(
        attributes=PathAttributes(
            as_path=(AsPathSegment(2, (asn,)),),
            next_hop=0xC0000201,
        ),
        nlri=tuple(parse_prefix(p) for p in prefixes),
    )


def established_pair(**kw: object) -> SessionPair:
    pair = SessionPair(**kw)  # type: ignore[arg-type]
    pair.start()
    assert pair.established()
    return pair


@pytest.mark.parametrize(("a_passive", "b_passive"), [(False, False), (False, True), (True, False)])
def test_reaches_established_active_and_passive(a_passive: bool, b_passive: bool) -> None:
    pair = SessionPair(config_a(passive=a_passive), config_b(passive=b_passive))
    pair.start()
    assert pair.established()
    for side, peer_id, peer_asn in ((pair.a, B_ID, 65002), (pair.b, A_ID, 65001)):
        (up,) = side.of_type(SessionEstablished)
        assert isinstance(up, SessionEstablished)
        assert up.negotiated.peer_bgp_id == peer_id
        assert up.negotiated.peer_asn == peer_asn
        assert up.negotiated.hold_time == 180
        assert up.negotiated.keepalive_time == 60
        assert side.session.negotiated == up.negotiated
    # The passive side never asks for a connection.
    assert bool(pair.a.of_type(ConnectRequested)) is not a_passive
    assert bool(pair.b.of_type(ConnectRequested)) is not b_passive
    assert [type(m) for m in pair.sent_by("a")] == [Open, Keepalive]


def test_two_passive_sessions_wait_in_active() -> None:
    pair = SessionPair(config_a(passive=True), config_b(passive=True))
    pair.start()
    pair.advance(600)
    assert pair.a.session.state is S.ACTIVE
    assert pair.b.session.state is S.ACTIVE
    assert pair.wire == []


def test_update_is_delivered_and_counted() -> None:
    pair = established_pair()
    update = an_update("198.51.100.0/24", "203.0.113.0/25")
    pair.a.session.send_update(update)
    pair.pump()
    (received,) = pair.b.of_type(UpdateReceived)
    assert isinstance(received, UpdateReceived)
    assert received.update.nlri == update.nlri
    assert received.update.attributes is not None
    assert received.update.attributes.next_hop == 0xC0000201
    assert received.update.attributes.as_path == update.attributes.as_path  # type: ignore[union-attr]
    assert pair.a.session.counters.updates_out == 1
    assert pair.a.session.counters.messages_out["UPDATE"] == 1
    counters = pair.b.session.counters
    assert counters.updates_in == 1
    assert counters.messages_in["UPDATE"] == 1
    assert counters.prefixes_received == 2


def test_send_update_needs_established() -> None:
    pair = SessionPair()
    with pytest.raises(LocalProtocolError):
        pair.a.session.send_update(an_update("198.51.100.0/24"))
    pair.record(pair.a, pair.a.session.start(pair.now))
    with pytest.raises(LocalProtocolError):
        pair.a.session.send_update(an_update("198.51.100.0/24"))


def test_hold_timer_expiry_sends_hold_timer_expired() -> None:
    pair = established_pair()
    pair.b.blackholed = True  # b keeps talking but nothing reaches a
    pair.advance(179)
    assert pair.a.session.state is ESTABLISHED
    pair.advance(1)
    assert pair.a.session.state is S.IDLE
    hold_expired = Notification(code=ErrorCode.HOLD_TIMER_EXPIRED, subcode=0)
    assert pair.a.of_type(SessionDown) == [
        SessionDown(reason=DownReason.HOLD_TIMER_EXPIRED, notification=hold_expired, sent=True)
    ]
    assert pair.a.of_type(CloseRequested)
    assert pair.sent_by("a")[-1] == hold_expired
    # b hears the NOTIFICATION and goes down too.
    assert pair.b.of_type(NotificationReceived) == [NotificationReceived(notification=hold_expired)]
    assert pair.b.of_type(SessionDown)[0] == SessionDown(
        reason=DownReason.NOTIFICATION_RECEIVED, notification=hold_expired, sent=False
    )
    assert pair.a.session.counters.flaps == 1
    assert pair.a.session.counters.last_down_reason is DownReason.HOLD_TIMER_EXPIRED


def test_keepalives_flow_at_a_third_of_the_hold_time() -> None:
    pair = established_pair()
    before = pair.a.session.counters.messages_out["KEEPALIVE"]
    pair.advance(600)
    assert pair.established()
    assert pair.a.session.counters.messages_out["KEEPALIVE"] - before == 10
    assert pair.b.session.counters.messages_in["KEEPALIVE"] - before == 10


def test_lower_peer_hold_time_is_accepted() -> None:
    pair = established_pair(b=config_b(hold_time=9, keepalive_time=3))
    for side in (pair.a, pair.b):
        negotiated = side.session.negotiated
        assert negotiated is not None
        assert negotiated.hold_time == 9
        assert negotiated.keepalive_time == 3
    before = pair.a.session.counters.messages_out["KEEPALIVE"]
    pair.advance(30)
    assert pair.established()
    assert pair.a.session.counters.messages_out["KEEPALIVE"] - before == 10
    pair.b.blackholed = True
    pair.advance(9)
    assert pair.a.session.state is S.IDLE
    assert pair.a.session.counters.last_down_reason is DownReason.HOLD_TIMER_EXPIRED


def test_smallest_timers_keep_the_session_up() -> None:
    tight = {"hold_time": 3, "keepalive_time": 1}
    pair = established_pair(a=config_a(**tight), b=config_b(**tight))
    before = pair.a.session.counters.messages_out["KEEPALIVE"]
    pair.advance(60)
    assert pair.established()
    assert pair.a.session.counters.messages_out["KEEPALIVE"] - before == 60


def test_hold_time_zero_disables_hold_and_keepalive() -> None:
    pair = established_pair(a=config_a(hold_time=0))
    assert pair.a.session.get_timer() is None
    assert pair.b.session.get_timer() is None
    before = pair.a.session.counters.messages_out["KEEPALIVE"]
    pair.advance(10_000)
    assert pair.established()
    assert pair.a.session.counters.messages_out["KEEPALIVE"] == before


@pytest.mark.parametrize("hold_time", [1, 2])
def test_hold_time_one_or_two_is_rejected(hold_time: int) -> None:
    session = opensent_session()
    events = session.receive_data(wire(peer_open(hold_time=hold_time)), NOW)
    notification = Notification(
        code=ErrorCode.OPEN_MESSAGE, subcode=OpenErrorSubcode.UNACCEPTABLE_HOLD_TIME
    )
    assert decode_all(session.data_to_send()) == [notification]
    assert SessionDown(reason=DownReason.OPEN_ERROR, notification=notification, sent=True) in events
    assert session.state is S.IDLE


def test_bad_peer_as_is_rejected_on_both_sides() -> None:
    pair = SessionPair(b=config_b(local_asn=65003))
    pair.start()
    bad_as = Notification(code=ErrorCode.OPEN_MESSAGE, subcode=OpenErrorSubcode.BAD_PEER_AS)
    assert SessionDown(reason=DownReason.BAD_PEER_AS, notification=bad_as, sent=True) in (
        pair.a.events
    )
    assert NotificationReceived(notification=bad_as) in pair.b.events
    assert bad_as in pair.sent_by("a")
    assert not pair.a.of_type(SessionEstablished)
    assert pair.a.session.counters.last_error is not None
    assert "bad-peer-as" in pair.a.session.counters.last_error


def test_unsupported_version_names_version_four() -> None:
    session = opensent_session()
    events = session.receive_data(wire(peer_open(version=3)), NOW)
    expected = Notification(
        code=ErrorCode.OPEN_MESSAGE,
        subcode=OpenErrorSubcode.UNSUPPORTED_VERSION_NUMBER,
        data=b"\x00\x04",
    )
    assert decode_all(session.data_to_send()) == [expected]
    assert SessionDown(reason=DownReason.OPEN_ERROR, notification=expected, sent=True) in events
    assert session.state is S.IDLE


@pytest.mark.parametrize("bgp_id", [0, A_ID])
def test_bad_bgp_identifier(bgp_id: int) -> None:
    session = opensent_session()
    session.receive_data(wire(peer_open(bgp_id=bgp_id)), NOW)
    (sent,) = decode_all(session.data_to_send())
    assert sent == Notification(
        code=ErrorCode.OPEN_MESSAGE, subcode=OpenErrorSubcode.BAD_BGP_IDENTIFIER
    )


def test_four_octet_asn_session() -> None:
    big = 4_200_000_001
    pair = established_pair(a=config_a(local_asn=big), b=config_b(peer_asn=big))
    a_open = pair.sent_by("a")[0]
    assert isinstance(a_open, Open)
    assert a_open.asn == 23456  # AS_TRANS in the 2-octet field (RFC 6793)
    negotiated = pair.b.session.negotiated
    assert negotiated is not None
    assert negotiated.asn4
    assert negotiated.peer_asn == big
    pair.a.session.send_update(an_update("198.51.100.0/24", asn=big))
    pair.pump()
    (received,) = pair.b.of_type(UpdateReceived)
    assert isinstance(received, UpdateReceived)
    assert received.update.attributes is not None
    assert received.update.attributes.as_path == (AsPathSegment(2, (big,)),)


def test_four_octet_peer_must_match_configured_as() -> None:
    big = 4_200_000_001
    pair = SessionPair(a=config_a(local_asn=big), b=config_b(peer_asn=23456))
    pair.start()
    assert pair.b.of_type(SessionDown)[0].reason is DownReason.BAD_PEER_AS  # type: ignore[union-attr]


def test_graceful_stop_sends_shutdown_communication_and_does_not_restart() -> None:
    pair = established_pair()
    cease = cease_notification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, "maintenance window")
    pair.record(pair.a, pair.a.session.stop(pair.now, cease))
    pair.pump()
    assert pair.a.session.state is S.IDLE
    assert pair.a.of_type(SessionDown) == [
        SessionDown(reason=DownReason.ADMIN_STOP, notification=cease, sent=True)
    ]
    (heard,) = pair.b.of_type(NotificationReceived)
    assert isinstance(heard, NotificationReceived)
    assert shutdown_communication(heard.notification) == "maintenance window"
    assert pair.a.session.get_timer() is None
    pair.advance(1000)
    assert pair.a.session.state is S.IDLE  # no automatic restart after ManualStop
    assert pair.b.session.state is not ESTABLISHED


def test_stop_defaults_to_administrative_shutdown() -> None:
    session = established_session()
    events = session.stop(NOW)
    cease = Notification(code=ErrorCode.CEASE, subcode=CeaseSubcode.ADMINISTRATIVE_SHUTDOWN)
    assert decode_all(session.data_to_send()) == [cease]
    assert events == [
        SessionDown(reason=DownReason.ADMIN_STOP, notification=cease, sent=True),
        CloseRequested(),
    ]


def test_stop_in_idle_cancels_the_automatic_restart() -> None:
    session = established_session()
    session.connection_lost(NOW)
    assert session.get_timer() is not None  # IdleHold is running
    assert session.stop(NOW) == []
    assert session.get_timer() is None
    assert session.handle_timer(NOW + 3600) == []
    assert session.state is S.IDLE


def test_bad_marker_is_connection_not_synchronized() -> None:
    session = established_session()
    garbage = b"\x00" * 16 + b"\x00\x13\x04"
    events = session.receive_data(garbage, NOW)
    expected = Notification(
        code=ErrorCode.MESSAGE_HEADER, subcode=HeaderErrorSubcode.CONNECTION_NOT_SYNCHRONIZED
    )
    assert decode_all(session.data_to_send()) == [expected]
    assert events == [
        SessionDown(reason=DownReason.MALFORMED_MESSAGE, notification=expected, sent=True),
        CloseRequested(),
    ]
    assert session.state is S.IDLE
    assert session.counters.flaps == 1


def test_malformed_update_resets_with_its_notification() -> None:
    session = established_session()
    body = b"\xff\xff\x00\x00"  # withdrawn routes length far beyond the message
    message = b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body
    events = session.receive_data(message, NOW)
    (sent,) = decode_all(session.data_to_send())
    assert isinstance(sent, Notification)
    assert (sent.code, sent.subcode) == (
        ErrorCode.UPDATE_MESSAGE,
        UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST,
    )
    (down,) = [e for e in events if isinstance(e, SessionDown)]
    assert down.reason is DownReason.MALFORMED_MESSAGE
    assert down.sent
    assert session.counters.last_error is not None
    assert "UPDATE_MESSAGE" in session.counters.last_error


def test_treat_as_withdraw_update_is_delivered_and_counted() -> None:
    session = established_session()
    negotiated = session.negotiated
    assert negotiated is not None
    good = encode_message(an_update("198.51.100.0/24"), negotiated)
    origin = b"\x40\x01\x01\x00"
    assert good.count(origin) == 1
    bad = good.replace(origin, b"\x40\x01\x01\x07")  # invalid ORIGIN: RFC 7606 §7.1
    events = session.receive_data(bad, NOW)
    (received,) = events
    assert isinstance(received, UpdateReceived)
    assert received.update.treat_as_withdraw
    assert session.state is ESTABLISHED
    assert session.data_to_send() == b""
    assert session.counters.treat_as_withdraw == 1
    assert session.counters.updates_in == 1


def test_route_refresh_when_negotiated() -> None:
    pair = established_pair()
    pair.a.session.send_route_refresh(1, 1)
    pair.pump()
    assert pair.b.of_type(RouteRefreshReceived) == [
        RouteRefreshReceived(refresh=RouteRefresh(afi=1, safi=1))
    ]
    assert pair.a.session.counters.messages_out["ROUTE_REFRESH"] == 1
    with pytest.raises(LocalProtocolError):
        pair.a.session.send_route_refresh(2, 1)  # IPv6 unicast was not negotiated


def test_route_refresh_refused_when_not_negotiated() -> None:
    pair = established_pair(b=config_b(route_refresh=False, enhanced_route_refresh=False))
    with pytest.raises(LocalProtocolError):
        pair.a.session.send_route_refresh(1, 1)
    # A ROUTE-REFRESH the peer sends anyway is ignored (RFC 2918 §4), not an error.
    negotiated = pair.b.session.negotiated
    assert negotiated is not None
    events = pair.a.session.receive_data(wire(RouteRefresh(afi=1, safi=1)), pair.now)
    assert events == []
    assert pair.a.session.state is ESTABLISHED


def test_enhanced_route_refresh_subtypes_need_the_capability() -> None:
    pair = established_pair(b=config_b(enhanced_route_refresh=False))
    pair.a.session.send_route_refresh(1, 1)
    with pytest.raises(LocalProtocolError):
        pair.a.session.send_route_refresh(1, 1, subtype=1)


def test_automatic_restart_after_idle_hold_with_damping() -> None:
    damping = {"idle_hold_time": 5.0, "idle_hold_max": 30.0}
    pair = established_pair(a=config_a(**damping), b=config_b(**damping))
    max_prefix = cease_notification(CeaseSubcode.MAXIMUM_NUMBER_OF_PREFIXES_REACHED)
    holds = []
    for flap in range(1, 5):
        pair.record(pair.a, pair.a.session.teardown(pair.now, max_prefix, DownReason.MAX_PREFIX))
        pair.pump()
        assert pair.a.session.state is S.IDLE
        hold = pair.a.session.counters.idle_hold_time
        assert hold is not None
        holds.append(hold)
        pair.advance(hold - 0.5)
        assert pair.a.session.state is S.IDLE
        pair.advance(0.5)
        assert pair.established(), f"flap {flap}"
        assert pair.a.session.counters.flaps == flap
        assert pair.a.session.counters.established_count == flap + 1
    assert holds == [5.0, 10.0, 20.0, 30.0]
    assert (
        SessionDown(reason=DownReason.MAX_PREFIX, notification=max_prefix, sent=True)
        in pair.a.events
    )


def test_damping_is_forgotten_after_a_quiet_period() -> None:
    pair = established_pair(a=config_a(idle_hold_time=5.0, idle_hold_forget=100.0))
    cease = cease_notification(CeaseSubcode.ADMINISTRATIVE_RESET)
    for _ in range(2):
        pair.record(pair.a, pair.a.session.teardown(pair.now, cease))
        pair.pump()
        pair.advance(60)
    assert pair.a.session.counters.idle_hold_time == 10.0
    pair.advance(100)
    pair.record(pair.a, pair.a.session.teardown(pair.now, cease))
    assert pair.a.session.counters.idle_hold_time == 5.0


def test_notification_received_goes_idle_without_sending() -> None:
    session = established_session()
    cease = cease_notification(CeaseSubcode.PEER_DE_CONFIGURED)
    events = session.receive_data(wire(cease), NOW)
    assert events == [
        NotificationReceived(notification=cease),
        SessionDown(reason=DownReason.NOTIFICATION_RECEIVED, notification=cease, sent=False),
        CloseRequested(),
    ]
    assert session.data_to_send() == b""
    assert session.state is S.IDLE


def test_connection_lost_goes_idle_and_restarts() -> None:
    session = established_session(config_a(idle_hold_time=2.0))
    events = session.connection_lost(NOW)
    assert events == [SessionDown(reason=DownReason.CONNECTION_LOST)]
    assert session.get_timer() == NOW + 2.0
    assert session.handle_timer(NOW + 2.0) == [ConnectRequested()]
    assert session.state is S.CONNECT


def test_connect_retry_after_a_failed_connect() -> None:
    session = Session(config_a())
    assert session.start(NOW) == [ConnectRequested()]
    assert session.state is S.CONNECT
    assert session.connection_failed(NOW + 1) == [SessionDown(reason=DownReason.CONNECTION_FAILED)]
    assert session.state is S.ACTIVE
    assert session.get_timer() == NOW + 31
    assert session.handle_timer(NOW + 31) == [ConnectRequested()]
    assert session.state is S.CONNECT
    # A connect attempt that hangs past ConnectRetry is dropped and retried.
    assert session.handle_timer(NOW + 61) == [CloseRequested(), ConnectRequested()]
    assert session.state is S.CONNECT


def test_opensent_waits_four_minutes_for_the_open() -> None:
    session = opensent_session()
    assert session.state is S.OPENSENT
    assert session.get_timer() == NOW + 240
    assert session.handle_timer(NOW + 239) == []
    events = session.handle_timer(NOW + 240)
    hold_expired = Notification(code=ErrorCode.HOLD_TIMER_EXPIRED, subcode=0)
    assert decode_all(session.data_to_send()) == [hold_expired]
    assert events[0] == SessionDown(
        reason=DownReason.HOLD_TIMER_EXPIRED, notification=hold_expired, sent=True
    )


def test_open_and_keepalive_fed_byte_by_byte() -> None:
    session = opensent_session()
    data = wire(peer_open(), Keepalive())
    events = []
    for i in range(len(data)):
        events += session.receive_data(data[i : i + 1], NOW)
        if i < len(data) - 1:
            assert not any(isinstance(e, SessionEstablished) for e in events)
    assert session.state is ESTABLISHED
    assert [type(e) for e in events] == [SessionEstablished]
    assert decode_all(session.data_to_send()) == [Keepalive()]


def test_bytes_after_going_down_are_ignored() -> None:
    session = established_session()
    cease = cease_notification(CeaseSubcode.ADMINISTRATIVE_RESET)
    events = session.receive_data(wire(cease, Keepalive()), NOW)
    assert [type(e) for e in events] == [NotificationReceived, SessionDown, CloseRequested]
    assert session.receive_data(wire(Keepalive()), NOW) == []
    assert session.counters.messages_in["KEEPALIVE"] == 1  # only the handshake's


def test_connection_made_while_connected_is_a_local_error() -> None:
    session = established_session()
    with pytest.raises(LocalProtocolError):
        session.connection_made(NOW)


def test_idle_refuses_incoming_connections() -> None:
    session = Session(config_a())
    assert session.connection_made(NOW) == [CloseRequested()]
    assert session.state is S.IDLE
    assert session.data_to_send() == b""


def test_counters_match_the_wire() -> None:
    pair = established_pair()
    pair.a.session.send_update(an_update("198.51.100.0/24"))
    pair.pump()
    pair.advance(125)
    counters_a = pair.a.session.counters
    counters_b = pair.b.session.counters
    sent = pair.sent_by("a")
    by_type = dict.fromkeys(counters_a.messages_out, 0)
    names = {Open: "OPEN", Keepalive: "KEEPALIVE", Update: "UPDATE"}
    for message in sent:
        by_type[names[type(message)]] += 1
    assert counters_a.messages_out == by_type
    assert counters_b.messages_in == by_type
    assert counters_a.established_count == 1
    assert counters_a.established_at == 1000.0
    assert counters_a.last_state_change == 1000.0
    assert counters_a.flaps == 0
    assert counters_a.last_error is None

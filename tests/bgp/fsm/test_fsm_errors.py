"""Unexpected messages are Finite State Machine Errors with the RFC 6608
subcode of the state they arrive in; plus collision resolution (RFC 4271 §6.8),
timers and configuration checks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fsm_pair import (
    NOW,
    config_a,
    config_b,
    decode_all,
    established_session,
    opensent_session,
    peer_open,
    wire,
)
from hypothesis import given
from hypothesis import strategies as st

from nexthop.bgp.constants import (
    ErrorCode,
    FsmErrorSubcode,
    OpenErrorSubcode,
    RouteRefreshErrorSubcode,
)
from nexthop.bgp.fsm import (
    CloseRequested,
    DownReason,
    Session,
    SessionDown,
    SessionState,
    TimerName,
    resolve_collision,
)
from nexthop.bgp.fsm.inputs import BGPOpen, BGPOpenMsgErr
from nexthop.bgp.fsm.open_check import check_open
from nexthop.bgp.fsm.timers import TimerSet, idle_hold_backoff
from nexthop.bgp.wire import (
    AsPathSegment,
    FourOctetAs,
    Keepalive,
    LocalProtocolError,
    Message,
    MpReach,
    MpUnreach,
    Negotiated,
    Notification,
    PathAttributes,
    RouteRefresh,
    Update,
)
from nexthop.net.prefix import parse_prefix

S = SessionState


def _opensent() -> Session:
    return opensent_session()


def _openconfirm() -> Session:
    session = opensent_session()
    session.receive_data(wire(peer_open()), NOW)
    session.data_to_send()
    assert session.state is S.OPENCONFIRM
    return session


@pytest.mark.parametrize(
    ("make", "message", "subcode"),
    [
        (_opensent, Keepalive(), FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPENSENT),
        (_opensent, Update(), FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPENSENT),
        (_opensent, RouteRefresh(afi=1, safi=1), FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPENSENT),
        (_openconfirm, Update(), FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPENCONFIRM),
        (_openconfirm, peer_open(), FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPENCONFIRM),
        (established_session, peer_open(), FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_ESTABLISHED),
    ],
)
def test_unexpected_message_is_an_fsm_error(
    make: Callable[[], Session], message: Message, subcode: int
) -> None:
    session = make()
    events = session.receive_data(wire(message), NOW)
    expected = Notification(code=ErrorCode.FSM, subcode=subcode)
    assert decode_all(session.data_to_send()) == [expected]
    assert events == [
        SessionDown(reason=DownReason.FSM_ERROR, notification=expected, sent=True),
        CloseRequested(),
    ]
    assert session.state is S.IDLE


def test_connection_lost_in_opensent_falls_back_to_active() -> None:
    session = opensent_session()
    events = session.connection_lost(NOW)
    assert events == [SessionDown(reason=DownReason.CONNECTION_LOST)]
    assert session.state is S.ACTIVE
    assert session.get_timer() == NOW + 30  # ConnectRetry restarted (RFC 4271 §8.2.2)


def test_passive_session_never_arms_connect_retry() -> None:
    session = opensent_session(config_a(passive=True))
    session.connection_lost(NOW)
    assert session.state is S.ACTIVE
    assert session.get_timer() is None


@pytest.mark.parametrize(
    ("local", "remote", "winner"),
    [
        (1, 2, "keep-remote-initiated"),
        (2, 1, "keep-local-initiated"),
        (0xC0000201, 0x0A000001, "keep-local-initiated"),  # compared unsigned
        (0x0A000001, 0xFFFFFFFF, "keep-remote-initiated"),
    ],
)
def test_collision_keeps_the_higher_identifier_initiator(
    local: int, remote: int, winner: str
) -> None:
    assert resolve_collision(local, remote) == winner


def test_collision_with_equal_identifiers_is_refused() -> None:
    with pytest.raises(ValueError, match="equal"):
        resolve_collision(7, 7)


def test_timer_set_reports_expired_timers_earliest_first() -> None:
    timers = TimerSet()
    assert timers.next_deadline() is None
    timers.arm(TimerName.KEEPALIVE, 60.0)
    timers.arm(TimerName.HOLD, 30.0)
    timers.arm(TimerName.CONNECT_RETRY, 90.0)
    assert timers.next_deadline() == 30.0
    assert timers.expired(29.9) == []
    assert timers.expired(60.0) == [TimerName.HOLD, TimerName.KEEPALIVE]
    timers.cancel(TimerName.HOLD)
    assert timers.deadline(TimerName.HOLD) is None
    assert timers.next_deadline() == 60.0
    timers.arm(TimerName.KEEPALIVE, 120.0)  # re-arming replaces the deadline
    assert timers.next_deadline() == 90.0
    timers.cancel_all()
    assert timers.next_deadline() is None


@given(
    base=st.floats(min_value=0.5, max_value=60),
    cap=st.floats(min_value=0.5, max_value=600),
    restarts=st.lists(st.floats(min_value=0, max_value=1000), max_size=12),
)
def test_idle_hold_backoff_stays_between_base_and_cap(
    base: float, cap: float, restarts: list[float]
) -> None:
    previous: float | None = None
    last_down: float | None = None
    now = 0.0
    for gap in restarts:
        now += gap
        hold = idle_hold_backoff(
            previous=previous, last_down=last_down, now=now, base=base, cap=cap, forget=300
        )
        assert base <= hold <= max(base, cap)
        if previous is not None and gap < 300:
            assert hold == min(previous * 2, max(base, cap))
        previous, last_down = hold, now


@pytest.mark.parametrize(
    "changes",
    [
        {"hold_time": 1},
        {"hold_time": 2},
        {"hold_time": -1},
        {"keepalive_time": 0},
        {"connect_retry_time": 0},
        {"idle_hold_time": 0},
        {"bgp_id": 0},
        {"local_asn": 0},
        {"peer_asn": 2**32},
        {"local_asn": 4_200_000_000, "four_octet": False},
    ],
)
def test_config_rejects_impossible_values(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        config_a(**changes)


def test_config_accepts_the_smallest_timers() -> None:
    config = config_a(hold_time=3, keepalive_time=1)
    assert config.hold_time == 3
    assert config_a(hold_time=0, keepalive_time=0).hold_time == 0


@pytest.mark.parametrize(
    ("changes", "subcode", "data"),
    [
        ({"version": 3}, OpenErrorSubcode.UNSUPPORTED_VERSION_NUMBER, b"\x00\x04"),
        ({"hold_time": 2}, OpenErrorSubcode.UNACCEPTABLE_HOLD_TIME, b""),
        ({"bgp_id": 0}, OpenErrorSubcode.BAD_BGP_IDENTIFIER, b""),
        # The real AS is the one in the 4-octet AS capability (RFC 6793 §4.1).
        ({"capabilities": (FourOctetAs(asn=65099),)}, OpenErrorSubcode.BAD_PEER_AS, b""),
    ],
)
def test_check_open_rejections(changes: dict[str, object], subcode: int, data: bytes) -> None:
    config = config_a()
    remote = peer_open(**changes)
    checked = check_open(config, Session(config).local_open, remote)
    assert isinstance(checked, BGPOpenMsgErr)
    assert checked.notification == Notification(
        code=ErrorCode.OPEN_MESSAGE, subcode=subcode, data=data
    )


def test_check_open_takes_the_lower_hold_time_and_a_third_for_keepalive() -> None:
    config = config_a(hold_time=90, keepalive_time=30)
    checked = check_open(config, Session(config).local_open, peer_open(hold_time=30))
    assert isinstance(checked, BGPOpen)
    assert (checked.negotiated.hold_time, checked.negotiated.keepalive_time) == (30, 10)
    checked = check_open(config, Session(config).local_open, peer_open(hold_time=0))
    assert isinstance(checked, BGPOpen)
    assert (checked.negotiated.hold_time, checked.negotiated.keepalive_time) == (0, 0)


def test_malformed_enhanced_route_refresh_is_a_route_refresh_error() -> None:
    session = established_session()
    body = b"\x00\x01\x01\x01\x00"  # BoRR must be exactly 4 octets (RFC 7313 §5)
    message = b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x05" + body
    events = session.receive_data(message, NOW)
    (sent,) = decode_all(session.data_to_send())
    assert isinstance(sent, Notification)
    assert (sent.code, sent.subcode) == (
        ErrorCode.ROUTE_REFRESH_MESSAGE,
        RouteRefreshErrorSubcode.INVALID_MESSAGE_LENGTH,
    )
    assert sent.data == message  # the whole offending message
    assert events[0] == SessionDown(
        reason=DownReason.MALFORMED_MESSAGE, notification=sent, sent=True
    )


def test_passive_session_restarts_into_active() -> None:
    session = established_session(config_a(passive=True, idle_hold_time=1.0))
    session.connection_lost(NOW)
    assert session.handle_timer(NOW + 1.0) == []
    assert session.state is S.ACTIVE
    assert session.get_timer() is None


def test_update_larger_than_the_negotiated_maximum_is_refused() -> None:
    prefixes = tuple(parse_prefix(f"10.{i // 256}.{i % 256}.0/24") for i in range(1200))
    big = Update(
        attributes=PathAttributes(as_path=(AsPathSegment(2, (65001,)),), next_hop=0xC0000201),
        nlri=prefixes,
    )
    small = established_session(config_a(extended_message=False))
    with pytest.raises(LocalProtocolError, match="4096"):
        small.send_update(big)
    assert small.data_to_send() == b""
    extended = established_session()  # both sides offer RFC 8654 extended messages
    extended.send_update(big)
    assert len(extended.data_to_send()) > 4096


def test_mp_prefixes_are_counted() -> None:
    families = frozenset({(1, 1), (2, 1)})
    session = opensent_session(config_a(families=families))
    # Both OPENs offer IPv6 unicast: it is negotiated (RFC 4760 §8).
    session.receive_data(wire(Session(config_b(families=families)).local_open, Keepalive()), NOW)
    negotiated = session.negotiated
    assert negotiated is not None
    v6 = Update(
        attributes=PathAttributes(as_path=(AsPathSegment(2, (65002,)),)),
        mp_reach=MpReach(afi=2, safi=1, next_hops=(1,), nlri=(parse_prefix("2001:db8::/32"),)),
        mp_unreach=MpUnreach(afi=2, safi=1, withdrawn=(parse_prefix("2001:db8:1::/48"),)),
    )
    peer_negotiated = Negotiated(asn4=True, families=families)
    session.receive_data(wire(v6, negotiated=peer_negotiated), NOW)
    assert session.counters.prefixes_received == 2


def test_last_error_names_unknown_notification_codes() -> None:
    session = established_session()
    odd = Notification(code=42, subcode=7)
    session.receive_data(wire(odd), NOW)
    assert session.counters.last_error == "notification-received: received NOTIFICATION 42/7"

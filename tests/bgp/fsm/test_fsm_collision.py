"""RFC 4271 §6.8 for a passive speaker, sans-IO: ``resolve_open_collision`` and a
``Session`` with ``pause_after_open`` (stops at the OPEN until ``resume``) and
``collision_dump`` (event 23: Cease / Connection Collision Resolution)."""

from __future__ import annotations

import pytest
from fsm_pair import NOW, config_a, decode_all, opensent_session, peer_open, wire

from nexthop.bgp.constants import CeaseSubcode, ErrorCode
from nexthop.bgp.fsm import (
    CloseRequested,
    DownReason,
    OpenReceived,
    SessionDown,
    SessionEstablished,
    SessionState,
    resolve_open_collision,
)
from nexthop.bgp.wire import Keepalive, Notification

S = SessionState


@pytest.mark.parametrize(
    ("local", "remote", "existing", "verdict"),
    [
        (5, 9, S.OPENCONFIRM, "close-existing"),  # local < remote
        (9, 5, S.OPENCONFIRM, "close-new"),
        (5, 9, S.ESTABLISHED, "close-new"),  # Established always stays
        (9, 5, S.ESTABLISHED, "close-new"),
        (5, 9, S.OPENSENT, "no-collision"),  # its peer id is unknown
        (5, 9, S.ACTIVE, "no-collision"),
        (5, 9, S.IDLE, "no-collision"),
    ],
)
def test_resolve_open_collision(local: int, remote: int, existing: S, verdict: str) -> None:
    assert resolve_open_collision(local, remote, existing) == verdict


def test_a_paused_session_stops_at_the_open_and_resumes() -> None:
    session = opensent_session(config_a(pause_after_open=True))
    events = session.receive_data(wire(peer_open(), Keepalive()), NOW)
    assert [type(e) for e in events] == [OpenReceived]
    assert session.state is S.OPENCONFIRM
    assert session.paused
    assert session.receive_data(b"", NOW) == []  # still paused: nothing read
    assert [type(e) for e in session.resume(NOW)] == [SessionEstablished]
    assert session.state is S.ESTABLISHED
    assert not session.paused
    assert session.resume(NOW) == []


def test_without_pause_the_open_is_not_reported() -> None:
    session = opensent_session(config_a())
    events = session.receive_data(wire(peer_open(), Keepalive()), NOW)
    assert [type(e) for e in events] == [SessionEstablished]


@pytest.mark.parametrize("state", [S.OPENSENT, S.OPENCONFIRM, S.ESTABLISHED])
def test_collision_dump_sends_cease_7_and_closes(state: S) -> None:
    session = opensent_session(config_a(pause_after_open=True))
    if state is not S.OPENSENT:
        session.receive_data(wire(peer_open(), Keepalive()), NOW)
        if state is S.ESTABLISHED:
            session.resume(NOW)
        session.data_to_send()
    assert session.state is state
    events = session.collision_dump(NOW)
    cease = Notification(code=ErrorCode.CEASE, subcode=CeaseSubcode.CONNECTION_COLLISION_RESOLUTION)
    assert decode_all(session.data_to_send(), session.negotiated)[-1:] == [cease]
    downs = [e for e in events if isinstance(e, SessionDown)]
    assert downs == [SessionDown(reason=DownReason.COLLISION, notification=cease, sent=True)]
    assert any(isinstance(e, CloseRequested) for e in events)
    assert session.state is S.IDLE
    assert not session.paused

"""Sessions fed the bytes real BGP speakers sent (tcpdump's test captures).

For each captured TCP stream we configure a ``Session`` as the receiving
speaker (its AS, identifier and families from the OPEN it sent in the capture)
and feed it the peer's bytes exactly as captured.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fsm_pair import NOW, decode_all, established_session, wire

from nexthop.bgp.constants import CeaseSubcode
from nexthop.bgp.fsm import (
    CloseRequested,
    DownReason,
    NotificationReceived,
    Session,
    SessionConfig,
    SessionDown,
    SessionEstablished,
    SessionState,
    UpdateReceived,
)
from nexthop.bgp.wire import (
    AddPath,
    AddPathMode,
    Keepalive,
    Message,
    Multiprotocol,
    Negotiated,
    Notification,
    Open,
    Update,
    open_asn,
    shutdown_communication,
)
from vectors_util import VECTORS, bgp_streams

TCPDUMP = VECTORS / "tcpdump"
Key = tuple[str, int, str, int]


def _messages(data: bytes) -> list[Message]:
    return decode_all(data, Negotiated(asn4=True))


def _cases() -> list[tuple[str, Key]]:
    cases = []
    for name in ("bgp-4byte-asn.pcap", "bgp-cease-hard-reset.pcap"):
        streams = bgp_streams(TCPDUMP / name)
        for key, data in streams.items():
            reverse = streams.get((key[2], key[3], key[0], key[1]))
            if reverse and isinstance(_messages(data)[0], Open):
                cases.append((name, key))
    return cases


def _receiver_config(ours: Open, theirs: Open, peer_address: str) -> SessionConfig:
    families = frozenset((c.afi, c.safi) for c in ours.capabilities if isinstance(c, Multiprotocol))
    add_path = frozenset(
        (afi, safi)
        for c in ours.capabilities
        if isinstance(c, AddPath)
        for afi, safi, mode in c.families
        if mode & AddPathMode.RECEIVE
    )
    return SessionConfig(
        local_asn=open_asn(ours),
        peer_asn=open_asn(theirs),
        bgp_id=ours.bgp_id,
        peer_address=peer_address,
        hold_time=ours.hold_time,
        families=families or frozenset({(1, 1)}),
        add_path_receive=add_path,
    )


def _expected(messages: list[Message]) -> list[type]:
    """The events an RFC 4271 speaker in OpenSent reports for these messages."""
    expected: list[type] = []
    established = False
    for message in messages[1:]:
        if isinstance(message, Keepalive) and not established:
            established = True
            expected.append(SessionEstablished)
        elif isinstance(message, Update):
            expected.append(UpdateReceived)
        elif isinstance(message, Notification):
            expected += [NotificationReceived, SessionDown, CloseRequested]
            break
    return expected


@pytest.mark.parametrize(("capture", "key"), _cases())
def test_session_accepts_a_captured_peer(capture: str, key: Key) -> None:
    streams = bgp_streams(TCPDUMP / capture)
    data = streams[key]
    theirs_messages = _messages(data)
    theirs = theirs_messages[0]
    ours = _messages(streams[(key[2], key[3], key[0], key[1])])[0]
    assert isinstance(theirs, Open)
    assert isinstance(ours, Open)
    session = Session(_receiver_config(ours, theirs, key[0]))
    session.start(NOW)
    session.connection_made(NOW)
    session.data_to_send()
    events = session.receive_data(data, NOW)
    assert [type(e) for e in events] == _expected(theirs_messages)
    if SessionEstablished in _expected(theirs_messages):
        (up,) = [e for e in events if isinstance(e, SessionEstablished)]
        assert up.negotiated.peer_asn == open_asn(theirs)
        assert up.negotiated.peer_bgp_id == theirs.bgp_id
    counters = session.counters
    assert counters.messages_in["UPDATE"] == sum(isinstance(e, UpdateReceived) for e in events)
    assert session.state in (SessionState.OPENCONFIRM, SessionState.ESTABLISHED, SessionState.IDLE)


def test_four_octet_peer_from_capture_negotiates_asn4() -> None:
    streams = bgp_streams(TCPDUMP / "bgp-4byte-asn.pcap")
    theirs = _messages(streams[("1.0.2.2", 42741, "1.0.2.1", 179)])[0]
    assert isinstance(theirs, Open)
    assert theirs.asn == 23456  # AS_TRANS; the real AS rides in the capability
    session = Session(
        SessionConfig(local_asn=200, peer_asn=2764334674, bgp_id=0x201, peer_address="1.0.2.2")
    )
    session.start(NOW)
    session.connection_made(NOW)
    session.receive_data(wire(theirs, Keepalive()), NOW)
    negotiated = session.negotiated
    assert negotiated is not None
    assert negotiated.asn4
    assert negotiated.peer_asn == 2764334674
    assert session.state is SessionState.ESTABLISHED


def test_captured_shutdown_communication_is_reported() -> None:
    streams = bgp_streams(TCPDUMP / "bgp-shutdown-communication.pcapng")
    (data,) = streams.values()
    session = established_session()
    events = session.receive_data(data, NOW)
    (heard, down, close) = events  # the second NOTIFICATION arrives in Idle: ignored
    assert isinstance(heard, NotificationReceived)
    assert heard.notification.subcode == CeaseSubcode.ADMINISTRATIVE_SHUTDOWN
    expected_text = "This is a test of the shutdown communication system."
    assert shutdown_communication(heard.notification) == expected_text
    assert isinstance(down, SessionDown)
    assert down.reason is DownReason.NOTIFICATION_RECEIVED
    assert isinstance(close, CloseRequested)
    last_error = session.counters.last_error
    assert last_error is not None
    assert expected_text in last_error


def test_capture_cases_were_found() -> None:
    assert len(_cases()) >= 8
    assert Path(TCPDUMP).is_dir()

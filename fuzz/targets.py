"""Fuzz targets: untrusted bytes into the sans-IO core, through its public API.

Each target takes one input (bytes) and raises only on a finding: an exception
that is not the documented way to refuse bad input. The documented refusals are
``MessageError`` from the decoder (it maps to the NOTIFICATION to send, RFC 4271
§6) and nothing at all from a ``Session`` (bad bytes become a NOTIFICATION and a
``CloseRequested`` event) or from the route server (whatever an Established peer
sends is learned, refused or treated as withdrawn, and every UPDATE it then asks
to send encodes within the receiver's message size).

* ``decode``: ``decode_message`` and the incremental ``MessageReader`` under
  the pre-OPEN defaults and a fully negotiated session (4-octet AS, IPv6,
  extended messages, ADD-PATH receive);
* ``session``: a passive ``Session`` brought to Established by a real peer
  OPEN and KEEPALIVE, then fed the input in chunks, with its timers run;
* ``route_server``: every UPDATE decoded from the input is received by a
  ``RouteServer`` from one NVA; what the route server asks to send to the other
  NVA (incremental, then a full table on a new session) is encoded for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from nexthop.bgp.fsm import Session, SessionConfig, SessionState
from nexthop.bgp.wire import (
    Keepalive,
    MessageReader,
    Negotiated,
    Update,
    decode_message,
    encode_message,
)
from nexthop.bgp.wire.errors import MessageError
from nexthop.bgp.wire.negotiated import IPV4_UNICAST
from nexthop.net.prefix import Afi, Safi, parse_prefix
from nexthop.routeserver import (
    IN_0,
    PeeringConfig,
    RouteServer,
    RouteServerConfig,
    SendUpdate,
)

__all__ = ["TARGETS", "decode", "route_server", "session"]

IPV6_UNICAST = (Afi.IPV6, Safi.UNICAST)
_FULL = Negotiated(
    asn4=True,
    families=frozenset({IPV4_UNICAST, IPV6_UNICAST}),
    add_path_receive=frozenset({IPV4_UNICAST}),
    extended_message=True,
    route_refresh=True,
    enhanced_route_refresh=True,
)
_NEGOTIATIONS = (Negotiated(), _FULL)


def decode(data: bytes) -> None:
    for negotiated in _NEGOTIATIONS:
        with contextlib.suppress(MessageError):
            decode_message(data, negotiated)
        reader = MessageReader(intern_attributes=True)
        reader.feed(data)
        try:
            while reader.next_message(negotiated) is not None:
                pass
        except MessageError:
            pass


def _established() -> Session:
    ours = SessionConfig(
        local_asn=65515,
        peer_asn=65001,
        bgp_id=0x0A010104,
        peer_address="10.1.0.4",
        passive=True,
    )
    theirs = SessionConfig(
        local_asn=65001, peer_asn=65515, bgp_id=0x0A010004, peer_address="10.1.1.4"
    )
    s = Session(ours)
    s.start(0.0)
    s.connection_made(0.0)
    hello = encode_message(Session(theirs).local_open, Negotiated())
    s.receive_data(hello + encode_message(Keepalive(), Negotiated()), 0.0)
    s.data_to_send()
    if s.state is not SessionState.ESTABLISHED:
        msg = f"the session did not come up: {s.state}"
        raise AssertionError(msg)
    return s


def session(data: bytes) -> None:
    s = _established()
    now = 0.0
    step = (data[0] % 61 + 1) if data else 1  # chunk sizes vary with the input
    for at in range(0, len(data), step):
        now += 0.5
        s.receive_data(data[at : at + step], now)
        s.data_to_send()
        if s.state is not SessionState.ESTABLISHED:
            break
    deadline = s.get_timer()
    if deadline is not None:
        s.handle_timer(deadline)
        s.data_to_send()


_NVA_A = PeeringConfig(name="a", peer_ip="10.1.0.4", peer_asn=65001)
_NVA_B = PeeringConfig(name="b", peer_ip="10.1.0.5", peer_asn=65002)
_PLAIN = Negotiated(asn4=False, route_refresh=True, local_asn=65515, peer_asn=65002, peer_bgp_id=2)


def _send_all(outputs: list[object]) -> None:
    """Encode what the route server asks to send to ``b`` (2-octet AS, 4096 octets)."""
    for out in outputs:
        if isinstance(out, SendUpdate) and out.peering == "b":
            encode_message(out.update, _PLAIN)


def route_server(data: bytes) -> None:
    config = RouteServerConfig(
        name="rs",
        subnet=parse_prefix("10.1.1.0/26"),
        vnet_address_spaces=(parse_prefix("10.1.0.0/16"),),
    )
    rs = RouteServer(config)
    rs.add_peering(_NVA_A)
    rs.add_peering(_NVA_B)
    a = Negotiated(
        asn4=True,
        families=_FULL.families,
        extended_message=True,
        route_refresh=True,
        local_asn=65515,
        peer_asn=65001,
        peer_bgp_id=1,
    )
    rs.peer_established(IN_0, "a", a, 0.0)
    _send_all(list(rs.peer_established(IN_0, "b", _PLAIN, 0.0)))
    reader = MessageReader(intern_attributes=True)
    reader.feed(data)
    now = 1.0
    while True:
        try:
            message = reader.next_message(a)
        except MessageError:
            break  # the session would send the NOTIFICATION and close
        if message is None:
            break
        if isinstance(message, Update):
            now += 1.0
            _send_all(list(rs.receive_update(IN_0, "a", message, now)))
    _send_all(list(rs.peer_down(IN_0, "b", now)))
    _send_all(list(rs.peer_established(IN_0, "b", _PLAIN, now + 1.0)))  # the full table


TARGETS: dict[str, Callable[[bytes], None]] = {
    "decode": decode,
    "session": session,
    "route_server": route_server,
}

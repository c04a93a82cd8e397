"""Validating a received OPEN, RFC 4271 §6.2 (with RFC 6793 §4 and RFC 6286).

A received OPEN becomes either ``BGPOpen`` (event 19) carrying what the two
OPENs negotiate, or ``BGPOpenMsgErr`` (event 22) carrying the NOTIFICATION to
send. Checks run in the §6.2 order: version, peer AS, hold time, BGP Identifier.
"""

from __future__ import annotations

from dataclasses import replace

from nexthop.bgp.constants import BGP_VERSION, ErrorCode, OpenErrorSubcode
from nexthop.bgp.fsm.config import SessionConfig
from nexthop.bgp.fsm.inputs import BGPOpen, BGPOpenMsgErr
from nexthop.bgp.wire import build_open, negotiate, open_asn
from nexthop.bgp.wire.messages import Notification, Open

__all__ = ["check_open", "local_open"]


def local_open(config: SessionConfig) -> Open:
    """The OPEN we send to this peer."""
    return build_open(
        asn=config.local_asn,
        bgp_id=config.bgp_id,
        hold_time=config.hold_time,
        families=config.families,
        route_refresh=config.route_refresh,
        enhanced_route_refresh=config.enhanced_route_refresh,
        four_octet=config.four_octet,
        add_path_receive=config.add_path_receive,
        extended_message=config.extended_message,
        graceful_restart=config.graceful_restart,
    )


def _reject(subcode: OpenErrorSubcode, reason: str, data: bytes = b"") -> BGPOpenMsgErr:
    notification = Notification(code=ErrorCode.OPEN_MESSAGE, subcode=subcode, data=data)
    return BGPOpenMsgErr(notification=notification, reason=reason)


def check_open(config: SessionConfig, local: Open, remote: Open) -> BGPOpen | BGPOpenMsgErr:
    """Validate the peer's OPEN against our configuration and our own OPEN."""
    if remote.version != BGP_VERSION:
        # §6.2: the data is the largest locally supported version, 2 octets.
        return _reject(
            OpenErrorSubcode.UNSUPPORTED_VERSION_NUMBER,
            f"unsupported BGP version {remote.version}",
            BGP_VERSION.to_bytes(2, "big"),
        )
    peer_asn = open_asn(remote)
    if peer_asn != config.peer_asn:
        return _reject(
            OpenErrorSubcode.BAD_PEER_AS,
            f"peer AS {peer_asn} is not the configured AS {config.peer_asn}",
        )
    if remote.hold_time in (1, 2):
        return _reject(
            OpenErrorSubcode.UNACCEPTABLE_HOLD_TIME,
            f"unacceptable hold time {remote.hold_time}",
        )
    # §6.2: zero or our own identifier. RFC 6286 §2.2 would allow our own for
    # eBGP; we keep the stricter rule so collision resolution stays decidable.
    if remote.bgp_id in (0, config.bgp_id):
        return _reject(
            OpenErrorSubcode.BAD_BGP_IDENTIFIER,
            f"bad BGP identifier {remote.bgp_id:#010x}",
        )
    negotiated = negotiate(local, remote)
    hold = negotiated.hold_time
    keepalive = min(config.keepalive_time, hold // 3) if hold else 0
    return BGPOpen(open=remote, negotiated=replace(negotiated, keepalive_time=keepalive))

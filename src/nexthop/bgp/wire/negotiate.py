"""Capability intersection after the OPEN exchange.

RFC 5492 §3 (a capability is in use only when both sides advertise it), RFC 4760
§8 (no Multiprotocol capability means IPv4 unicast only), RFC 6793 §4 (4-octet AS),
RFC 7911 §4 (ADD-PATH per direction: we receive path ids for a family when we
advertise Receive and the peer advertises Send), RFC 4271 §4.2 (hold time is the
smaller of the two; keepalive a third of it).
"""

from __future__ import annotations

from nexthop.bgp.wire.messages import (
    AddPath,
    AddPathMode,
    EnhancedRouteRefresh,
    ExtendedMessage,
    FourOctetAs,
    GracefulRestart,
    Multiprotocol,
    Open,
    RouteRefreshCapability,
)
from nexthop.bgp.wire.negotiated import IPV4_UNICAST, Family, Negotiated
from nexthop.bgp.wire.open import open_asn

__all__ = ["negotiate"]


def _families(msg: Open) -> frozenset[Family]:
    mp = frozenset((c.afi, c.safi) for c in msg.capabilities if isinstance(c, Multiprotocol))
    return mp or frozenset({IPV4_UNICAST})


def _add_path(msg: Open, mode: int) -> frozenset[Family]:
    return frozenset(
        (afi, safi)
        for cap in msg.capabilities
        if isinstance(cap, AddPath)
        for afi, safi, m in cap.families
        if m & mode
    )


def _has(msg: Open, kind: type) -> bool:
    return any(isinstance(c, kind) for c in msg.capabilities)


def _graceful_restart(msg: Open) -> GracefulRestart | None:
    for cap in msg.capabilities:
        if isinstance(cap, GracefulRestart):
            return cap
    return None


def negotiate(local: Open, remote: Open) -> Negotiated:
    """What ``local`` (ours) and ``remote`` (the peer's) OPENs agree on. Pure: the
    session validates AS numbers, identifiers and hold times."""
    families = _families(local) & _families(remote)
    hold_time = min(local.hold_time, remote.hold_time)
    peer_gr = _graceful_restart(remote)
    return Negotiated(
        asn4=_has(local, FourOctetAs) and _has(remote, FourOctetAs),
        families=families,
        add_path_receive=_add_path(local, AddPathMode.RECEIVE)
        & _add_path(remote, AddPathMode.SEND)
        & families,
        add_path_send=_add_path(local, AddPathMode.SEND)
        & _add_path(remote, AddPathMode.RECEIVE)
        & families,
        extended_message=_has(local, ExtendedMessage) and _has(remote, ExtendedMessage),
        route_refresh=_has(local, RouteRefreshCapability) and _has(remote, RouteRefreshCapability),
        enhanced_route_refresh=_has(local, EnhancedRouteRefresh)
        and _has(remote, EnhancedRouteRefresh),
        graceful_restart=_graceful_restart(local) is not None and peer_gr is not None,
        peer_graceful_restart=peer_gr,
        hold_time=hold_time,
        keepalive_time=hold_time // 3,
        local_asn=open_asn(local),
        peer_asn=open_asn(remote),
        peer_bgp_id=remote.bgp_id,
    )

"""Connection collision detection, RFC 4271 §6.8.

When both speakers open a connection at once, the runtime holds both and asks
which to keep once it knows the peer's BGP Identifier (from either OPEN). The
loser is closed with Cease / Connection Collision Resolution (RFC 4486 §3.7).

``resolve_collision`` answers for a speaker that dials and listens (one
connection initiated by each side). ``resolve_open_collision`` is the rule as
§6.8 states it on receipt of an OPEN, in terms of the existing connection and the
new one, which is what a passive speaker (the route server: every connection is
the peer's) needs:

    "Upon receipt of an OPEN message, the local system MUST examine all of its
    connections that are in the OpenConfirm state. [...] If, among these
    connections, there is a connection to a remote BGP speaker whose BGP
    Identifier equals the one in the OPEN message, and this connection collides
    with [the] connection over which the OPEN message is received, then the
    local system performs the following collision resolution procedure:
    1) The BGP Identifier of the local system is compared to the BGP Identifier
    of the remote system (as specified in the OPEN message). [...]
    2) If the value of the local BGP Identifier is less than the remote one, the
    local system closes the BGP connection that already exists (the one that is
    already in the OpenConfirm state), and accepts the BGP connection initiated
    by the remote system.
    3) Otherwise, the local system closes the newly created BGP connection (the
    one associated with the newly received OPEN message), and continues to use
    the existing one (the one that is already in the OpenConfirm state).
    [...] a connection collision with an existing BGP connection that is in the
    Established state causes closing of the newly created connection."
"""

from __future__ import annotations

from typing import Literal

from nexthop.bgp.fsm.states import SessionState

__all__ = ["CollisionWinner", "OpenCollision", "resolve_collision", "resolve_open_collision"]

OpenCollision = Literal["no-collision", "close-existing", "close-new"]

CollisionWinner = Literal["keep-local-initiated", "keep-remote-initiated"]


def resolve_collision(local_bgp_id: int, remote_bgp_id: int) -> CollisionWinner:
    """RFC 4271 §6.8: the connection initiated by the speaker with the higher BGP
    Identifier survives (identifiers compared as unsigned 32-bit integers).

    Equal identifiers cannot collide: such an OPEN is already rejected with Bad
    BGP Identifier (see ``open_check``), so they raise ``ValueError``.
    """
    if local_bgp_id == remote_bgp_id:
        msg = "equal BGP identifiers: the OPEN must be rejected, not resolved"
        raise ValueError(msg)
    if local_bgp_id < remote_bgp_id:
        return "keep-remote-initiated"
    return "keep-local-initiated"


def resolve_open_collision(
    local_bgp_id: int, remote_bgp_id: int, existing: SessionState
) -> OpenCollision:
    """An OPEN carrying ``remote_bgp_id`` arrived on a new connection while another
    connection to the same peer is in state ``existing``: which one to close
    (module docstring). An existing connection still in OpenSent (or not yet
    connected) cannot collide: its peer's identifier is unknown (§6.8 "MAY also
    examine connections in an OpenSent state if it knows the BGP Identifier of
    the peer by means outside of the protocol": we do not).

    The caller decides what "the same peer" is. §6.8 matches connections by the
    BGP Identifier in their OPENs; a route server knows its peers by configured
    address, so two connections from one peering address collide whatever
    identifiers they carry, and the identifier compared is the new OPEN's."""
    if existing is SessionState.ESTABLISHED:
        return "close-new"
    if existing is not SessionState.OPENCONFIRM:
        return "no-collision"
    if local_bgp_id < remote_bgp_id:
        return "close-existing"
    return "close-new"

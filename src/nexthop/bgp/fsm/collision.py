"""Connection collision detection, RFC 4271 §6.8.

When both speakers open a connection at once, the runtime holds both and asks
which to keep once it knows the peer's BGP Identifier (from either OPEN). The
loser is closed with Cease / Connection Collision Resolution (RFC 4486 §3.7).
"""

from __future__ import annotations

from typing import Literal

__all__ = ["CollisionWinner", "resolve_collision"]

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

"""What an OPEN exchange agreed on; the codec takes it explicitly (style rule 2).

RFC 5492 (capabilities), RFC 4760 (families), RFC 6793 (4-octet AS), RFC 7911
(ADD-PATH, per direction), RFC 8654 (extended message), RFC 4271 §4.2 (hold time:
the smaller of the two, 0 or at least 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nexthop.bgp.constants import MAX_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH_EXTENDED
from nexthop.bgp.wire.messages import GracefulRestart
from nexthop.net.prefix import Afi, Safi

__all__ = ["IPV4_UNICAST", "Family", "Negotiated"]

Family = tuple[int, int]
IPV4_UNICAST: Family = (Afi.IPV4, Safi.UNICAST)


@dataclass(frozen=True, slots=True, kw_only=True)
class Negotiated:
    """Session parameters. ``Negotiated()`` is the pre-OPEN default: 2-octet AS,
    IPv4 unicast only, 4096-octet messages."""

    asn4: bool = False
    families: frozenset[Family] = field(default_factory=lambda: frozenset({IPV4_UNICAST}))
    add_path_receive: frozenset[Family] = frozenset()  # we decode path ids on receive
    add_path_send: frozenset[Family] = frozenset()  # we must encode path ids on send
    extended_message: bool = False
    route_refresh: bool = False
    enhanced_route_refresh: bool = False
    graceful_restart: bool = False
    hold_time: int = 180
    keepalive_time: int = 60
    local_asn: int = 0
    peer_asn: int = 0
    peer_bgp_id: int = 0
    peer_graceful_restart: GracefulRestart | None = None  # the peer's GR capability (RFC 4724)

    @property
    def max_message_length(self) -> int:
        return MAX_MESSAGE_LENGTH_EXTENDED if self.extended_message else MAX_MESSAGE_LENGTH

    @property
    def external(self) -> bool:
        """Both AS numbers known and different: an eBGP session, which changes how
        LOCAL_PREF and confederation segments decode (RFC 4271 §5.1.5, RFC 5065 §5.3)."""
        return bool(self.local_asn and self.peer_asn and self.local_asn != self.peer_asn)

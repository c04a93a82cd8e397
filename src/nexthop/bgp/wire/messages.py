"""BGP messages as frozen, keyword-only, slotted dataclasses with no behaviour.

The same objects are decoded from and encoded to the wire (RFC 4271 §4), so they
are nouns. Addresses are ints (see ``nexthop.net.prefix``); IPv4 unicast NLRI sit
in ``Update.nlri``/``Update.withdrawn``, other families in ``MpReach``/``MpUnreach``
(RFC 4760). With ADD-PATH (RFC 7911) the ``*_path_ids`` tuples run parallel to the
prefix tuples; without it they are empty.

    +-----------------------------------------------+
    |                 Marker (16 octets)            |
    +-------------------------------+---------------+
    |          Length (2)           |    Type (1)   |
    +-------------------------------+---------------+
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from nexthop.bgp.constants import BGP_VERSION, Origin
from nexthop.net.prefix import Prefix

__all__ = [
    "AddPath",
    "AddPathMode",
    "AsPathSegment",
    "Capability",
    "EnhancedRouteRefresh",
    "ExtendedMessage",
    "FourOctetAs",
    "GracefulRestart",
    "Keepalive",
    "Message",
    "MpReach",
    "MpUnreach",
    "Multiprotocol",
    "Notification",
    "Open",
    "PathAttributes",
    "RawAttribute",
    "RouteRefresh",
    "RouteRefreshCapability",
    "UnknownCapability",
    "Update",
]


# --- capabilities (RFC 5492) -------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Multiprotocol:
    """RFC 4760 §8: one AFI/SAFI the speaker supports."""

    afi: int
    safi: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteRefreshCapability:
    """RFC 2918 (code 2; the pre-standard code 128 decodes to this too)."""

    code: int = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class EnhancedRouteRefresh:
    """RFC 7313."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtendedMessage:
    """RFC 8654: messages up to 65535 octets (except OPEN and KEEPALIVE)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FourOctetAs:
    """RFC 6793: the speaker's real AS number."""

    asn: int


class AddPathMode:
    """RFC 7911 §4 Send/Receive field."""

    RECEIVE = 1
    SEND = 2
    BOTH = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class AddPath:
    """RFC 7911: (afi, safi, send/receive) triples."""

    families: tuple[tuple[int, int, int], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class GracefulRestart:
    """RFC 4724 §3: restart flags (R, N bits), restart time, per-family F bit."""

    restart_flags: int
    restart_time: int
    families: tuple[tuple[int, int, int], ...] = ()  # (afi, safi, flags)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownCapability:
    """A capability we do not implement: kept (for display) and otherwise ignored."""

    code: int
    value: bytes


Capability = (
    Multiprotocol
    | RouteRefreshCapability
    | EnhancedRouteRefresh
    | ExtendedMessage
    | FourOctetAs
    | AddPath
    | GracefulRestart
    | UnknownCapability
)


# --- messages ----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Open:
    """RFC 4271 §4.2. ``asn`` is the 2-octet 'My Autonomous System' field
    (AS_TRANS when the real AS needs 4 octets; see ``FourOctetAs``)."""

    asn: int
    hold_time: int
    bgp_id: int
    capabilities: tuple[Capability, ...] = ()
    version: int = BGP_VERSION


@dataclass(frozen=True, slots=True, kw_only=True)
class Keepalive:
    """RFC 4271 §4.4: header only."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Notification:
    """RFC 4271 §4.5. For Cease/Administrative Shutdown|Reset the data may carry a
    shutdown communication (RFC 8203, length octet + UTF-8, up to 255 per RFC 9003)."""

    code: int
    subcode: int
    data: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteRefresh:
    """RFC 2918 §3, with the RFC 7313 subtype (0 normal, 1 BoRR, 2 EoRR)."""

    afi: int
    safi: int
    subtype: int = 0


class AsPathSegment(NamedTuple):
    """One AS_PATH segment: ``AsPathSegmentType`` and the AS numbers in it."""

    type: int
    asns: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RawAttribute:
    """An attribute kept as bytes (unknown optional transitive, passed through)."""

    flags: int
    type: int
    value: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class PathAttributes:
    """Decoded path attributes shared by every NLRI of one UPDATE.

    Hashable so that identical attribute sets can be interned and compared by
    identity in the RIBs. AS numbers are always 4-octet values here: a 2-octet
    peer's AS_PATH/AS4_PATH are merged on decode (RFC 6793 §4.2.3).
    """

    origin: int = Origin.IGP
    as_path: tuple[AsPathSegment, ...] = ()
    next_hop: int | None = None  # IPv4 NEXT_HOP attribute
    med: int | None = None
    local_pref: int | None = None
    atomic_aggregate: bool = False
    aggregator: tuple[int, int] | None = None  # (asn, IPv4 address)
    communities: tuple[int, ...] = ()
    extended_communities: tuple[bytes, ...] = ()  # each 8 octets
    large_communities: tuple[tuple[int, int, int], ...] = ()
    originator_id: int | None = None
    cluster_list: tuple[int, ...] = ()
    unknown: tuple[RawAttribute, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MpReach:
    """RFC 4760 §3. ``next_hops`` holds one address, or for IPv6 the global and
    the link-local address (RFC 2545 §3)."""

    afi: int
    safi: int
    next_hops: tuple[int, ...]
    nlri: tuple[Prefix, ...] = ()
    path_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MpUnreach:
    """RFC 4760 §4. An empty ``withdrawn`` is the End-of-RIB marker (RFC 4724 §2)."""

    afi: int
    safi: int
    withdrawn: tuple[Prefix, ...] = ()
    path_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Update:
    """RFC 4271 §4.3. ``attributes`` is None when the message carries none
    (a pure withdrawal or the IPv4 End-of-RIB).

    ``treat_as_withdraw`` and ``discarded`` report RFC 7606 outcomes found while
    decoding: the NLRI must be handled as withdrawn, and which attributes were
    dropped (with the reason) so the session can log them.
    """

    withdrawn: tuple[Prefix, ...] = ()
    withdrawn_path_ids: tuple[int, ...] = ()
    attributes: PathAttributes | None = None
    nlri: tuple[Prefix, ...] = ()
    nlri_path_ids: tuple[int, ...] = ()
    mp_reach: MpReach | None = None
    mp_unreach: MpUnreach | None = None
    treat_as_withdraw: bool = False
    discarded: tuple[str, ...] = ()


Message = Open | Update | Notification | Keepalive | RouteRefresh

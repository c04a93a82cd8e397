"""Pure BGP-4 codec: bytes <-> frozen dataclasses, with the negotiated context
passed explicitly (RFC 4271 §4, RFC 4760, RFC 5492, RFC 6793, RFC 7313, RFC 7606,
RFC 7911, RFC 8203/9003, RFC 8654, RFC 9072). No I/O, no clock."""

from __future__ import annotations

from nexthop.bgp.wire.attributes import ATTRIBUTES, AttrSpec
from nexthop.bgp.wire.capabilities import CAPABILITIES, CapabilitySpec
from nexthop.bgp.wire.codec import MessageReader, decode_message, encode_message
from nexthop.bgp.wire.errors import ErrorHandling, LocalProtocolError, MessageError
from nexthop.bgp.wire.messages import (
    AddPath,
    AddPathMode,
    AsPathSegment,
    Capability,
    EnhancedRouteRefresh,
    ExtendedMessage,
    FourOctetAs,
    GracefulRestart,
    Keepalive,
    Message,
    MpReach,
    MpUnreach,
    Multiprotocol,
    Notification,
    Open,
    PathAttributes,
    RawAttribute,
    RouteRefresh,
    RouteRefreshCapability,
    UnknownCapability,
    Update,
)
from nexthop.bgp.wire.negotiate import negotiate
from nexthop.bgp.wire.negotiated import IPV4_UNICAST, Family, Negotiated
from nexthop.bgp.wire.notification import cease_notification, shutdown_communication
from nexthop.bgp.wire.open import build_open, open_asn
from nexthop.bgp.wire.shared_encoding import SharedEncoder
from nexthop.bgp.wire.update import end_of_rib, is_end_of_rib

__all__ = [
    "ATTRIBUTES",
    "CAPABILITIES",
    "IPV4_UNICAST",
    "AddPath",
    "AddPathMode",
    "AsPathSegment",
    "AttrSpec",
    "Capability",
    "CapabilitySpec",
    "EnhancedRouteRefresh",
    "ErrorHandling",
    "ExtendedMessage",
    "Family",
    "FourOctetAs",
    "GracefulRestart",
    "Keepalive",
    "LocalProtocolError",
    "Message",
    "MessageError",
    "MessageReader",
    "MpReach",
    "MpUnreach",
    "Multiprotocol",
    "Negotiated",
    "Notification",
    "Open",
    "PathAttributes",
    "RawAttribute",
    "RouteRefresh",
    "RouteRefreshCapability",
    "SharedEncoder",
    "UnknownCapability",
    "Update",
    "build_open",
    "cease_notification",
    "decode_message",
    "encode_message",
    "end_of_rib",
    "is_end_of_rib",
    "negotiate",
    "open_asn",
    "shutdown_communication",
]

"""IANA-registered BGP numbers, by name (never bare numbers in the codec).

Sources: IANA "Border Gateway Protocol (BGP) Parameters", RFC 4271 §4 and §6,
RFC 4486 (Cease subcodes), RFC 5492 (capabilities), RFC 7606, RFC 8203/9003.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = [
    "AS_TRANS",
    "BGP_PORT",
    "BGP_VERSION",
    "HEADER_LENGTH",
    "MARKER",
    "MAX_MESSAGE_LENGTH",
    "MAX_MESSAGE_LENGTH_EXTENDED",
    "AsPathSegmentType",
    "AttrFlag",
    "AttrType",
    "CapabilityCode",
    "CeaseSubcode",
    "ErrorCode",
    "FsmErrorSubcode",
    "HeaderErrorSubcode",
    "MessageType",
    "OpenErrorSubcode",
    "OptionalParameterType",
    "Origin",
    "RouteRefreshErrorSubcode",
    "RouteRefreshSubtype",
    "UpdateErrorSubcode",
    "WellKnownCommunity",
]

BGP_PORT = 179
BGP_VERSION = 4
MARKER = b"\xff" * 16
HEADER_LENGTH = 19
MAX_MESSAGE_LENGTH = 4096
MAX_MESSAGE_LENGTH_EXTENDED = 65535  # RFC 8654
AS_TRANS = 23456  # RFC 6793


class MessageType(IntEnum):
    OPEN = 1
    UPDATE = 2
    NOTIFICATION = 3
    KEEPALIVE = 4
    ROUTE_REFRESH = 5  # RFC 2918


class RouteRefreshSubtype(IntEnum):
    """RFC 7313 §3: the 'Reserved' octet of ROUTE-REFRESH becomes a subtype."""

    NORMAL = 0
    BORR = 1  # Beginning of Route Refresh
    EORR = 2  # End of Route Refresh


class OptionalParameterType(IntEnum):
    CAPABILITIES = 2
    EXTENDED_LENGTH = 255  # RFC 9072 marker in the non-extended length octet


class CapabilityCode(IntEnum):
    MULTIPROTOCOL = 1  # RFC 4760
    ROUTE_REFRESH = 2  # RFC 2918
    OUTBOUND_ROUTE_FILTERING = 3
    EXTENDED_NEXT_HOP = 5  # RFC 8950
    EXTENDED_MESSAGE = 6  # RFC 8654
    BGP_ROLE = 9  # RFC 9234
    GRACEFUL_RESTART = 64  # RFC 4724
    FOUR_OCTET_AS = 65  # RFC 6793
    ADD_PATH = 69  # RFC 7911
    ENHANCED_ROUTE_REFRESH = 70  # RFC 7313
    LONG_LIVED_GRACEFUL_RESTART = 71
    FQDN = 73
    SOFTWARE_VERSION = 75
    ROUTE_REFRESH_CISCO = 128


class AttrFlag(IntFlag):
    """RFC 4271 §4.3 attribute flags octet."""

    OPTIONAL = 0x80
    TRANSITIVE = 0x40
    PARTIAL = 0x20
    EXTENDED_LENGTH = 0x10


class AttrType(IntEnum):
    ORIGIN = 1
    AS_PATH = 2
    NEXT_HOP = 3
    MULTI_EXIT_DISC = 4
    LOCAL_PREF = 5
    ATOMIC_AGGREGATE = 6
    AGGREGATOR = 7
    COMMUNITIES = 8  # RFC 1997
    ORIGINATOR_ID = 9  # RFC 4456
    CLUSTER_LIST = 10  # RFC 4456
    MP_REACH_NLRI = 14  # RFC 4760
    MP_UNREACH_NLRI = 15  # RFC 4760
    EXTENDED_COMMUNITIES = 16  # RFC 4360
    AS4_PATH = 17  # RFC 6793
    AS4_AGGREGATOR = 18  # RFC 6793
    LARGE_COMMUNITY = 32  # RFC 8092


class Origin(IntEnum):
    IGP = 0
    EGP = 1
    INCOMPLETE = 2


class AsPathSegmentType(IntEnum):
    AS_SET = 1
    AS_SEQUENCE = 2
    AS_CONFED_SEQUENCE = 3  # RFC 5065
    AS_CONFED_SET = 4


class WellKnownCommunity(IntEnum):
    """RFC 1997 and IANA well-known communities."""

    GRACEFUL_SHUTDOWN = 0xFFFF0000  # RFC 8326
    BLACKHOLE = 0xFFFF029A  # RFC 7999
    NO_EXPORT = 0xFFFFFF01
    NO_ADVERTISE = 0xFFFFFF02
    NO_EXPORT_SUBCONFED = 0xFFFFFF03
    NO_PEER = 0xFFFFFF04  # RFC 3765


class ErrorCode(IntEnum):
    """RFC 4271 §4.5 NOTIFICATION error codes."""

    MESSAGE_HEADER = 1
    OPEN_MESSAGE = 2
    UPDATE_MESSAGE = 3
    HOLD_TIMER_EXPIRED = 4
    FSM = 5
    CEASE = 6
    ROUTE_REFRESH_MESSAGE = 7  # RFC 7313


class HeaderErrorSubcode(IntEnum):
    UNSPECIFIC = 0
    CONNECTION_NOT_SYNCHRONIZED = 1
    BAD_MESSAGE_LENGTH = 2
    BAD_MESSAGE_TYPE = 3


class OpenErrorSubcode(IntEnum):
    UNSPECIFIC = 0
    UNSUPPORTED_VERSION_NUMBER = 1
    BAD_PEER_AS = 2
    BAD_BGP_IDENTIFIER = 3
    UNSUPPORTED_OPTIONAL_PARAMETER = 4
    UNACCEPTABLE_HOLD_TIME = 6
    UNSUPPORTED_CAPABILITY = 7  # RFC 5492
    ROLE_MISMATCH = 11  # RFC 9234


class UpdateErrorSubcode(IntEnum):
    UNSPECIFIC = 0
    MALFORMED_ATTRIBUTE_LIST = 1
    UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE = 2
    MISSING_WELL_KNOWN_ATTRIBUTE = 3
    ATTRIBUTE_FLAGS_ERROR = 4
    ATTRIBUTE_LENGTH_ERROR = 5
    INVALID_ORIGIN_ATTRIBUTE = 6
    INVALID_NEXT_HOP_ATTRIBUTE = 8
    OPTIONAL_ATTRIBUTE_ERROR = 9
    INVALID_NETWORK_FIELD = 10
    MALFORMED_AS_PATH = 11


class FsmErrorSubcode(IntEnum):
    """RFC 6608."""

    UNSPECIFIED = 0
    UNEXPECTED_MESSAGE_IN_OPENSENT = 1
    UNEXPECTED_MESSAGE_IN_OPENCONFIRM = 2
    UNEXPECTED_MESSAGE_IN_ESTABLISHED = 3


class CeaseSubcode(IntEnum):
    """RFC 4486, RFC 8203/9003 (shutdown communication), RFC 8538 (hard reset)."""

    MAXIMUM_NUMBER_OF_PREFIXES_REACHED = 1
    ADMINISTRATIVE_SHUTDOWN = 2
    PEER_DE_CONFIGURED = 3
    ADMINISTRATIVE_RESET = 4
    CONNECTION_REJECTED = 5
    OTHER_CONFIGURATION_CHANGE = 6
    CONNECTION_COLLISION_RESOLUTION = 7
    OUT_OF_RESOURCES = 8
    HARD_RESET = 9
    BFD_DOWN = 10


class RouteRefreshErrorSubcode(IntEnum):
    """RFC 7313 §5."""

    INVALID_MESSAGE_LENGTH = 1

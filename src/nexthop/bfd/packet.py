"""The BFD Control packet, RFC 5880 §4.1, and its reception checks, §6.8.6.

The mandatory section is 24 octets::

    Vers(3) Diag(5) | Sta(2) P F C A D M | Detect Mult | Length
    My Discriminator
    Your Discriminator
    Desired Min TX Interval        (microseconds)
    Required Min RX Interval       (microseconds)
    Required Min Echo RX Interval  (microseconds)

``decode`` applies the checks of §6.8.6 that need no session (version, length,
detect multiplier, multipoint, My Discriminator, a zero Your Discriminator only
in Down/AdminDown) and raises ``BfdPacketError`` naming the failed rule; a packet
failing them MUST be discarded. Authentication (§4.2-4.4, §6.7) is not
implemented: a packet with the A bit set is discarded, as §6.8.6 requires when
"bfd.AuthType is zero" (no authentication in use), and we never send one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

__all__ = [
    "BFD_VERSION",
    "MANDATORY_LENGTH",
    "BfdPacketError",
    "ControlPacket",
    "Diagnostic",
    "State",
    "decode",
    "encode",
]

BFD_VERSION = 1
MANDATORY_LENGTH = 24
_AUTH_MIN_LENGTH = 26  # the mandatory section plus the 2 octets every auth section starts with
_HEADER = struct.Struct("!BBBBIIIII")
_MAX_U32 = 0xFFFFFFFF


class State(IntEnum):
    """bfd.SessionState values on the wire (RFC 5880 §4.1 "State (Sta)")."""

    ADMIN_DOWN = 0
    DOWN = 1
    INIT = 2
    UP = 3


class Diagnostic(IntEnum):
    """bfd.LocalDiag values (RFC 5880 §4.1 "Diagnostic (Diag)")."""

    NONE = 0
    CONTROL_DETECTION_TIME_EXPIRED = 1
    ECHO_FUNCTION_FAILED = 2
    NEIGHBOR_SIGNALED_SESSION_DOWN = 3
    FORWARDING_PLANE_RESET = 4
    PATH_DOWN = 5
    CONCATENATED_PATH_DOWN = 6
    ADMINISTRATIVELY_DOWN = 7
    REVERSE_CONCATENATED_PATH_DOWN = 8


class BfdPacketError(ValueError):
    """A received packet fails a §6.8.6 check; ``rule`` names it."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{rule}: {message}")
        self.rule = rule


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlPacket:
    """One BFD Control packet (intervals in microseconds, as on the wire)."""

    state: State
    diagnostic: Diagnostic = Diagnostic.NONE
    poll: bool = False
    final: bool = False
    control_plane_independent: bool = False
    authentication: bool = False
    demand: bool = False
    multipoint: bool = False
    detect_mult: int
    my_discriminator: int
    your_discriminator: int = 0
    desired_min_tx_us: int
    required_min_rx_us: int
    required_min_echo_rx_us: int = 0
    version: int = BFD_VERSION


def encode(packet: ControlPacket) -> bytes:
    """The 24-octet mandatory section (no authentication section)."""
    flags = (
        (packet.state << 6)
        | (packet.poll << 5)
        | (packet.final << 4)
        | (packet.control_plane_independent << 3)
        | (packet.authentication << 2)
        | (packet.demand << 1)
        | int(packet.multipoint)
    )
    return _HEADER.pack(
        ((packet.version & 0x7) << 5) | (packet.diagnostic & 0x1F),
        flags,
        packet.detect_mult,
        MANDATORY_LENGTH,
        packet.my_discriminator,
        packet.your_discriminator,
        packet.desired_min_tx_us,
        packet.required_min_rx_us,
        packet.required_min_echo_rx_us,
    )


def decode(data: bytes) -> ControlPacket:
    """Parse and check a received datagram (RFC 5880 §6.8.6, the session-free checks)."""
    if len(data) < MANDATORY_LENGTH:
        raise BfdPacketError("length", f"{len(data)} octets, fewer than the {MANDATORY_LENGTH}")
    vers_diag, flags, detect_mult, length, my_d, your_d, tx, rx, echo = _HEADER.unpack_from(data)
    version = vers_diag >> 5
    if version != BFD_VERSION:
        raise BfdPacketError("version", f"version {version}, not {BFD_VERSION}")
    authentication = bool(flags & 0x04)
    minimum = _AUTH_MIN_LENGTH if authentication else MANDATORY_LENGTH
    if length < minimum:
        raise BfdPacketError("length", f"Length field {length} is less than {minimum}")
    if length > len(data):
        raise BfdPacketError(
            "length", f"Length field {length} exceeds the {len(data)} octets received"
        )
    if detect_mult == 0:
        raise BfdPacketError("detect_mult", "Detect Mult is zero")
    if flags & 0x01:
        raise BfdPacketError("multipoint", "the Multipoint (M) bit is set")
    if my_d == 0:
        raise BfdPacketError("my_discriminator", "My Discriminator is zero")
    state = State(flags >> 6)
    if your_d == 0 and state not in (State.DOWN, State.ADMIN_DOWN):
        raise BfdPacketError(
            "your_discriminator", f"Your Discriminator is zero in state {state.name}"
        )
    if authentication:
        raise BfdPacketError("authentication", "the A bit is set and no authentication is in use")
    diag = vers_diag & 0x1F
    return ControlPacket(
        version=version,
        diagnostic=Diagnostic(diag) if diag in Diagnostic._value2member_map_ else Diagnostic.NONE,
        state=state,
        poll=bool(flags & 0x20),
        final=bool(flags & 0x10),
        control_plane_independent=bool(flags & 0x08),
        authentication=authentication,
        demand=bool(flags & 0x02),
        multipoint=False,
        detect_mult=detect_mult,
        my_discriminator=my_d,
        your_discriminator=your_d,
        desired_min_tx_us=tx,
        required_min_rx_us=rx,
        required_min_echo_rx_us=echo,
    )


def check_u32(field: str, value: int) -> None:
    """Raise ``ValueError`` naming ``field`` when ``value`` does not fit 32 bits."""
    if not 0 <= value <= _MAX_U32:
        msg = f"{field}: {value} does not fit in 32 bits"
        raise ValueError(msg)

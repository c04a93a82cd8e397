"""Bidirectional Forwarding Detection, sans-IO (RFC 5880; transport RFC 5881/5883
in ``nexthop.runtime.bfd_transport``).

Modules: ``packet`` (the Control packet codec, §4.1, and the §6.8.6 checks),
``transitions`` (the state machine as one table, §6.2), ``config`` (a session's
configured intervals) and ``session`` (``BfdSession``: datagrams and ``now`` in;
datagrams, state changes and a timer deadline out).
"""

from __future__ import annotations

from nexthop.bfd.config import BfdConfig
from nexthop.bfd.packet import (
    BfdPacketError,
    ControlPacket,
    Diagnostic,
    State,
    decode,
    encode,
)
from nexthop.bfd.session import BfdSession, BfdStatus, StateChanged

__all__ = [
    "BfdConfig",
    "BfdPacketError",
    "BfdSession",
    "BfdStatus",
    "ControlPacket",
    "Diagnostic",
    "State",
    "StateChanged",
    "decode",
    "encode",
]

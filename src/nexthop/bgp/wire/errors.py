"""Codec errors carry the NOTIFICATION they call for and how bad they are.

Modelled on RFC 7606 §2 "error handling approaches": a ``MessageError`` names
the error code/subcode/data to send (RFC 4271 §6) and the ``ErrorHandling``
approach, so the session decides without re-deriving anything.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["AttributeMalformedError", "ErrorHandling", "LocalProtocolError", "MessageError"]


class ErrorHandling(Enum):
    """RFC 7606 §2, most to least severe."""

    SESSION_RESET = "session-reset"
    AFI_SAFI_DISABLE = "afi-safi-disable"
    TREAT_AS_WITHDRAW = "treat-as-withdraw"
    ATTRIBUTE_DISCARD = "attribute-discard"


class MessageError(Exception):
    """A peer sent something malformed. ``code``/``subcode``/``data`` form the
    NOTIFICATION to send when ``handling`` is SESSION_RESET."""

    def __init__(
        self,
        code: int,
        subcode: int,
        data: bytes = b"",
        *,
        reason: str,
        handling: ErrorHandling = ErrorHandling.SESSION_RESET,
    ) -> None:
        super().__init__(reason)
        self.code = code
        self.subcode = subcode
        self.data = data
        self.reason = reason
        self.handling = handling


class LocalProtocolError(Exception):
    """The caller misused the API (e.g. announcing on a session not Established)."""


class AttributeMalformedError(Exception):
    """Raised by an attribute decoder; the attribute table decides the RFC 7606
    outcome unless ``handling`` overrides it (e.g. an unsupported MP family)."""

    def __init__(self, reason: str, handling: ErrorHandling | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.handling = handling

"""The error every layer reports to a user: a code, a human message and, when known,
the field; ``status`` is the HTTP status the API answers with.

It lives below the service and runtime layers so that both raise it without
importing each other (the import-linter ``layers`` contract in pyproject.toml):
the control plane refines it (``nexthop.service.errors``: not found, conflict,
validation), the runtimes raise ``Unavailable`` when the live network cannot
answer. The API renders it as ``{"error": {"code", "message", "field"}}``; the CLI
prints the message and exits non-zero.
"""

from __future__ import annotations

__all__ = ["HTTP_BAD_REQUEST", "HTTP_UNAVAILABLE", "ControlPlaneError", "Unavailable"]

HTTP_BAD_REQUEST = 400
HTTP_UNAVAILABLE = 503


class ControlPlaneError(Exception):
    """A request that is refused; nothing was changed."""

    status = HTTP_BAD_REQUEST

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class Unavailable(ControlPlaneError):  # noqa: N818 - the HTTP name reads best
    """The state could not be read or written now (the database is locked, the live
    network is busy or down); nothing changed."""

    status = HTTP_UNAVAILABLE

"""Errors of the control plane: a code, a human message and, when known, the field
(``ControlPlaneError`` and ``Unavailable`` come from ``nexthop.errors``).

The API renders them as ``{"error": {"code", "message", "field"}}`` with
``status``; the CLI prints the message and exits non-zero.
"""

from __future__ import annotations

from pydantic import ValidationError

from nexthop.config import TopologyError, TopologyInvalid, format_path
from nexthop.errors import ControlPlaneError, Unavailable

__all__ = ["Conflict", "ControlPlaneError", "NotFound", "Unavailable", "from_validation"]

HTTP_NOT_FOUND = 404
HTTP_CONFLICT = 409


class NotFound(ControlPlaneError):  # noqa: N818 - the HTTP name reads best
    """The named resource (or peering, NIC, …) does not exist."""

    status = HTTP_NOT_FOUND

    def __init__(self, what: str, name: str, within: str = "") -> None:
        where = f" on {within}" if within else ""
        super().__init__("not_found", f"{what} {name!r} not found{where}")


class Conflict(ControlPlaneError):  # noqa: N818 - the HTTP name reads best
    """The request is well-formed but clashes with the current state."""

    status = HTTP_CONFLICT


def from_validation(exc: Exception) -> ControlPlaneError:
    """Turn a topology validation failure into one ``ControlPlaneError`` listing every
    problem (one per line); ``field`` is the first problem's path."""
    if isinstance(exc, TopologyError):
        first = exc.problems[0] if exc.problems else None
        return ControlPlaneError(
            "invalid_topology", str(exc), first.path or None if first is not None else None
        )
    if isinstance(exc, TopologyInvalid):
        lines = [f"{format_path(i.path)}: {i.message}" for i in exc.issues]
        field = format_path(exc.issues[0].path) if exc.issues else None
        return ControlPlaneError("invalid_topology", "\n".join(lines), field)
    if isinstance(exc, ValidationError):
        lines, fields = [], []
        for error in exc.errors():
            path = format_path(tuple(error["loc"]))
            fields.append(path)
            if error["type"] == "extra_forbidden":
                message = f"unknown field {error['loc'][-1]!r}"
            elif error["type"] == "missing":
                message = "required field is missing"
            else:
                message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"{path}: {message}" if path else message)
        field = fields[0] if fields else None
        return ControlPlaneError("invalid_topology", "\n".join(lines), field)
    return ControlPlaneError("invalid_topology", str(exc))

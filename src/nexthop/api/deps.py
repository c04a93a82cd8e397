"""Request dependencies: the control plane held by the app, and the bearer-token guard."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from nexthop.service import ControlPlane, ControlPlaneError

__all__ = ["ControlPlaneDep", "Unauthorized", "get_control_plane", "require_token"]

HTTP_UNAUTHORIZED = 401


class Unauthorized(ControlPlaneError):  # noqa: N818 - the HTTP name reads best
    status = HTTP_UNAUTHORIZED


def get_control_plane(request: Request) -> ControlPlane:
    cp: ControlPlane = request.app.state.control_plane
    return cp


ControlPlaneDep = Annotated[ControlPlane, Depends(get_control_plane)]


def require_token(request: Request) -> None:
    """Guard for mutating routes: when the app has a token, the request must carry
    ``Authorization: Bearer <token>``."""
    token: str | None = request.app.state.token
    if token is None:
        return
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip(), token):
        raise Unauthorized("unauthorized", "a valid bearer token is required for changes")

"""Request dependencies: the control plane held by the app, and the guard of changes.

``require_token`` guards every mutating route (``CHANGE_ERRORS`` documents its
answers). With a token (mandatory when the server listens beyond loopback,
``create_app``) a change needs ``Authorization: Bearer <token>``, else 401. Without
one, only a loopback client may change state: a request from any other address
is 403, so a change never goes through unauthenticated from beyond loopback even
if the server is reached in a way its bind address did not foresee. The scheme is
declared in the OpenAPI schema (``HTTPBearer``), so clients and fuzzers see which
operations need it.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from nexthop.service import ControlPlane, ControlPlaneError

__all__ = [
    "ControlPlaneDep",
    "Forbidden",
    "Unauthorized",
    "get_control_plane",
    "is_loopback",
    "require_token",
]

HTTP_UNAUTHORIZED = 401
HTTP_FORBIDDEN = 403

_BEARER = HTTPBearer(
    auto_error=False,
    description="The server's --token (NEXTHOP_TOKEN); required for changes beyond loopback.",
)


class Unauthorized(ControlPlaneError):  # noqa: N818 - the HTTP name reads best
    status = HTTP_UNAUTHORIZED


class Forbidden(ControlPlaneError):  # noqa: N818 - the HTTP name reads best
    status = HTTP_FORBIDDEN


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 (also IPv4-mapped, ``::ffff:127.0.0.1``) and ``localhost``."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def get_control_plane(request: Request) -> ControlPlane:
    cp: ControlPlane = request.app.state.control_plane
    return cp


ControlPlaneDep = Annotated[ControlPlane, Depends(get_control_plane)]


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)],
) -> None:
    """Guard for mutating routes: the app's token if it has one, else a loopback client."""
    token: str | None = request.app.state.token
    if token is None:
        client = request.client.host if request.client is not None else None
        if client is None or not is_loopback(client):
            raise Forbidden(
                "forbidden",
                f"changes from {client or 'an unknown address'} need the server to run with"
                " a token (--token or NEXTHOP_TOKEN); without one only loopback clients may"
                " change state",
            )
        return
    given = credentials.credentials.strip() if credentials is not None else ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise Unauthorized("unauthorized", "a valid bearer token is required for changes")

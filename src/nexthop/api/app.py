"""``create_app``: the FastAPI application over one ``ControlPlane``.

Routes live under ``/api/v1`` (one router per resource in ``routes/``), plus
``/metrics`` (Prometheus), ``/healthz`` and the OpenAPI docs at ``/docs``. Every
error is ``{"error": {"code", "message", "field"}}``: control plane errors keep
their status (400, 404, 409), request validation is 422, a missing or wrong
token 401. Bound beyond loopback the app refuses to exist without a token, and
then every mutating request needs ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import ipaddress

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from nexthop import __version__
from nexthop.api import metrics
from nexthop.api.docs import install_docs
from nexthop.api.routes import ROUTERS
from nexthop.config import format_path
from nexthop.service import ControlPlane, ControlPlaneError

__all__ = ["API_PREFIX", "create_app", "is_loopback"]

API_PREFIX = "/api/v1"
HTTP_UNPROCESSABLE = 422


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"error": {"code": code, "message": message, "field": field}}
    )


async def _control_plane_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ControlPlaneError)
    return _error(exc.status, exc.code, exc.message, exc.field)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    lines, fields = [], []
    for e in exc.errors():
        loc = tuple(e.get("loc", ()))
        path = format_path(loc[1:] if loc and loc[0] in ("body", "query", "path") else loc)
        fields.append(path)
        lines.append(f"{path}: {e.get('msg', 'invalid')}" if path else str(e.get("msg")))
    return _error(
        HTTP_UNPROCESSABLE, "invalid_request", "\n".join(lines), fields[0] if fields else None
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = "not_found" if exc.status_code == 404 else f"http_{exc.status_code}"
    return _error(exc.status_code, code, str(exc.detail))


async def _internal_error(_request: Request, exc: Exception) -> JSONResponse:
    return _error(500, "internal", f"internal error: {type(exc).__name__}: {exc}")


def create_app(
    control_plane: ControlPlane, *, token: str | None = None, bind_host: str = "127.0.0.1"
) -> FastAPI:
    """The API over ``control_plane``. ``bind_host`` is where the server listens: beyond
    loopback a ``token`` is mandatory (``ValueError`` otherwise)."""
    if token is not None and not token.strip():
        token = None
    if token is None and not is_loopback(bind_host):
        msg = f"refusing to serve on {bind_host} without a token (use --token or NEXTHOP_TOKEN)"
        raise ValueError(msg)
    app = FastAPI(
        title="nexthop",
        version=__version__,
        description="Route server with next hop IP support, internal load balancer, "
        "virtual network model. Changes need a bearer token when served beyond loopback.",
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)
    app.state.control_plane = control_plane
    app.state.token = token
    app.add_exception_handler(ControlPlaneError, _control_plane_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(metrics.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app

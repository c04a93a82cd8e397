"""``create_app``: the FastAPI application over one ``ControlPlane``.

Routes live under ``/api/v1`` (one router per resource in ``routes/``), plus
``/metrics`` (Prometheus), ``/healthz`` and the OpenAPI docs at ``/docs``. Every
error is ``{"error": {"code", "message", "field"}}`` (``schemas.ErrorOut``, and
each route documents the statuses it may answer): control plane errors keep
their status (400, 404, 409, 503), request validation is 422 naming the field, a
missing or wrong token 401. Bound beyond loopback the app refuses to exist
without a token, and then every mutating request needs ``Authorization: Bearer
<token>``; without a token a change from a non-loopback client is 403
(``deps.require_token``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from nexthop import __version__
from nexthop.api import metrics
from nexthop.api.deps import is_loopback
from nexthop.api.docs import install_docs
from nexthop.api.routes import ROUTERS
from nexthop.api.schemas import READ_ERRORS
from nexthop.config import format_path
from nexthop.service import ControlPlane, ControlPlaneError

__all__ = ["API_PREFIX", "create_app", "is_loopback"]

API_PREFIX = "/api/v1"
HTTP_METHOD_NOT_ALLOWED = 405
HTTP_UNPROCESSABLE = 422


def _error(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"error": {"code": code, "message": message, "field": field}},
        headers=headers,
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


def _path_methods(app: FastAPI) -> list[tuple[re.Pattern[str], str]]:
    """Each documented path as a pattern, with every method it has (``Allow``)."""
    table = []
    for template, item in app.openapi()["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        methods = sorted({m.upper() for m in item} | ({"HEAD"} if "get" in item else set()))
        table.append((re.compile(f"{pattern}$"), ", ".join(methods)))
    return table


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = "not_found" if exc.status_code == 404 else f"http_{exc.status_code}"
    headers = dict(exc.headers or {})
    if exc.status_code == HTTP_METHOD_NOT_ALLOWED:
        # RFC 9110 §15.5.6: Allow lists every method of the resource. Starlette names
        # only those of the first route matching the path, and each method of a path
        # is its own route here.
        state = request.app.state
        if getattr(state, "path_methods", None) is None:
            state.path_methods = _path_methods(request.app)
        for pattern, allow in state.path_methods:
            if pattern.match(request.url.path):
                headers["Allow"] = allow
                break
    return _error(exc.status_code, code, str(exc.detail), headers=headers or None)


async def _internal_error(_request: Request, exc: Exception) -> JSONResponse:
    return _error(500, "internal", f"internal error: {type(exc).__name__}: {exc}")


def create_app(
    control_plane: ControlPlane, *, token: str | None = None, bind_host: str = "127.0.0.1"
) -> FastAPI:
    """The API over ``control_plane``. ``bind_host`` is where the server listens: beyond
    loopback a ``token`` is mandatory (``ValueError`` otherwise)."""
    token = (token or "").strip() or None
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
        app.include_router(router, prefix=API_PREFIX, responses=READ_ERRORS)
    app.include_router(metrics.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app

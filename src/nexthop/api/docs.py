"""``/docs``: Swagger UI over ``/openapi.json``, served from the package.

FastAPI's default docs page loads Swagger UI from a CDN, so it is blank on a
machine without internet, which is where a lab or a route server often runs.
The UI's files are vendored under ``static/swagger-ui`` (``VENDORED.md`` names
the version and licence) and served here; ReDoc, which has no vendored copy, is
not offered.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["SWAGGER_UI_VERSION", "install_docs"]

SWAGGER_UI_VERSION = "5.36.0"
_STATIC = Path(__file__).parent / "static" / "swagger-ui"
_ASSETS = "/static/swagger-ui"


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` and its assets from the package (``app`` was built with
    ``docs_url=None, redoc_url=None``)."""
    app.mount(_ASSETS, StaticFiles(directory=_STATIC), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{_ASSETS}/favicon-32x32.png",
        )

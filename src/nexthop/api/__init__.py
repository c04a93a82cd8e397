"""The REST API (FastAPI) over the ``ControlPlane``; see docs/api.md.

``create_app(control_plane, token=..., bind_host=...)`` builds the application;
``nexthop serve`` runs it with uvicorn.
"""

from __future__ import annotations

from nexthop.api.app import API_PREFIX, create_app, is_loopback

__all__ = ["API_PREFIX", "create_app", "is_loopback"]
